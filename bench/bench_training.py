"""Training benchmarks: the engine against a plain loop, MNIST accuracy, and responsiveness.

Run: ``.venv/bin/python bench/bench_training.py`` (CPU; about a minute on 2 cores).

1. Engine vs plain loop: the Figure 21 template trains one epoch of 8,000 images with the engine
   and with a hand-written loop (same model, batch, optimizer; plain and channels-last layout),
   interleaved, three times each;
   the median images/s and their ratios are printed. Goal: the engine is not much slower.
2. MNIST: the template trains 3 epochs on ../shared/data/mnist (8,000 train / 2,000 validation),
   with its own settings and with a one-cycle schedule (which 3 epochs of 8,000 images need to
   pass 97%); validation accuracy per epoch and images/s. Goal: at least 97%.
3. Responsiveness: the engine trains in a worker thread while the main thread runs a 10 ms timer,
   as an event loop would; timer lateness (p50, p99; goal p99 < 50 ms) and throughput relative to
   training in the main thread (goal >= 0.9). This is the Qt-free part of the studio's goal: the
   studio's own measurement adds drawing on top.
"""

from __future__ import annotations

import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnstudio.core.compiler import build_model  # noqa: E402
from cnnstudio.core.designfile import load_design  # noqa: E402
from cnnstudio.training import events  # noqa: E402
from cnnstudio.training.engine import Trainer  # noqa: E402
from cnnstudio.training.settings import parse_settings  # noqa: E402

# ../shared/data/mnist beside the repository; MNIST_DIR names another copy (from a git worktree, say)
MNIST = Path(os.environ.get("MNIST_DIR", ROOT.parent / "shared" / "data" / "mnist"))
TEMPLATE = ROOT / "resources" / "templates" / "figure21.json"
BATCH = 64


def data_spec() -> str:
    if MNIST.is_dir():
        return f"idx:{MNIST}"
    print(f"note: {MNIST} is absent; using synthetic-shapes (10,000 images) instead of MNIST")
    return "synthetic-shapes"


def engine_rate(spec: str, epochs: int = 1, step_rate: float | None = None,
                listener: Callable[[events.Event], None] | None = None,
                **overrides: object) -> tuple[float, list[events.EpochMetrics]]:
    """Training images/s (from the first to the last step, so data loading and validation are out;
    ``listener`` also hears every event, as the studio worker's thread tuner does)."""
    design = load_design(TEMPLATE)
    options = {"count": 10_000} if spec == "synthetic-shapes" else {}
    settings = parse_settings(design.training, {"data": spec, "data_options": options, "epochs": epochs, "device": "cpu", **overrides})
    steps: list[tuple[float, int]] = []
    epochs_seen: list[events.EpochMetrics] = []

    def on_event(event: events.Event) -> None:
        if listener is not None:
            listener(event)
        if isinstance(event, events.StepMetrics):
            steps.append((time.perf_counter(), event.global_step))
        elif isinstance(event, events.EpochMetrics):
            epochs_seen.append(event)
        elif isinstance(event, events.Error):
            raise SystemExit(f"training failed: {event.message}")

    Trainer(design, settings, on_event=on_event, step_rate=step_rate).run()
    (t0, s0), (t1, s1) = steps[0], steps[-1]
    return (s1 - s0) * BATCH / (t1 - t0), epochs_seen


