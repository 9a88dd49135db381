"""A run logged in TensorBoard's format opens in TensorBoard with the run's numbers."""

import builtins
from pathlib import Path

import pytest

from cnnstudio.training import events
from training_helpers import classifier, train

pytest.importorskip("tensorboard")


def test_the_run_is_logged_for_tensorboard(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    finished, recorder = train(classifier(), tmp_path, epochs=2, tensorboard=True)
    assert finished.status == "completed"
    board = EventAccumulator(str(tmp_path / "tensorboard"))
    board.Reload()
    tags = board.Tags()["scalars"]
    assert {"step/loss", "step/lr", "epoch/train_loss", "epoch/val_loss", "epoch/val_accuracy"} <= set(tags)
    epochs = recorder.of(events.EpochMetrics)
    assert [round(e.value, 5) for e in board.Scalars("epoch/val_loss")] == [round(e.val_loss, 5) for e in epochs]


def test_a_missing_tensorboard_package_is_explained(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_import = builtins.__import__

    def no_tensorboard(name, *args, **kwargs):
        if name.startswith("torch.utils.tensorboard"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tensorboard)
    finished, recorder = train(classifier(), tmp_path, epochs=1, tensorboard=True)
    assert finished.status == "failed"
    assert "pip install 'cnnstudio[tensorboard]'" in recorder.of(events.Error)[0].message
