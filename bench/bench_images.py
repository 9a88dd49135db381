"""Images the network makes: seconds per style-transfer step and per visualised filter.

Run: ``.venv/bin/python bench/bench_images.py [--device cpu|cuda] [--size 256]``. The networks'
weights are random: the time of a step does not depend on their values, and nothing is downloaded.
Each row gives wall-clock seconds and, on a shared machine the steadier figure, the process's CPU
seconds (all threads together). On a busy machine run it with ``OMP_NUM_THREADS=1``: with two
threads competing for shared cores the small cases ran up to 20 times slower.

* style transfer, one step = one evaluation of the losses and their gradient (L-BFGS and Adam),
  on the VGG-16 template with the paper's layers (conv4_2; conv1_1 ... conv5_1) at ``--size``
  pixels, and on the small VGG-style template at 64 pixels;
* feature visualisation: the seconds per filter image (256 steps; all filters in one batch), for
  Figure 21's conv2 at 28 pixels, and for 4 filters of the VGG-16 template's conv4_2 at
  ``--filter-size`` pixels, measured over ``--filter-steps`` steps and scaled to 256.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from cnnstudio.core.designfile import load_design
from cnnstudio.training.synthesis.network import load_network
from cnnstudio.training.synthesis.style import PAPER_CONTENT, PAPER_STYLE, StyleSettings, StyleTransfer
from cnnstudio.training.synthesis.visualize import FeatureVisualizer, VisualizeSettings

TEMPLATES = Path(__file__).resolve().parents[1] / "resources" / "templates"


def per_step(template: str, content: tuple[str, ...], style: tuple[str, ...], size: int, optimizer: str,
             device: str, steps: int) -> tuple[float, float]:
    """Median wall and CPU seconds per step over ``steps`` steps, after two warm-up steps."""
    network = load_network(load_design(TEMPLATES / template), None, random_weights=True, device=device)
    generator = torch.Generator().manual_seed(0)
    images = [torch.rand(3, size, size, generator=generator) for _ in range(2)]
    settings = StyleSettings(content, style, steps=steps + 2, size=size, optimizer=optimizer)
    stamps: list[tuple[float, float]] = []

    def mark(_progress: object) -> None:
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        stamps.append((time.perf_counter(), time.process_time()))

    StyleTransfer(network, *images, settings).run(mark)
    gaps = list(zip(stamps[2:], stamps[3:]))
    return (statistics.median(b[0] - a[0] for a, b in gaps), statistics.median(b[1] - a[1] for a, b in gaps))


def per_filter(template: str, layer: str, filters: int, size: int | None, device: str,
               steps: int = 256) -> tuple[float, float]:
    """Wall and CPU seconds per filter image of 256 steps (measured over ``steps`` steps, scaled)."""
    network = load_network(load_design(TEMPLATES / template), None, random_weights=True, device=device)
    settings = VisualizeSettings(layer, tuple(range(filters)), steps=steps, size=size)
    wall, cpu = time.perf_counter(), time.process_time()
    FeatureVisualizer(network, settings).run()
    if device.startswith("cuda"):
        torch.cuda.synchronize()
    scale = 256 / steps / filters
    return (time.perf_counter() - wall) * scale, (time.process_time() - cpu) * scale


def row(what: str, seconds: tuple[float, float]) -> str:
    return f"| {what} | {seconds[0]:.3g} | {seconds[1]:.3g} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--size", type=int, default=256, help="the VGG-16 style transfer's image side")
    parser.add_argument("--filter-size", type=int, default=128, help="the VGG-16 filter images' side")
    parser.add_argument("--filter-steps", type=int, default=256, help="steps timed for the VGG-16 filter images")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per style-transfer case")
    args = parser.parse_args()
    print(f"device {args.device}, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print("| what | wall s | CPU s |\n| --- | --- | --- |")
    for optimizer in ("lbfgs", "adam"):
        seconds = per_step("vgg16_gatys.json", PAPER_CONTENT, PAPER_STYLE, args.size, optimizer, args.device, args.steps)
        print(row(f"style transfer step, VGG-16 template, paper's layers, {args.size}x{args.size}, {optimizer}", seconds))
    seconds = per_step("vgg_small.json", ("conv2_1",), ("conv1_1", "conv2_1", "conv3_1"), 64, "lbfgs", args.device,
                       args.steps * 4)
    print(row("style transfer step, VGG-style template, 64x64, lbfgs", seconds))
    print(row("visualised filter (256 steps), Figure 21 conv2, 28x28",
              per_filter("figure21.json", "conv2", 12, None, args.device)))
    scaled = "" if args.filter_steps == 256 else f", timed over {args.filter_steps} steps"
    print(row(f"visualised filter (256 steps), VGG-16 template conv4_2, {args.filter_size}x{args.filter_size}{scaled}",
              per_filter("vgg16_gatys.json", "conv4_2", 4, args.filter_size, args.device, args.filter_steps)))


if __name__ == "__main__":
    main()
