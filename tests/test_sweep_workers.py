"""Sweep workers as real processes: two workers of one sweep never run the same trial (on the default
journal file, on SQLite, and on PostgreSQL when ``CNNSTUDIO_TEST_POSTGRES`` names a server), ``--jobs``
shares the trials, and a stopped sweep keeps its trial's checkpoint and continues it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from test_sweep_cli import design_file  # noqa: F401 - the tiny design the sweep commands' tests use

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.faults  # real processes training at once: slow on a small machine (make test runs them)


def cnnstudio(*args: str, cwd: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "cnnstudio", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def listed(design_file: Path, *storage: str, name: str | None = None) -> dict:
    out, _err = cnnstudio("sweeps", str(design_file), "--json", *storage, cwd=design_file.parent).communicate(timeout=120)
    (sweep,) = [s for s in json.loads(out)["sweeps"] if name in (None, s["name"])]
    return sweep


STORAGES = [[], ["--storage", "sqlite:///{tmp}/sweeps.db"]]
if os.environ.get("CNNSTUDIO_TEST_POSTGRES"):
    STORAGES.append(["--storage", os.environ["CNNSTUDIO_TEST_POSTGRES"]])


@pytest.mark.parametrize("storage", STORAGES, ids=lambda s: s[1].split(":")[0] if s else "journal")
def test_two_workers_share_a_sweep_without_running_a_trial_twice(design_file: Path, tmp_path: Path,
                                                                 storage: list[str]) -> None:
    storage = [part.format(tmp=tmp_path) for part in storage]
    name = f"shared-{os.getpid()}-{time.time_ns()}"  # a server's database outlives the test
    command = ["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1:log",
               "--param", "nodes.conv2d1.out_channels=int:2:8", "--trials", "3", "--sweep", name, *storage]
    workers = [cnnstudio(*command, cwd=tmp_path) for _ in range(2)]
    results = [worker.communicate(timeout=600) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _, err in results]
    sweep = listed(design_file, *storage, name=name)
    numbers = [t["number"] for t in sweep["trials"]]
    assert sorted(numbers) == list(range(6)) and {t["state"] for t in sweep["trials"]} == {"complete"}
    assert len({t["run"] for t in sweep["trials"]}) == 6 and all(Path(t["run"], "last.pt").is_file() for t in sweep["trials"])
    said = [line.split(":")[0] for _, err in results for line in err.splitlines() if line.startswith("trial") and ":" in line]
    started = [line for line in said if " " in line and line.split()[1].isdigit() and len(line.split()) == 2]
    assert sorted(started) == sorted(f"trial {n}" for n in range(6))  # each number started by one worker


def test_jobs_run_trials_at_once_sharing_the_cores(design_file: Path, tmp_path: Path) -> None:
    worker = cnnstudio("sweep", str(design_file), "--param", "training.lr=float:0.001:0.1:log", "--trials", "3",
                       "--jobs", "2", cwd=tmp_path)
    _out, err = worker.communicate(timeout=600)
    assert worker.returncode == 0, err
    assert "3 trial(s) on 2 job(s)" in err and err.count("sweep 'lr' in") == 2  # this process (a worker too) and one other
    assert sorted(t["number"] for t in listed(design_file)["trials"]) == [0, 1, 2]


def test_a_stopped_sweep_keeps_its_trial_and_continues_it(design_file: Path, tmp_path: Path) -> None:
    command = ["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1:log", "--trials", "1",
               "--epochs", "40", "--pruner", "none"]  # tiny epochs: enough that the stop lands mid-trial
    worker = cnnstudio(*command, "--data", "synthetic-shapes", cwd=tmp_path)
    run = tmp_path / "runs" / "tiny" / "lr_trial-0"
    deadline = time.monotonic() + 300
    while not (run / "metrics.jsonl").is_file() and time.monotonic() < deadline and worker.poll() is None:
        time.sleep(0.2)
    worker.send_signal(signal.SIGINT)
    _, err = worker.communicate(timeout=300)
    assert worker.returncode == 130, err
    assert "continues when this sweep starts again" in err and "Traceback" not in err
    trial = listed(design_file)["trials"][0]
    assert trial["state"] == "running" and Path(trial["run"]) == run.resolve() and (run / "last.pt").is_file()
    stopped = json.loads((run / "run.json").read_text())
    assert stopped["status"] == "stopped" and stopped["sweep"]["pruned"] is False
    again = cnnstudio(*command, "--data", "synthetic-shapes", cwd=tmp_path)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert "trial 0 continues" in err
    (trial,) = listed(design_file)["trials"]
    assert trial["state"] == "complete" and trial["number"] == 0
    records = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == list(range(1, 41))  # the epochs before the stop are kept, not trained again
    assert json.loads((run / "run.json").read_text())["resumed"] == 1


def test_a_stop_sent_to_jobs_reaches_every_worker_and_both_trials_continue(design_file: Path, tmp_path: Path) -> None:
    command = ["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1:log", "--trials", "2", "--jobs", "2",
               "--epochs", "30", "--pruner", "none", "--data", "synthetic-shapes"]
    jobs = cnnstudio(*command, cwd=tmp_path)
    runs = [tmp_path / "runs" / "tiny" / f"lr_trial-{n}" for n in (0, 1)]
    deadline = time.monotonic() + 300
    while not all((run / "metrics.jsonl").is_file() for run in runs) and time.monotonic() < deadline and jobs.poll() is None:
        time.sleep(0.2)
    os.kill(jobs.pid, signal.SIGINT)  # to the --jobs process alone: it passes the stop on to its workers
    _, err = jobs.communicate(timeout=300)
    assert jobs.returncode == 130, err
    # Both processes took the stop; a trial still training kept a checkpoint (this process, the first
    # worker, starts training seconds before the other, so on a busy machine its trial may be done).
    assert err.count("stopped: start the same command again") == 2 and "Traceback" not in err
    stopped = [t["number"] for t in listed(design_file)["trials"] if t["state"] == "running"]
    assert stopped and err.count("continues when this sweep starts again") == len(stopped)
    assert all((runs[n] / "last.pt").is_file() for n in stopped)
    again = cnnstudio(*command, cwd=tmp_path)
    _, err = again.communicate(timeout=600)
    assert again.returncode == 0, err
    assert all(f"trial {n} continues" in err for n in stopped)
    trials = listed(design_file)["trials"]
    assert sorted(t["number"] for t in trials)[:2] == [0, 1] and {t["state"] for t in trials} == {"complete"}


def test_the_torchrun_example_trains_each_trial_on_two_processes_into_the_sweep(design_file: Path, tmp_path: Path) -> None:
    """docs/examples/sweep_torchrun.py, as docs/experiments.md shows it, with gloo on two CPU processes."""
    launcher = f"{sys.executable} -m torch.distributed.run --standalone"
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, str(REPO / "docs" / "examples" / "sweep_torchrun.py"), str(design_file),
                           "--param", "nodes.conv2d1.out_channels=choice:3", "--trials", "1", "--nproc-per-node", "2",
                           "--sweep", "big", "--torchrun", launcher], cwd=tmp_path, env=env, text=True,
                          capture_output=True, timeout=600)
    assert done.returncode == 0, done.stderr
    (trial,) = listed(design_file, name="big")["trials"]
    run = Path(trial["run"])
    assert trial["state"] == "complete" and run.name == "big_trial-0"
    assert json.loads((run / "run.json").read_text())["sweep"] == {"name": "big", "trial": 0, "pruned": False}
    assert json.loads((run / "design.json").read_text())["nodes"][1]["params"]["out_channels"] == 3
    import torch

    assert torch.load(run / "last.pt", weights_only=False)["sampler"]["processes"] == 2  # trained by two processes
