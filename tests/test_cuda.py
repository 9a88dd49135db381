"""The CUDA path: every task, mixed precision (bfloat16, float16 with loss scaling), a dataset held
on the GPU, pinned-memory streaming, the out-of-memory message, and exact resume.

Marked ``cuda`` and skipped without a CUDA GPU; ``bench/gpu.sh`` runs them (``pytest -m cuda``).
What these choices are on any machine is tested in tests/test_precision.py and tests/test_threads.py.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from cnnstudio.training import checkpoint, events
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
from test_training_engine import RESUME_SETTINGS, _dropout_classifier
from test_training_streaming import shades
from test_training_tasks import CASES
from training_helpers import MNIST, Recorder, chain, classifier, train

pytestmark = [pytest.mark.cuda,
              pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (bench/gpu.sh runs these)")]


@pytest.fixture
def deterministic() -> Iterator[None]:
    """cuDNN's deterministic kernels, so that a resumed run can equal an uninterrupted one."""
    before = torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    yield
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before


def run(design, out_dir: Path | None = None, **overrides) -> tuple[Trainer, Recorder]:
    recorder = Recorder()
    settings = parse_settings(design.training, {"device": "cuda", "data_options": {"count": 400}, **overrides})
    trainer = Trainer(design, settings, out_dir=out_dir, on_event=recorder, step_rate=None)
    finished = trainer.run()
    assert finished.status == "completed", recorder.of(events.Error)
    return trainer, recorder


@pytest.mark.parametrize("case", list(CASES))
def test_every_task_trains_on_cuda(case: str) -> None:
    make, overrides, metric = CASES[case]
    finished, recorder = train(make(), epochs=3, lr=0.01, **{"device": "cuda", **overrides})
    assert finished.status == "completed", recorder.of(events.Error)
    assert recorder.of(events.Started)[0].device.startswith("cuda")
    losses = recorder.step_losses
    assert sum(losses[-3:]) < sum(losses[:3]), losses
    assert metric in recorder.of(events.EpochMetrics)[-1].metrics


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_mixed_precision_computes_in_its_type_and_scales_float16_only(dtype: str) -> None:
    if dtype == "bfloat16" and not torch.cuda.is_bf16_supported():
        pytest.skip("this GPU has no bfloat16")
    design = classifier()
    seen: list[torch.dtype] = []
    trainer = Trainer(design, parse_settings({"device": "cuda", "amp_dtype": dtype, "epochs": 3, "lr": 0.01,
                                              "data_options": {"count": 400}}), step_rate=None)
    trainer.prepare()
    trainer.model.get_submodule("conv2d1").register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    recorder = Recorder()
    trainer.on_event = recorder
    assert trainer.run().status == "completed", recorder.of(events.Error)
    assert trainer.amp_dtype == getattr(torch, dtype) and set(seen) == {getattr(torch, dtype)}
    assert trainer.scaler.is_enabled() is (dtype == "float16")
    if dtype == "float16":
        scale = trainer.scaler.get_scale()
        assert 0 < scale < float("inf") and "scale" in trainer.scaler.state_dict()
    losses = recorder.step_losses
    assert all(loss == loss for loss in losses) and sum(losses[-3:]) < sum(losses[:3])
    assert recorder.of(events.EpochMetrics)[-1].metrics["val_accuracy"] > 0.5


def test_amp_off_trains_in_float32() -> None:
    trainer, _ = run(classifier(), amp=False, epochs=1)
    assert trainer.amp_dtype is None and not trainer.scaler.is_enabled()


def test_small_data_lives_on_the_gpu() -> None:
    data = {"data": f"idx:{MNIST}", "data_options": {}} if MNIST.is_dir() else {"data_options": {"count": 2000}}
    trainer, recorder = run(classifier(10, 28), epochs=1, data_loading="memory", **data)
    assert trainer.data.train.images.device.type == "cuda"
    assert trainer.data.validation.images.device.type == "cuda"
    batch = next(iter(trainer.train_data.epoch(0)))
    assert batch.images.device.type == "cuda"
    assert recorder.of(events.EpochMetrics)[-1].metrics["val_accuracy"] > 0.5


