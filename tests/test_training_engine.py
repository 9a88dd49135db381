"""The trainer loop: exact resume, stop/pause from another thread, NaN and out-of-memory handling,
safe checkpoints, throttled events, and a design edited while it trains."""

from __future__ import annotations

import os
import pickle
import threading
from pathlib import Path

import pytest
import torch

from cnnstudio.training import checkpoint, events
from cnnstudio.training.engine import Trainer
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import parse_settings
from cnnstudio.training.tasks.classification import Classification
from training_helpers import Recorder, classifier, train

# Dropout and augmentation draw random numbers mid-run, so an exact resume must restore them too.
RESUME_SETTINGS = {"device": "cpu", "epochs": 2, "batch_size": 32, "data_options": {"count": 400},
                   "schedule": "onecycle", "optimizer": "sgd", "lr": 0.05, "nesterov": True,
                   "augment": {"rotation": 10, "hflip": 0.5}}


def _dropout_classifier():
    design = classifier()
    design.add_node("Dropout", {"p": 0.3}, "drop")
    design.disconnect("flatten1", "linear1")
    design.connect("flatten1", "drop")
    design.connect("drop", "linear1")
    return design


def test_resume_continues_exactly(tmp_path: Path) -> None:
    design = _dropout_classifier()
    settings = parse_settings(RESUME_SETTINGS)
    whole = Recorder()
    Trainer(design, settings, on_event=whole, step_rate=None).run()

    first = Recorder()
    trainer = Trainer(design, settings, out_dir=tmp_path, on_event=first, step_rate=None)

    def stop_at_step_13(event: events.Event) -> None:
        first(event)
        if isinstance(event, events.StepMetrics) and event.global_step == 13:  # mid-epoch (10 steps each)
            trainer.stop()

    trainer.on_event = stop_at_step_13
    finished = trainer.run()
    assert finished.status == "stopped" and finished.global_step == 13
    second = Recorder()
    resumed = Trainer.from_checkpoint(tmp_path / "last.pt", out_dir=tmp_path, on_event=second, step_rate=None)
    assert resumed.run().status == "completed"
    assert first.step_losses + second.step_losses == whole.step_losses
    assert second.of(events.EpochMetrics)[-1].record() | {"seconds": 0} == whole.of(events.EpochMetrics)[-1].record() | {"seconds": 0}
    lines = (tmp_path / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2


def test_pause_resume_and_stop_from_another_thread(tmp_path: Path) -> None:
    recorder = Recorder()
    settings = parse_settings({"device": "cpu", "epochs": 50, "data_options": {"count": 400}})
    trainer = Trainer(classifier(), settings, out_dir=tmp_path, on_event=recorder)
    thread = threading.Thread(target=trainer.run)
    trainer.pause()
    thread.start()
    thread.join(0.5)
    assert thread.is_alive() and not recorder.of(events.StepMetrics)  # paused before the first step
    trainer.resume()
    trainer.stop()
    thread.join(30)
    finished = recorder.of(events.Finished)[0]
    assert finished.status == "stopped"
    state = checkpoint.load(finished.checkpoint)
    assert state["global_step"] == finished.global_step
    assert state["design"]["name"] == "tiny"


def test_nan_loss_stops_with_the_step_and_advice() -> None:
    finished, recorder = train(classifier(), lr=1e30, optimizer="sgd", momentum=0.0)
    assert finished.status == "failed"
    message = recorder.of(events.Error)[0].message
    assert "the loss became" in message and "learning rate" in message and "grad_clip" in message
    assert "epoch 1, step" in message


def test_an_infinite_loss_is_caught_at_step_one() -> None:
    finished, recorder = train(classifier(), loss_weights=[1e308])  # 1e308 x a loss above 1 overflows
    assert finished.status == "failed"
    assert "step 1" in recorder.of(events.Error)[0].message


def test_out_of_memory_suggests_a_smaller_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    def out_of_memory(*args, **kwargs):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(Classification, "output_losses", out_of_memory)
    finished, recorder = train(classifier(), batch_size=64)
    assert finished.status == "failed"
    message = recorder.of(events.Error)[0].message
    assert "out of memory" in message and "--batch-size 32" in message


def test_editing_the_design_while_training_changes_nothing() -> None:
    design = classifier()
    recorder = Recorder()
    trainer = Trainer(design, parse_settings({"device": "cpu", "epochs": 1, "data_options": {"count": 200}}),
                      on_event=recorder)
    design.set_param("conv2d1", "out_channels", 3)
    design.remove_node("linear1")
    assert trainer.run().status == "completed"
    assert trainer.model.conv2d1.out_channels == 8


def test_step_events_are_throttled() -> None:
    ticks = iter([0.0, 0.01, 0.02, 0.06, 0.07, 0.2])
    throttle = events.Throttle(20, clock=lambda: next(ticks))
    assert [throttle.ready() for _ in range(6)] == [True, False, False, True, False, True]
    assert all(events.Throttle(None).ready() for _ in range(3))


def test_a_fast_run_sends_few_step_events() -> None:
    recorder = Recorder()
    settings = parse_settings({"device": "cpu", "epochs": 2, "batch_size": 8, "data_options": {"count": 400}})
    Trainer(classifier(), settings, on_event=recorder, step_rate=2).run()
    steps = recorder.of(events.StepMetrics)
    assert len(steps) < 80  # 80 steps ran; the last step of each epoch is always reported
    assert steps[-1].global_step == 80


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_checkpoints_never_unpickle_code(tmp_path: Path) -> None:
    marker = tmp_path / "owned"

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (marker,))

    path = tmp_path / "evil.pt"
    torch.save({"format": checkpoint.FORMAT, "version": 1, "model": Exploit()}, path)
    with pytest.raises(TrainingError, match="refused"):
        checkpoint.load(path)
    assert not marker.exists()
    with open(path, "wb") as handle:  # a plain pickle, not even a torch file
        pickle.dump(Exploit(), handle)
    with pytest.raises(TrainingError):
        checkpoint.load(path)
    assert not marker.exists()


def test_checkpoint_writes_are_atomic(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "last.pt"
    checkpoint.save({"epoch": 1}, path)

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(TrainingError, match="is full"):
        checkpoint.save({"epoch": 2}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.pt"]


def test_an_unavailable_device_is_explained() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    finished, recorder = train(classifier(), device="cuda")
    assert finished.status == "failed"
    assert "--device cpu" in recorder.of(events.Error)[0].message


def test_an_invalid_design_lists_its_errors() -> None:
    design = classifier()
    design.disconnect("conv2d1", "relu1")
    finished, recorder = train(design)
    assert finished.status == "failed"
    assert "relu1" in recorder.of(events.Error)[0].message
