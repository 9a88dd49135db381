"""Tiny designs and a quiet trainer for the training tests (kept small: 2 CPU cores, seconds each)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnstudio.core.design import Design
from cnnstudio.training import events
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings

MNIST = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"


def chain(shape: list[int], *layers: tuple[str, dict[str, Any]], name: str = "tiny") -> Design:
    """Input -> layers in a row; node ids are the layer type in lower case plus a number."""
    design = Design(name=name)
    previous = design.add_node("Input", {"shape": shape}, "x").id
    for type_name, params in layers:
        node = design.add_node(type_name, params)
        design.connect(previous, node.id)
        previous = node.id
    return design


def classifier(classes: int = 6, size: int = 16) -> Design:
    return chain(
        [1, size, size],
        ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": "same"}),
        ("ReLU", {}),
        ("MaxPool2d", {"kernel_size": 2}),
        ("Flatten", {}),
        ("Linear", {"out_features": classes}),
        ("Softmax", {}),
    )


class Recorder:
    """Collects every event; ``of(kind)`` lists those of one type."""

    def __init__(self) -> None:
        self.events: list[events.Event] = []

    def __call__(self, event: events.Event) -> None:
        self.events.append(event)

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def step_losses(self) -> list[float]:
        return [e.loss for e in self.of(events.StepMetrics)]


def train(design: Design, out_dir: Path | None = None, **overrides: Any) -> tuple[events.Finished, Recorder]:
    recorder = Recorder()
    settings = parse_settings(design.training, {"device": "cpu", "data_options": {"count": 400}, **overrides})
    trainer = Trainer(design, settings, out_dir=out_dir, on_event=recorder, step_rate=None)
    return trainer.run(), recorder


def older_layout(design_file: Path, folder: Path, *extra: str) -> None:
    """A run as ``cnnstudio train`` wrote it before the run store: only last.pt and metrics.jsonl."""
    from cnnstudio.cli import main

    assert main(["train", str(design_file), "--out", str(folder), *extra]) == 0
    for name in ("run.json", "design.json", "settings.json", "best.pt"):
        (folder / name).unlink()
    assert {p.name for p in folder.iterdir() if p.is_file()} == {"last.pt", "metrics.jsonl"}
