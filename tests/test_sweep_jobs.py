"""``--jobs K`` on every machine shape: the trials shared, the cores divided with no more threads
than cores, one GPU per worker in turn (within the user's CUDA_VISIBLE_DEVICES), and the worker
processes really started with their threads and GPU, faked GPUs included."""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design
from cnnstudio.sweeps.jobs import Job, plan_jobs, shares_gpus, visible_gpus
from test_sweep_cli import TINY
from training_helpers import classifier


def check_plan(jobs: int, trials: int, cores: int, gpus: list[str]) -> list[Job]:
    plan = plan_jobs(jobs, trials, cores, gpus)
    assert len(plan) == min(jobs, trials, cores)
    shares = [job.trials for job in plan]
    assert sum(shares) == trials and min(shares) >= 1 and max(shares) - min(shares) <= 1
    assert sum(job.threads for job in plan) <= cores and {job.threads for job in plan} == {cores // len(plan)}
    if not gpus:
        assert {job.gpu for job in plan} == {None}
    else:
        per_gpu = Counter(job.gpu for job in plan)
        assert set(per_gpu) <= set(gpus) and max(per_gpu.values()) - min(per_gpu.values(), default=0) <= 1
        assert len(per_gpu) == min(len(plan), len(gpus))  # a GPU idles only when the workers are fewer
    return plan


@pytest.mark.parametrize("gpus", [0, 1, 2, 4])
@pytest.mark.parametrize("jobs", [1, 2, 3, 4])
@pytest.mark.parametrize("cores", [2, 8])
def test_every_machine_shape(gpus: int, jobs: int, cores: int) -> None:
    check_plan(jobs, 8, cores, [str(i) for i in range(gpus)])


@given(jobs=st.integers(1, 12), trials=st.integers(1, 20), cores=st.integers(1, 64),
       gpus=st.lists(st.sampled_from(["0", "1", "2", "3", "5", "GPU-1b2c", "MIG-4d"]), unique=True, max_size=6))
def test_any_machine_shape(jobs: int, trials: int, cores: int, gpus: list[str]) -> None:
    check_plan(jobs, trials, cores, gpus)


@pytest.mark.parametrize("jobs, trials, cores, gpus, expected", [
    (4, 8, 8, ["0", "1"], [Job(2, 2, "0"), Job(2, 2, "1"), Job(2, 2, "0"), Job(2, 2, "1")]),  # two per GPU
    (2, 8, 8, ["0", "1", "2", "3"], [Job(4, 4, "0"), Job(4, 4, "1")]),  # one each, two GPUs idle
    (4, 8, 2, [], [Job(4, 1), Job(4, 1)]),  # two cores: two workers of one thread, not four
    (4, 3, 8, [], [Job(1, 2), Job(1, 2), Job(1, 2)]),  # no worker without a trial
    (3, 10, 16, ["0"], [Job(4, 5, "0"), Job(3, 5, "0"), Job(3, 5, "0")]),  # one GPU: all share it
])
def test_examples(jobs: int, trials: int, cores: int, gpus: list[str], expected: list[Job]) -> None:
    assert plan_jobs(jobs, trials, cores, gpus) == expected


@pytest.mark.parametrize("environ, count, expected", [
    ({}, 0, []), ({}, 2, ["0", "1"]), ({"CUDA_VISIBLE_DEVICES": "2,3"}, 2, ["2", "3"]),
    ({"CUDA_VISIBLE_DEVICES": " 3, 1 "}, 2, ["3", "1"]), ({"CUDA_VISIBLE_DEVICES": ""}, 0, []),
    ({"CUDA_VISIBLE_DEVICES": "GPU-aa,GPU-bb"}, 2, ["GPU-aa", "GPU-bb"]),
])
def test_the_gpus_handed_out_stay_within_the_users_own(environ: dict, count: int, expected: list[str]) -> None:
    assert visible_gpus(count, environ) == expected


@pytest.mark.parametrize("devices, shared", [
    (["auto"], True), (["cuda"], True), (["cpu", "cuda"], True),
    (["cpu"], False), (["mps"], False), (["cuda:1"], False), (["cuda", "cuda:0"], False),
])
def test_only_trials_that_take_the_gpu_they_see_get_one_each(devices: list[str], shared: bool) -> None:
    assert shares_gpus(devices) is shared


class FakePopen:
    """A worker process that is only recorded: its command line and environment."""

    started: list[FakePopen] = []

    def __init__(self, argv: list[str], env: dict[str, str]):
        self.argv, self.env = argv, env
        FakePopen.started.append(self)

    def poll(self) -> int:
        return 0

    def wait(self) -> int:
        return 0


@pytest.fixture
def two_gpus_eight_cores(monkeypatch: pytest.MonkeyPatch) -> list[FakePopen]:
    import cnnstudio.commands.sweep as command
    import cnnstudio.training.threads as threads

    monkeypatch.setattr(command, "_gpu_count", lambda: 2)  # the sweep's own trials still train here, on the CPU
    monkeypatch.setattr(threads, "usable_cores", lambda *a: 8)
    monkeypatch.setattr(command.subprocess, "Popen", FakePopen)
    for name in ("OMP_NUM_THREADS", "CUDA_VISIBLE_DEVICES"):
        monkeypatch.delenv(name, raising=False)
    FakePopen.started = []
    return FakePopen.started


def design_on(tmp_path: Path, device: str | None) -> Path:
    design = classifier(classes=6, size=8)
    design.training = {k: v for k, v in TINY.items() if k != "device"} | ({"device": device} if device else {})
    path = tmp_path / "tiny.json"
    save_design(design, path)
    return path


def test_four_jobs_on_two_gpus_put_two_workers_on_each_and_each_worker_applies_its_share(
        tmp_path: Path, two_gpus_eight_cores: list[FakePopen], monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture) -> None:
    import cnnstudio.training.threads as threads

    design_file = design_on(tmp_path, None)  # device "auto": a worker trains on the GPU it sees
    parent_threads: list[int] = []
    monkeypatch.setattr(threads, "set_count", parent_threads.append)
    assert main(["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1", "--trials", "4",
                 "--jobs", "4", "--epochs", "1"]) == 0
    err = capsys.readouterr().err
    assert "4 worker process(es) at once, 2 thread(s) each, GPU 0, 1, 0, 1 in turn" in err
    # This process is the first worker (its "cuda" is GPU 0, the first it may use) and trains its trial
    # itself with its share of the threads; the other three are processes.
    assert parent_threads == [2] and "trial 0 complete" in err
    workers = two_gpus_eight_cores
    assert [w.env["CUDA_VISIBLE_DEVICES"] for w in workers] == ["1", "0", "1"]
    assert [w.env["OMP_NUM_THREADS"] for w in workers] == ["2"] * 3
    assert all(w.argv[w.argv.index("--trials") + 1] == "1" and "--jobs" not in w.argv for w in workers)

    # The second worker, run here with its environment on a machine whose torch sees no GPU: it sets
    # torch's threads to its share, trains its trial with the device it was given, and starts no worker.
    import torch

    import cnnstudio.sweeps.worker as worker
    import cnnstudio.training.threads as threads

    child = workers[0]
    for name in ("CUDA_VISIBLE_DEVICES", "OMP_NUM_THREADS"):
        monkeypatch.setenv(name, child.env[name])
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    set_to, devices = [], []
    monkeypatch.setattr(threads, "set_count", set_to.append)
    make_trainer = worker.make_trainer

    def recorded(design, settings, *args):
        devices.append((settings.device, os.environ["CUDA_VISIBLE_DEVICES"]))
        return make_trainer(design, settings, *args)

    monkeypatch.setattr(worker, "make_trainer", recorded)
    FakePopen.started = []
    assert main(child.argv[child.argv.index("sweep"):]) == 0
    assert set_to == [2] and devices == [("auto", "1")] and FakePopen.started == []


@pytest.mark.parametrize("device, sweep_device, gpus", [
    ("cuda:1", None, None),  # a pinned index stays as the user wrote it, in every worker
    ("cpu", None, None),
    ("cpu", "training.device=choice:cpu,cuda", ["0", "1"]),
])
def test_trials_pinned_to_a_device_keep_it(tmp_path: Path, two_gpus_eight_cores: list[FakePopen], device: str,
                                           sweep_device: str | None, gpus: list[str] | None) -> None:
    params = ["--param", "training.lr=float:0.001:0.1", *(["--param", sweep_device] if sweep_device else [])]
    assert main(["sweep", str(design_on(tmp_path, device)), *params, "--trials", "2", "--jobs", "2"]) == 0
    assert [w.env.get("CUDA_VISIBLE_DEVICES") for w in two_gpus_eight_cores] == (gpus or [None, None])[1:]
    assert [w.env["OMP_NUM_THREADS"] for w in two_gpus_eight_cores] == ["4"]


def test_the_users_threads_and_gpus_win(tmp_path: Path, two_gpus_eight_cores: list[FakePopen],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "6,7")
    assert main(["sweep", str(design_on(tmp_path, None)), "--param", "training.lr=float:0.001:0.1",
                 "--trials", "3", "--jobs", "3"]) == 0
    assert [(w.env["OMP_NUM_THREADS"], w.env["CUDA_VISIBLE_DEVICES"]) for w in two_gpus_eight_cores] == [
        ("3", "7"), ("3", "6")]  # this process is the first worker, on 6
