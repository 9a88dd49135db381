"""Torch's thread count in a training process: the cores it may use, less the window's share."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from cnnstudio.training import threads

REPO = Path(__file__).resolve().parents[1]


def test_the_cores_are_shared_among_the_processes_and_some_left_to_the_window() -> None:
    assert threads.plan(cores=8, environ={}) == 8
    assert threads.plan(reserve=1, cores=8, environ={}) == 7
    assert threads.plan(processes=4, cores=8, environ={}) == 2
    assert threads.plan(reserve=1, processes=2, cores=8, environ={}) == 3


def test_there_is_always_one_thread() -> None:
    assert threads.plan(reserve=1, cores=1, environ={}) == 1
    assert threads.plan(processes=16, cores=2, environ={}) == 1


def test_omp_num_threads_is_the_users_choice() -> None:
    assert threads.plan(reserve=1, cores=8, environ={"OMP_NUM_THREADS": "3"}) == 3
    assert threads.plan(cores=8, environ={"OMP_NUM_THREADS": "junk"}) == 8


def test_a_container_cpu_quota_caps_the_cores(tmp_path: Path) -> None:
    affinity = len(os.sched_getaffinity(0))
    quota = tmp_path / "cpu.max"
    quota.write_text("max 100000\n")
    assert threads.usable_cores(quota) == affinity
    quota.write_text("50000 100000\n")  # half a core: still one
    assert threads.usable_cores(quota) == 1
    assert threads.usable_cores(tmp_path / "absent") == affinity


def test_configure_sets_torchs_threads_in_a_fresh_process() -> None:
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = str(REPO)
    code = ("import torch; from cnnstudio.training import threads; "
            "n = threads.configure(reserve=1); print(n, torch.get_num_threads(), threads.usable_cores())")
    chosen, actual, cores = map(int, subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                                                    text=True, check=True).stdout.split())
    assert chosen == actual == max(1, cores - 1)
