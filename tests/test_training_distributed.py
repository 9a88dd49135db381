"""torchrun with 2 CPU processes (gloo) matches one process on the same global batch (issue 6)."""

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from cnnstudio.core.designfile import save_design
from training_helpers import chain

SETTINGS = {"data_options": {"count": 200}, "epochs": 2, "batch_size": 16, "optimizer": "sgd", "lr": 0.1, "device": "cpu"}


def design_file(tmp_path: Path, **settings) -> Path:
    # No dropout or batch norm: both would see a different slice of the batch in each process.
    design = chain([1, 16, 16], ("Conv2d", {"out_channels": 4}), ("ReLU", {}), ("MaxPool2d", {}), ("Flatten", {}),
                   ("Linear", {"out_features": 6}))
    design.training = {**SETTINGS, **settings}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    return path


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    """Run in a process group of its own, killed whole on a timeout: no stray workers survive."""
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True, **kwargs) as process:
        try:
            stdout, stderr = process.communicate(timeout=240)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def train(path: Path, out: Path, processes: int) -> subprocess.CompletedProcess:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    command = [*launcher, "-m", "cnnstudio"] if processes > 1 else [sys.executable, "-m", "cnnstudio"]
    return run([*command, "train", str(path), "--out", str(out)], cwd=path.parent)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]


def test_two_processes_match_one_on_the_same_global_batch(tmp_path: Path) -> None:
    path = design_file(tmp_path)
    single = train(path, tmp_path / "single", 1)
    assert single.returncode == 0, single.stderr
    double = train(path, tmp_path / "double", 2)
    assert double.returncode == 0, double.stderr
    one, two = metrics(tmp_path / "single"), metrics(tmp_path / "double")
    assert [r["epoch"] for r in two] == [1, 2]
    for a, b in zip(one, two):
        assert b["train_loss"] == pytest.approx(a["train_loss"], abs=1e-5)
        assert b["val_loss"] == pytest.approx(a["val_loss"], abs=1e-5)
        assert b["val_accuracy"] == a["val_accuracy"]
    assert double.stderr.count("training on cpu") == 1  # rank 0 alone reports
    assert sorted(p.name for p in (tmp_path / "double").iterdir()) == [  # rank 0 alone writes the run folder
        "best.pt", "design.json", "last.pt", "metrics.jsonl", "run.json", "settings.json"]


def test_a_batch_that_does_not_split_evenly_is_explained(tmp_path: Path) -> None:
    result = train(design_file(tmp_path, batch_size=15), tmp_path / "out", 2)
    assert result.returncode == 1
    assert "the global batch of 15 samples does not split evenly over 2 processes: 1, 3, 5 or 15" in result.stderr
    # torchrun's launcher prints its own summary of a failed worker; no frame of ours may appear.
    assert 'cnnstudio/training' not in result.stderr and 'cnnstudio/commands' not in result.stderr


def test_an_exported_training_job_runs_on_two_processes(tmp_path: Path) -> None:
    from cnnstudio.core.designfile import load_design
    from cnnstudio.training.job import write_job

    job = write_job(load_design(design_file(tmp_path)), tmp_path / "job", processes_per_node=2)
    assert "--nproc-per-node 2 -m cnnstudio train design.json" in job.command
    script = tmp_path / "job" / "run.sh"
    assert script.stat().st_mode & 0o111
    assert load_design(tmp_path / "job" / "design.json").training["batch_size"] == 16
    bin_dir = Path(sys.executable).parent  # torchrun lives beside this Python
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "MASTER_PORT": str(free_port()), "HOME": str(tmp_path)}
    result = run(["bash", str(script), "--epochs", "1"], env=env)
    assert result.returncode == 0, result.stderr
    assert [r["epoch"] for r in metrics(tmp_path / "job" / "runs" / "tiny")] == [1]
