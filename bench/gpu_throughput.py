"""Training throughput on a CUDA GPU: images/s, peak GPU memory and GPU utilisation.

Run by bench/gpu.sh (or ``python bench/gpu_throughput.py``); needs a CUDA GPU and takes 2 to 4 minutes.

1. Figure 21 on ../shared/data/mnist (MNIST_DIR names another copy; synthetic-shapes if absent),
   in memory on the GPU, at the template's batch of 64 and at 1,024, with mixed precision.
2. A ResNet-18-sized design (bench/designs.py, 11.7 M parameters) on generated 3x224x224 JPEG
   files read by the streaming loader (worker processes, pinned memory), batch 128, bfloat16.

Images/s counts training steps only (first to last step of the run); memory is
torch.cuda.max_memory_allocated; utilisation is the mean of nvidia-smi's samples (every 0.2 s)
while the steps run.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from multiprocessing import Pool
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_training import MNIST, TEMPLATE, data_spec  # noqa: E402
from cnnstudio.core.designfile import load_design  # noqa: E402
from cnnstudio.training import events  # noqa: E402
from cnnstudio.training.engine import Trainer  # noqa: E402
from cnnstudio.training.settings import parse_settings  # noqa: E402
from designs import resnet18_sized  # noqa: E402

GENERATED_IMAGES = 6000
CLASSES = 10


class Utilisation:
    """nvidia-smi's GPU utilisation, sampled in the background while the steps run."""

    def __init__(self) -> None:
        self.samples: list[float] = []
        self.active = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        index = str(torch.cuda.current_device())
        while not self._stop.wait(0.2):
            if not self.active:
                continue
            try:
                out = subprocess.run(["nvidia-smi", "-i", index, "--query-gpu=utilization.gpu",
                                      "--format=csv,noheader,nounits"], capture_output=True, text=True, timeout=5)
                self.samples.append(float(out.stdout.strip()))
            except (OSError, ValueError, subprocess.TimeoutExpired):
                return  # no nvidia-smi: utilisation is not reported

    def __enter__(self) -> Utilisation:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def mean(self) -> str:
        return f"{statistics.mean(self.samples):.0f}%" if self.samples else "n/a"


def measure(label: str, design, **overrides: object) -> None:
    settings = parse_settings(design.training, {"device": "cuda", **overrides})
    steps: list[tuple[float, int]] = []
    with Utilisation() as utilisation:
        def on_event(event: events.Event) -> None:
            if isinstance(event, events.StepMetrics):
                steps.append((time.perf_counter(), event.global_step))
                utilisation.active = True
            elif isinstance(event, events.EpochMetrics):
                utilisation.active = False
            elif isinstance(event, events.Error):
                raise SystemExit(f"{label}: {event.message}")

        torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        trainer = Trainer(design, settings, on_event=on_event, step_rate=None)
        finished = trainer.run()
        wall = time.perf_counter() - start
    (t0, s0), (t1, s1) = steps[0], steps[-1]
    rate = (s1 - s0) * settings.batch_size / (t1 - t0)
    peak = torch.cuda.max_memory_allocated() / 2**20
    print(f"   {label:<44} {rate:10,.0f} images/s  peak {peak:7,.0f} MiB  GPU {utilisation.mean():>4}  "
          f"({finished.global_step} steps, {wall:.1f} s with start-up and validation; amp {trainer.amp_dtype})")


def _write_image(job: tuple[Path, int]) -> None:
    """A 224x224 JPEG of its class: a coloured square on noise, the colour and place set by the class."""
    from PIL import Image

    path, index = job
    label = index % CLASSES
    generator = torch.Generator().manual_seed(index)
    pixels = torch.randint(0, 96, (224, 224, 3), dtype=torch.uint8, generator=generator)
    offset = 16 * label
    pixels[offset : offset + 64, offset : offset + 64] = torch.tensor([25 * label, 255 - 25 * label, 128],
                                                                      dtype=torch.uint8)
    Image.fromarray(pixels.numpy()).save(path / str(label) / f"{index:05d}.jpg", quality=90)


def generated_images(root: Path) -> Path:
    for label in range(CLASSES):
        (root / str(label)).mkdir(parents=True, exist_ok=True)
    with Pool(max(1, min(8, (os.cpu_count() or 2) - 1))) as pool:
        pool.map(_write_image, [(root, i) for i in range(GENERATED_IMAGES)], chunksize=64)
    return root


def main() -> None:
    if not torch.cuda.is_available():
        raise SystemExit("gpu_throughput.py needs a CUDA GPU (make bench leaves it to bench/gpu.sh)")
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        root = generated_images(Path(folder))  # before CUDA starts: the writers are forked processes
        written = time.perf_counter() - started
        properties = torch.cuda.get_device_properties(0)
        print(f"{torch.cuda.get_device_name(0)}, {properties.total_memory / 2**30:.0f} GiB; torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}; {os.cpu_count()} CPUs; bfloat16 {torch.cuda.is_bf16_supported()}")

        spec = data_spec()
        print(f"\n1. Figure 21 on {'MNIST' if spec == f'idx:{MNIST}' else spec}, in GPU memory, 3 epochs")
        for batch in (64, 1024):
            measure(f"batch {batch}", load_design(TEMPLATE), data=spec, epochs=3, batch_size=batch,
                    data_loading="memory", **({"data_options": {"count": 10_000}} if spec == "synthetic-shapes" else {}))

        print(f"\n2. ResNet-18-sized design, {GENERATED_IMAGES:,} generated 3x224x224 JPEG files (written in "
              f"{written:.1f} s), streaming loader")
        design = resnet18_sized((3, 224, 224), CLASSES)
        for precision in ("bfloat16", "float16"):
            measure(f"batch 128, {precision}, streaming", design, data=f"folder:{root}", data_loading="stream",
                    epochs=1, batch_size=128, lr=0.001, amp_dtype=precision)


if __name__ == "__main__":
    main()
