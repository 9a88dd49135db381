"""The gallery bench: trains every template with its own settings on the CPU and writes the table.

Run: ``.venv/bin/python bench/bench_gallery.py`` (about 10 minutes on 2 cores). Each template
trains exactly as ``cnnstudio train resources/templates/NAME.json`` would on a CPU (same settings,
same seed), so every row can be reproduced with that command. Two exceptions, both named in the
table's data column: the MNIST-sized templates (Figure 21, LeNet-5) train on the real MNIST test
set (``--data idx:../shared/data/mnist``, 8,000 / 2,000) when ../shared/data/mnist exists, and a
template whose ``init_weights`` names another template's run (``runs/STEM/last.pt``) starts from
the checkpoint this bench just wrote for that template, as the two-step CLI workflow does.

Besides the table it records what the gallery explains with numbers: the learned kernel of the 1D
pattern detectors (and a small picture of it), and the gradient norm of the first convolution of
the small ResNet and of its twin without skips. Results go between the ``gallery:*`` markers of
docs/gallery.md; ``--only STEM ...`` trains some templates and prints, leaving the file alone.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cnnstudio.core.design import Design  # noqa: E402
from cnnstudio.core.designfile import load_design  # noqa: E402
from cnnstudio.training import events  # noqa: E402
from cnnstudio.training.engine import Trainer  # noqa: E402
from cnnstudio.training.settings import TrainingSettings, parse_settings  # noqa: E402

TEMPLATES = ROOT / "resources" / "templates"
GALLERY = ROOT / "docs" / "gallery.md"
IMAGES = ROOT / "docs" / "images"
MNIST = ROOT.parent / "shared" / "data" / "mnist"
MNIST_TEMPLATES = ("figure21", "lenet5")
KERNEL_TEMPLATES = ("pattern1d_valid", "pattern1d_causal")
GRADIENT_TEMPLATES = {"resnet_small": "stem", "plain_small": "stem"}  # template: its first convolution
GRADIENT_STEPS = 20  # the gradient norm is averaged over this many first steps
SCRATCH_BASELINES = ("transfer_target",)
# Real networks at full size (224x224 ImageNet models, the 572x572 U-Net): hours per row on a CPU.
# They are for transfer learning from pretrained weights on a GPU; --only still trains them.
FULL_SIZE = ("tv_alexnet", "tv_vgg16", "tv_resnet18", "tv_googlenet", "unet_original")  # also trained from random weights, to show what transfer gives

# The metric each task is judged by (docs/training.md lists them), and a second one worth showing.
MAIN_METRIC = {
    "classification": ("val_accuracy", None),
    "localization": ("val_iou", "val_accuracy"),
    "detection": ("val_map50", None),
    "segmentation": ("val_mean_iou", "val_pixel_accuracy"),
    "reconstruction": ("val_mse", "val_psnr"),
    "metric": ("val_nn_accuracy", None),
}


@dataclass
class Result:
    stem: str
    name: str
    task: str
    data: str
    epochs: int
    metrics: dict[str, Any]
    seconds: float
    checkpoint: str | None
    samples: tuple[int, int] = (0, 0)  # training, validation
    gradient_norms: list[float] = field(default_factory=list)
    kernel: list[float] | None = None


def bench_settings(stem: str, raw: dict[str, Any] | None, workdir: Path) -> tuple[TrainingSettings, str]:
    """The template's own settings on the CPU, plus the bench's two documented overrides;
    ``workdir`` plays the current folder of the CLI workflow (runs/STEM/ under it)."""
    overrides: dict[str, Any] = {"device": "cpu"}
    data_note = ""
    if stem in MNIST_TEMPLATES and MNIST.is_dir():
        overrides.update(data=f"idx:{MNIST}", data_options={})
        data_note = "MNIST (`--data idx:../shared/data/mnist`)"
    settings = parse_settings(raw, overrides)
    if settings.init_weights:
        settings = parse_settings(raw, {**overrides, "init_weights": str(workdir / settings.init_weights)})
    return settings, data_note or f"`{settings.data}`"


def order_by_dependency(stems: list[str]) -> list[str]:
    """Templates that start from another template's run come after it (transfer learning); that
    template is trained too, even when not asked for."""
    def depends_on(stem: str) -> str | None:
        raw = load_design(TEMPLATES / f"{stem}.json").training or {}
        match = re.fullmatch(r"runs/([^/]+)/last\.pt", str(raw.get("init_weights") or ""))
        return match.group(1) if match else None

    ordered: list[str] = []

    def visit(stem: str) -> None:
        if stem in ordered:
            return
        parent = depends_on(stem)
        if parent is not None:
            visit(parent)
        ordered.append(stem)

    for stem in stems:
        visit(stem)
    return ordered


def train(stem: str, workdir: Path) -> Result:
    """One template trained as ``cnnstudio train`` would from ``workdir``, into runs/STEM/."""
    design = load_design(TEMPLATES / f"{stem}.json")
    settings, data = bench_settings(stem, design.training, workdir)
    return run(stem, design, settings, data, workdir / "runs" / stem)


def from_scratch(stem: str) -> Result:
    """The template with random weights and nothing frozen: what its transferred start is worth."""
    design = load_design(TEMPLATES / f"{stem}.json")
    for node in design.nodes:
        node.frozen = False
    raw = {k: v for k, v in (design.training or {}).items() if k != "init_weights"}
    return run(stem, design, parse_settings(raw, {"device": "cpu"}), f"`{raw.get('data')}`", None)


def run(stem: str, design: Design, settings: TrainingSettings, data: str, out_dir: Path | None) -> Result:
    """Trains, printing each epoch, and keeps what the gallery reports."""
    result = Result(stem, design.name, settings.task, data, settings.epochs, {}, 0.0, None)
    trainer: Trainer

    def on_event(event: events.Event) -> None:
        if isinstance(event, events.Started):
            result.samples = (event.train_samples, event.val_samples)
            if stem in GRADIENT_TEMPLATES:
                watch_gradient(trainer, GRADIENT_TEMPLATES[stem], result.gradient_norms)
        elif isinstance(event, events.EpochMetrics):
            result.metrics = {k: v for k, v in event.record().items() if isinstance(v, float)}
            print(f"   epoch {event.epoch}: " + ", ".join(f"{k} {v:.4g}" for k, v in result.metrics.items()
                                                       if k not in ("lr", "seconds")), flush=True)
        elif isinstance(event, events.Error):
            raise SystemExit(f"{stem}: training failed: {event.message}")

    trainer = Trainer(design, settings, out_dir=out_dir, on_event=on_event)
    started = time.perf_counter()
    finished = trainer.run()
    result.seconds = time.perf_counter() - started
    result.checkpoint = finished.checkpoint
    if stem in KERNEL_TEMPLATES:
        result.kernel = conv_kernel(trainer.model.get_submodule("conv1"))
    return result


def watch_gradient(trainer: Trainer, node: str, norms: list[float]) -> None:
    """Records the gradient norm of ``node``'s weight at each of the first steps (a tensor hook)."""
    weight = next(m.weight for m in trainer.model.get_submodule(node).modules() if isinstance(m, torch.nn.Conv2d))

    def record(grad: torch.Tensor) -> None:
        if len(norms) < GRADIENT_STEPS:
            norms.append(float(grad.norm()))

    weight.register_hook(record)