def test_streaming_pins_its_batches_and_resumes_exactly(tmp_path: Path, deterministic: None) -> None:
    root = shades(tmp_path / "shades", 64)
    settings = {"data": f"folder:{root}", "data_options": {}, "data_loading": "stream", "workers": 2, "epochs": 2,
                "batch_size": 16, "lr": 0.01}
    whole, whole_events = run(classifier(2, 16), **settings)
    assert whole.data.train.streaming
    assert next(iter(whole.train_data.epoch(0))).images.is_pinned()

    first = Recorder()
    stopping = Trainer(classifier(2, 16), parse_settings({"device": "cuda", **settings}), out_dir=tmp_path / "run",
                       on_event=first, step_rate=None)

    def stop_mid_epoch(event: events.Event) -> None:
        first(event)
        if isinstance(event, events.StepMetrics) and event.global_step == 9:
            stopping.stop()

    stopping.on_event = stop_mid_epoch
    assert stopping.run().status == "stopped"
    second = Recorder()
    resumed = Trainer.from_checkpoint(tmp_path / "run" / "last.pt", out_dir=tmp_path / "run", on_event=second,
                                      step_rate=None)
    assert resumed.run().status == "completed", second.of(events.Error)
    assert first.step_losses + second.step_losses == pytest.approx(whole_events.step_losses, rel=1e-4, abs=1e-6)


def test_resume_on_cuda_continues_exactly(tmp_path: Path, deterministic: None) -> None:
    settings = parse_settings({**RESUME_SETTINGS, "device": "cuda"})
    whole = Recorder()
    Trainer(_dropout_classifier(), settings, on_event=whole, step_rate=None).run()
    first = Recorder()
    trainer = Trainer(_dropout_classifier(), settings, out_dir=tmp_path, on_event=first, step_rate=None)

    def stop_at_step_13(event: events.Event) -> None:
        first(event)
        if isinstance(event, events.StepMetrics) and event.global_step == 13:
            trainer.stop()

    trainer.on_event = stop_at_step_13
    assert trainer.run().status == "stopped"
    second = Recorder()
    resumed = Trainer.from_checkpoint(tmp_path / "last.pt", out_dir=tmp_path, on_event=second, step_rate=None)
    assert resumed.run().status == "completed", second.of(events.Error)
    assert resumed.device.type == "cuda"
    assert first.step_losses + second.step_losses == pytest.approx(whole.step_losses, rel=1e-4, abs=1e-6)


def test_running_out_of_gpu_memory_says_which_batch_size_to_try() -> None:
    """The process may use 256 MiB of the GPU; one step of this wide network at batch 512 needs gigabytes."""
    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction((256 << 20) / total)
    try:
        design = chain([3, 64, 64], ("Conv2d", {"out_channels": 256, "kernel_size": 3, "padding": "same"}),
                       ("ReLU", {}), ("Conv2d", {"out_channels": 256, "kernel_size": 3, "padding": "same"}),
                       ("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}), ("Linear", {"out_features": 6}))
        recorder = Recorder()
        settings = parse_settings({"device": "cuda", "epochs": 1, "batch_size": 512, "data_options": {"count": 640}})
        finished = Trainer(design, settings, on_event=recorder, step_rate=None).run()
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    assert finished.status == "failed"
    message = recorder.of(events.Error)[0].message
    assert "CUDA ran out of memory" in message and "--batch-size 256" in message, message


@pytest.mark.parametrize(("first", "then"), [("cuda", "cpu"), ("cpu", "cuda")])
def test_a_run_moves_between_the_gpu_and_the_cpu(first: str, then: str, tmp_path: Path) -> None:
    """Trained one epoch on one device with float16 (where it is CUDA), resumed on the other: the
    checkpoint names its GPU, the move is said once, the optimizer state follows the parameters."""
    design = classifier()
    settings = parse_settings(design.training, {"device": first, "epochs": 1, "batch_size": 32, "amp_dtype": "float16",
                                                "data_options": {"count": 400}})
    assert Trainer(design, settings, out_dir=tmp_path, step_rate=None).run().status == "completed"
    assert checkpoint.load(tmp_path / "last.pt")["device"] == ("cuda:0" if first == "cuda" else "cpu")
    recorder = Recorder()
    resumed = Trainer.from_checkpoint(tmp_path / "last.pt", {"epochs": 2, "device": then}, out_dir=tmp_path,
                                      on_event=recorder, step_rate=None)
    assert resumed.run().status == "completed"
    was, now = ("cuda:0", "cpu") if first == "cuda" else ("cpu", "cuda:0")
    notes = [e.message for e in recorder.of(events.Warning) if e.message.startswith("resumed on")]
    assert notes == [f"resumed on {now} (was {was}): same settings, the numbers differ slightly"]
    device = next(resumed.model.parameters()).device
    for values in resumed.optimizer.state.values():
        assert all(t.device == device for name, t in values.items() if name != "step" and torch.is_tensor(t))
