"""Runs whose process is gone (kill -9, a power cut, a dead worker) are listed as interrupted, with
their last checkpoint and the command that continues them; listing writes nothing."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design
from cnnstudio.runs import list_runs
from cnnstudio.runs.manifest import LAST, MANIFEST, Manifest
from cnnstudio.runs.owner import STALE_AFTER_S, Owner, boot_id, process_start
from cnnstudio.runs.recorder import record_died
from fault_helpers import cli, cli_environment
from training_helpers import classifier

LINUX = pytest.mark.skipif(process_start(os.getpid()) is None, reason="process start times from /proc")


def _run(runs: Path, owner: Owner, checkpoint: bool = True) -> Path:
    """A run folder as a killed run leaves it: run.json "running", its last checkpoint after epoch 2."""
    folder = runs / "2026-12-01_10-00-00"
    folder.mkdir(parents=True)
    Manifest(started=time.time(), epochs=2, planned_epochs=5, global_step=40, owner=owner.to_json(),
             checkpoint={"epoch": 2, "global_step": 40}).save(folder)
    if checkpoint:
        (folder / LAST).write_bytes(b"weights")
    return folder


def _gone_pid() -> int:
    done = subprocess.Popen([sys.executable, "-c", "pass"])
    done.wait()
    return done.pid


def _state(runs: Path):  # noqa: ANN202
    (run,) = list_runs(runs)
    return run.state


def test_a_live_process_is_running(tmp_path: Path) -> None:
    _run(tmp_path, Owner.current())
    state = _state(tmp_path)
    assert state.status == "running" and state.resume is None and state.host is None


def test_a_dead_process_is_interrupted_with_its_checkpoint_and_nothing_is_written(tmp_path: Path) -> None:
    owner = Owner(_gone_pid(), socket.gethostname(), boot_id(), None)
    folder = _run(tmp_path, owner)
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()}
    (run,) = list_runs(tmp_path)
    assert run.state.status == "interrupted" and run.state.resume == folder / LAST
    assert f"its process ({owner.pid} on {owner.host}) is gone" in run.state.detail
    assert f"its last checkpoint is {folder / LAST}, after epoch 2 (step 40 of the run)" in run.state.detail
    assert run.resume_command("tiny.json") == f"cnnstudio train tiny.json --resume {folder / LAST}"
    assert run.to_json()["status"] == "interrupted" and run.to_json()["resume"] == str(folder / LAST)
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in folder.iterdir()} == before
    assert Manifest.load(folder).status == "running"


def test_a_dead_process_without_a_checkpoint_must_start_again(tmp_path: Path) -> None:
    _run(tmp_path, Owner(_gone_pid(), socket.gethostname()), checkpoint=False)
    state = _state(tmp_path)
    assert state.status == "interrupted" and state.resume is None and "no checkpoint was written" in state.detail


@LINUX
def test_a_reused_pid_or_a_reboot_is_not_taken_for_the_run(tmp_path: Path) -> None:
    me = Owner.current()
    reused = Owner(me.pid, me.host, me.boot_id, me.process_start - 1)  # another process had this pid before us
    _run(tmp_path / "reused", reused)
    assert _state(tmp_path / "reused").status == "interrupted"
    rebooted = Owner(me.pid, me.host, "another-boot", me.process_start)
    _run(tmp_path / "rebooted", rebooted)
    assert _state(tmp_path / "rebooted").status == "interrupted"


def test_another_hosts_run_is_running_there_until_its_run_json_is_stale(tmp_path: Path) -> None:
    folder = _run(tmp_path, Owner(1, "gpu-box-7", "b", 1))
    state = _state(tmp_path)
    assert (state.status, state.host, state.text()) == ("running", "gpu-box-7", "running (on gpu-box-7)")
    assert list_runs(tmp_path)[0].to_json()["host"] == "gpu-box-7"
    old = time.time() - STALE_AFTER_S - 600
    os.utime(folder / MANIFEST, (old, old))
    state = _state(tmp_path)
    assert state.status == "interrupted" and state.resume == folder / LAST
    assert "on gpu-box-7, its run.json not written for 1.2 h" in state.detail and "if it is paused there" in state.detail


def test_a_dead_workers_run_is_recorded_failed_only_if_it_was_that_worker_s(tmp_path: Path) -> None:
    pid = _gone_pid()
    mine = _run(tmp_path / "mine", Owner(pid, socket.gethostname()))
    other = _run(tmp_path / "other", Owner(pid + 1, socket.gethostname()))
    for folder in (mine, other):
        record_died(folder, pid, "the training process ended unexpectedly (exit code -9)")
    assert (Manifest.load(mine).status, Manifest.load(mine).message) == (
        "failed", "the training process ended unexpectedly (exit code -9)")
    assert Manifest.load(other).status == "running"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX signals")
def test_cnnstudio_runs_says_interrupted_after_a_real_kill_9_and_the_command_given_continues_it(tmp_path: Path) -> None:
    design = classifier()
    design.training = {"epochs": 10_000, "batch_size": 32, "data_options": {"count": 200}, "device": "cpu"}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    out = tmp_path / "runs" / "tiny" / "killed"
    process = subprocess.Popen([sys.executable, "-m", "cnnstudio", "train", str(path), "--out", str(out)],
                               stderr=subprocess.DEVNULL, env=cli_environment(), cwd=tmp_path)
    try:
        deadline = time.monotonic() + 90
        while not (out / LAST).exists() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert (Manifest.load(out).owner or {})["pid"] == process.pid
        assert json.loads(cli("runs", str(path), "--json").stdout)[0]["status"] == "running"
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    listed = cli("runs", str(path), "--json")
    (row,) = json.loads(listed.stdout)
    assert row["status"] == "interrupted" and row["resume"] == str(out / LAST) and row["epochs"] >= 1
    assert row["resume_command"] == f"cnnstudio train {path} --resume {out / LAST}"
    table = cli("runs", str(path)).stdout
    assert "interrupted" in table and f"continue with: cnnstudio train {path} --resume {out / LAST}" in table
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before  # listing wrote nothing
    epochs = Manifest.load(out).checkpoint["epoch"] + 1
    assert main(["train", str(path), "--resume", str(out / LAST), "--epochs", str(epochs)]) == 0
    (run,) = list_runs(out.parent)
    assert (run.state.status, run.manifest.epochs, run.manifest.resumed) == ("completed", epochs, 1)


@LINUX
def test_a_killed_process_not_yet_reaped_is_gone(tmp_path: Path) -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _run(tmp_path, Owner(child.pid, socket.gethostname(), boot_id(), process_start(child.pid)))
        assert _state(tmp_path).status == "running"
        child.kill()
        while Path(f"/proc/{child.pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
            time.sleep(0.01)
        assert _state(tmp_path).status == "interrupted"  # listed afresh: a zombie is not the run
    finally:
        child.kill()
        child.wait()


def test_run_json_names_its_process_and_is_rewritten_every_minute_of_steps(tmp_path: Path) -> None:
    from cnnstudio.runs.recorder import RunRecorder
    from cnnstudio.training import events

    now = [1000.0]
    recorder = RunRecorder(tmp_path, clock=lambda: now[0])
    recorder.open({}, {"task": "classification"}, resumed=False)
    assert Owner.from_json(Manifest.load(tmp_path).owner) == Owner.current()
    step = events.StepMetrics(1, 1, 10, 1, 100, 0.5, 0.001, 10.0, 1.0)
    for seconds, saved in ((30.0, 0.0), (59.0, 0.0), (61.0, 61.0), (100.0, 61.0), (125.0, 125.0)):
        now[0] = 1000.0 + seconds
        recorder.on_step(step)
        assert Manifest.load(tmp_path).seconds == saved