def conv_kernel(module: torch.nn.Module) -> list[float]:
    """The weights of the (first) Conv1d inside a node: causal padding wraps it with a pad."""
    conv = next(m for m in module.modules() if isinstance(m, torch.nn.Conv1d))
    return [round(float(w), 2) for w in conv.weight.detach()[0, 0]]


def kernel_image(kernel: list[float], path: Path, cell: int = 48) -> None:
    """A row of cells, red for positive and blue for negative weights, stronger for larger ones."""
    image = Image.new("RGB", (cell * len(kernel), cell), "white")
    draw = ImageDraw.Draw(image)
    largest = max(abs(w) for w in kernel) or 1.0
    for i, weight in enumerate(kernel):
        level = int(110 + 145 * (1 - abs(weight) / largest))  # never darker than the black text needs
        colour = (255, level, level) if weight > 0 else (level, level, 255)
        draw.rectangle([i * cell, 0, (i + 1) * cell - 1, cell - 1], fill=colour, outline="black")
        text = f"{weight:+.1f}"
        draw.text((i * cell + cell // 2, cell // 2), text, fill="black", anchor="mm")
    image.save(path, optimize=True)


def metric_text(result: Result) -> str:
    main, second = MAIN_METRIC[result.task]
    text = f"{main} {result.metrics[main]:.4f}"
    if second:
        text += f" ({second} {result.metrics[second]:.4g})"
    return text


def result_line(result: Result) -> str:
    """The one-line result under a template's section of the gallery."""
    train_n, val_n = result.samples
    return (f"Result: {metric_text(result)} after {result.epochs} epoch(s) on {result.data} "
            f"({train_n:,} training / {val_n:,} validation samples), {result.seconds:.1f} s on the CPU.")


def table(results: list[Result]) -> str:
    lines = ["| template | task | data (train / validation) | epochs | metric reached | seconds |",
             "| --- | --- | --- | --- | --- | --- |"]
    for r in results:
        train_n, val_n = r.samples
        lines.append(f"| [{r.name}](#{r.stem}) (`{r.stem}.json`) | {r.task} | {r.data} ({train_n:,} / {val_n:,}) | "
                     f"{r.epochs} | {metric_text(r)} | {r.seconds:.1f} |")
    return "\n".join(lines)


def kernels_text(results: list[Result]) -> str:
    lines = []
    for r in results:
        if r.kernel is not None:
            picture = f"images/gallery-kernel-{r.stem}.png"
            kernel_image(r.kernel, ROOT / "docs" / picture)
            lines.append(f"- `{r.stem}`: conv1 weights {r.kernel}  \n  ![learned kernel of {r.stem}]({picture})")
    return "\n".join(lines)


def gradients_text(results: list[Result]) -> str:
    lines = ["| template | mean gradient norm of `stem` over the first steps | first step | last of those steps |",
             "| --- | --- | --- | --- |"]
    for r in results:
        if r.gradient_norms:
            norms = r.gradient_norms
            lines.append(f"| `{r.stem}` | {statistics.fmean(norms):.4g} ({len(norms)} steps) | {norms[0]:.4g} | {norms[-1]:.4g} |")
    return "\n".join(lines)


def baselines_text(results: list[Result], baselines: list[Result]) -> str:
    by_stem = {r.stem: r for r in results}
    lines = ["| template | start | metric reached | seconds |", "| --- | --- | --- | --- |"]
    for base in baselines:
        transferred = by_stem[base.stem]
        lines.append(f"| `{base.stem}` | transferred convolutions, frozen | {metric_text(transferred)} | {transferred.seconds:.1f} |")
        lines.append(f"| `{base.stem}` | random weights, nothing frozen | {metric_text(base)} | {base.seconds:.1f} |")
    return "\n".join(lines)


def replace_between(text: str, marker: str, body: str) -> str:
    """The text with the part between <!-- gallery:MARKER:begin --> and its end replaced."""
    begin, end = f"<!-- gallery:{marker}:begin -->", f"<!-- gallery:{marker}:end -->"
    if begin not in text or end not in text:
        raise SystemExit(f"{GALLERY}: the markers {begin} ... {end} are missing")
    head, rest = text.split(begin, 1)
    return f"{head}{begin}\n{body}\n{end}{rest.split(end, 1)[1]}"


def write_gallery(results: list[Result], baselines: list[Result], total: float) -> None:
    text = GALLERY.read_text(encoding="utf-8")
    summary = (f"\n\nMeasured by `bench/bench_gallery.py` on {torch.get_num_threads()} CPU threads "
               f"(torch {torch.__version__}); {total:.0f} s in all.")
    sections: dict[str, Callable[[list[Result]], str]] = {"table": table, "kernels": kernels_text, "gradients": gradients_text}
    for marker, render in sections.items():
        body = render(results) + (summary if marker == "table" else "")
        text = replace_between(text, marker, body)
    text = replace_between(text, "transfer", baselines_text(results, baselines))
    for r in results:
        if f"<!-- gallery:result:{r.stem}:begin -->" in text:
            text = replace_between(text, f"result:{r.stem}", result_line(r))
    GALLERY.write_text(text, encoding="utf-8")
    print(f"wrote {GALLERY}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", metavar="STEM", help="train these templates and print; docs/gallery.md is left alone")
    args = parser.parse_args()
    stems = args.only or sorted(p.stem for p in TEMPLATES.glob("*.json") if p.stem not in FULL_SIZE)
    if not MNIST.is_dir():
        print(f"note: {MNIST} is absent; Figure 21 and LeNet-5 train on their template data")
    results = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        for stem in order_by_dependency(stems):
            print(f"{stem}:", flush=True)
            results.append(train(stem, Path(tmp)))
            print(f"   {metric_text(results[-1])}, {results[-1].seconds:.1f} s", flush=True)
        baselines = []
        for stem in SCRATCH_BASELINES:
            if stem in stems:
                print(f"{stem}, from scratch:", flush=True)
                baselines.append(from_scratch(stem))
    total = time.perf_counter() - started
    results.sort(key=lambda r: r.name.lower())
    print(table(results))
    print(gradients_text(results))
    print(baselines_text(results, baselines))
    for r in results:
        if r.kernel is not None:
            print(f"{r.stem}: conv1 kernel {r.kernel}")
    if not args.only:
        write_gallery(results, baselines, total)


if __name__ == "__main__":
    main()
