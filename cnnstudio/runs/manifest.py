"""A run's manifest, ``run.json``: what the run was and how it went, readable without torch."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cnnstudio.runs.files import write_text

MANIFEST = "run.json"
DESIGN = "design.json"
SETTINGS = "settings.json"
LAST, BEST = "last.pt", "best.pt"
# unknown: an older run that did not finish; interrupted: never written, what a "running" run whose
# process is gone is shown as (:mod:`cnnstudio.runs.owner`)
Status = Literal["running", "completed", "stopped", "failed", "unknown", "interrupted"]

# The metric that picks a task's best checkpoint: (metrics.jsonl key, "max" or "min").
MAIN_METRIC: dict[str, tuple[str, str]] = {
    "classification": ("val_accuracy", "max"),
    "localization": ("val_iou", "max"),
    "detection": ("val_map50", "max"),
    "segmentation": ("val_mean_iou", "max"),
    "reconstruction": ("val_mse", "min"),
    "metric": ("val_nn_accuracy", "max"),
}


def main_metric(task: str) -> tuple[str, str]:
    return MAIN_METRIC.get(task, ("val_loss", "min"))


@dataclass
class Manifest:
    """``best`` and ``final`` are metrics.jsonl records (epoch, losses, metrics)."""

    started: float  # seconds since the epoch
    status: Status = "running"
    message: str | None = None  # why it failed
    title: str | None = None  # the user's name for it (the folder keeps its own)
    note: str = ""
    task: str = "classification"
    metric: str = "val_loss"
    mode: str = "min"
    epochs: int = 0  # completed
    planned_epochs: int = 0
    global_step: int = 0
    seconds: float = 0.0  # training time, pauses excluded
    best: dict[str, Any] | None = None
    final: dict[str, Any] | None = None
    resumed: int = 0  # times continued with --resume
    owner: dict[str, Any] | None = None  # the process that runs it (:class:`cnnstudio.runs.owner.Owner`)
    checkpoint: dict[str, Any] | None = None  # where the run stood at its last.pt: epoch (done), global_step
    # a sweep's trial: {"name": the sweep, "trial": its number, "pruned": whether the pruner stopped it}
    sweep: dict[str, Any] | None = None

    def better(self, record: dict[str, Any]) -> bool:
        """Is this epoch better than the best so far by the main metric?"""
        value = record.get(self.metric)
        if not isinstance(value, (int, float)):
            return False
        if self.best is None or not isinstance(self.best.get(self.metric), (int, float)):
            return True
        return value > self.best[self.metric] if self.mode == "max" else value < self.best[self.metric]

    def save(self, folder: Path) -> None:
        write_text(folder / MANIFEST, json.dumps(dataclasses.asdict(self), indent=1))

    @classmethod
    def load(cls, folder: Path) -> Manifest | None:
        """None when the folder has no readable manifest."""
        try:
            data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            known = {f.name for f in dataclasses.fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError):
            return None