def plain_rate(images: torch.Tensor, labels: torch.Tensor, channels_last: bool = False) -> float:
    """The loop anyone would write: the same compiled model, Adam, shuffled batches of 64
    (optionally in the channels-last layout the engine uses on the CPU and CUDA)."""
    torch.manual_seed(0)
    design = load_design(TEMPLATE)
    design.output_order = ["fc2"]  # the logits, as the engine trains
    model = build_model(design)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    order = torch.randperm(len(images))
    steps = len(images) // BATCH
    start = 0.0
    for step in range(steps):
        if step == 1:
            start = time.perf_counter()
        index = order[step * BATCH : (step + 1) * BATCH]
        x = images[index].float().div_(255)
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        loss = F.cross_entropy(model(x), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()
    return (steps - 1) * BATCH / (time.perf_counter() - start)


def plain_data(spec: str) -> tuple[torch.Tensor, torch.Tensor]:
    from cnnstudio.training.data.registry import load_data

    options = {"count": 10_000} if spec == "synthetic-shapes" else {}
    data = load_data(spec, (1, 28, 28), options, 0, print)
    images = data.images if data.images.dtype == torch.uint8 else (data.images * 255).to(torch.uint8)
    return images[:8000], data.labels[:8000]


def responsiveness(spec: str) -> tuple[float, float, float]:
    """Timer lateness (p50, p99 in ms) while the engine trains in a thread, and its images/s."""
    result: dict[str, float] = {}
    worker = threading.Thread(target=lambda: result.update(rate=engine_rate(spec, step_rate=20)[0]))
    lateness: list[float] = []
    worker.start()
    while worker.is_alive():
        due = time.perf_counter() + 0.010
        time.sleep(0.010)
        lateness.append(max(0.0, time.perf_counter() - due) * 1000)
    lateness.sort()
    p99 = lateness[min(len(lateness) - 1, int(len(lateness) * 0.99))]
    return statistics.median(lateness), p99, result["rate"]


def main() -> None:
    spec = data_spec()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads, batch {BATCH}")

    print("\n1. engine vs plain loop (Figure 21, 8,000 images, 1 epoch each, interleaved x3)")
    images, labels = plain_data(spec)
    engine, plain, plain_cl = [], [], []
    for _ in range(3):
        plain.append(plain_rate(images, labels))
        plain_cl.append(plain_rate(images, labels, channels_last=True))
        engine.append(engine_rate(spec)[0])
    for label, runs in (("plain loop", plain), ("plain loop, channels last", plain_cl), ("engine", engine)):
        print(f"   {label:<26}: {statistics.median(runs):8,.0f} images/s  (runs: {', '.join(f'{r:,.0f}' for r in runs)})")
    e = statistics.median(engine)
    print(f"   ratio engine / plain loop: {e / statistics.median(plain):.2f}; "
          f"engine / plain loop in the same layout: {e / statistics.median(plain_cl):.2f}")

    training = load_design(TEMPLATE).training
    print(f"\n2. Figure 21 on {spec}, 3 epochs, with the template's own settings ({training.get('optimizer', 'adam')}, "
          f"lr {training.get('lr', 0.001)}, schedule {training.get('schedule', 'none')}, batch {training.get('batch_size', 64)})")
    rate, history = engine_rate(spec, epochs=3)
    for record in history:
        print(f"     epoch {record.epoch}: train_loss {record.train_loss:.4f}  val_loss {record.val_loss:.4f}  "
              f"val_accuracy {record.metrics['val_accuracy']:.4f}  ({record.seconds:.1f} s)")
    accuracy = history[-1].metrics["val_accuracy"]
    print(f"   validation accuracy {accuracy:.2%} (goal >= 97%): {'met' if accuracy >= 0.97 else 'not met'}; "
          f"{rate:,.0f} images/s")

    print("\n3. responsiveness: engine in a worker thread, 10 ms timer in the main thread")
    headless = engine_rate(spec, step_rate=20)[0]
    p50, p99, threaded = responsiveness(spec)
    print(f"   timer lateness p50 {p50:.1f} ms, p99 {p99:.1f} ms (goal p99 < 50 ms): {'met' if p99 < 50 else 'NOT met'}")
    print(f"   throughput in a thread {threaded:,.0f} vs main thread {headless:,.0f} images/s: "
          f"ratio {threaded / headless:.2f} (goal >= 0.9)")


if __name__ == "__main__":
    main()
