"""`cnnstudio train`: exit codes, metrics.jsonl, checkpoints, resume, SIGTERM, and settings errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design
from cnnstudio.training import checkpoint
from training_helpers import classifier

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def design_file(tmp_path: Path) -> Path:
    design = classifier()
    design.training = {"epochs": 2, "batch_size": 32, "data_options": {"count": 300}, "device": "cpu"}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    return path


def test_train_writes_metrics_and_a_checkpoint(design_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert main(["train", str(design_file), "--out", str(out), "--lr", "0.01"]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    for record in records:
        assert {"train_loss", "val_loss", "val_accuracy", "val_confusion", "lr"} <= set(record)
    state = checkpoint.load(out / "last.pt")
    assert state["epoch"] == 2 and state["settings"]["lr"] == 0.01
    err = capsys.readouterr().err
    assert "epoch 2/2" in err and "img/s" in err and "ETA" in err


def test_flags_override_the_file_and_resume_adds_epochs(design_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    assert main(["train", str(design_file), "--out", str(out), "--epochs", "1", "--batch-size", "16"]) == 0
    assert main(["train", str(design_file), "--resume", str(out / "last.pt"), "--epochs", "2"]) == 0
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert [r["epoch"] for r in records] == [1, 2]
    assert checkpoint.load(out / "last.pt")["settings"]["batch_size"] == 16


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (["--lr", "0"], 2, "'lr' must be greater than 0"),
        (["--task", "clasification"], 2, "did you mean 'classification'"),
        (["--data", "nowhere"], 1, "unknown data 'nowhere'"),
        (["--lr", "1e30"], 1, "the loss became"),
        (["--resume", "/no/such.pt"], 2, "no such checkpoint"),
    ],
)
def test_errors_are_sentences_with_an_exit_status(design_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                                  args: list[str], code: int, text: str) -> None:
    assert main(["train", str(design_file), "--out", str(tmp_path / "run"), *args]) == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err


def test_an_unreadable_design_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", str(tmp_path / "missing.json")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_resuming_against_another_design_is_refused(design_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "run"
    assert main(["train", str(design_file), "--out", str(out), "--epochs", "1"]) == 0
    other = classifier(classes=7)
    save_design(other, tmp_path / "other.json")
    assert main(["train", str(tmp_path / "other.json"), "--resume", str(out / "last.pt")]) == 2
    assert "another network" in capsys.readouterr().err


def test_sigterm_stops_with_a_checkpoint(design_file: Path, tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [sys.executable, "-m", "cnnstudio", "train", str(design_file), "--out", str(out), "--epochs", "10000"],
        stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path,
    )
    deadline = time.monotonic() + 60
    while not (out / "last.pt").exists() and time.monotonic() < deadline:  # one epoch done: training runs
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130, err
    assert "--resume" in err and "Traceback" not in err
    state = checkpoint.load(out / "last.pt")
    assert 0 < state["epoch"] < 10000
