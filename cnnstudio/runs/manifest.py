"""A run's manifest, ``run.json``: what the run was and how it went, readable without torch."""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cnnstudio.core.display import shorten
from cnnstudio.core.regular import NotReadable, read_regular
from cnnstudio.runs.files import write_text

MANIFEST = "run.json"
DESIGN = "design.json"
SETTINGS = "settings.json"
LAST, BEST = "last.pt", "best.pt"
# unknown: an older run that did not finish; interrupted: never written, what a "running" run whose
# process is gone is shown as (:mod:`cnnstudio.runs.owner`); damaged: never written, what a run
# whose run.json cannot be read is shown as
Status = Literal["running", "completed", "stopped", "failed", "unknown", "interrupted", "damaged"]
WRITTEN: tuple[Status, ...] = ("running", "completed", "stopped", "failed")  # what run.json may say

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
        """None when the folder has no usable manifest (none, or a damaged one)."""
        try:
            return cls.read(folder)
        except DamagedManifest:
            return None

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        """The folder's manifest; None when it has no run.json; :class:`DamagedManifest` (why, in a
        sentence) when it has one that is not a regular file, not JSON, or holds a wrong type. Read
        with a bound and without blocking: a FIFO named run.json must not hang a listing."""
        path = folder / MANIFEST
        if not os.path.lexists(path):
            return None
        try:
            raw = read_regular(path, MAX_MANIFEST_BYTES, "a run's manifest (JSON text)")
            data = json.loads(raw.decode("utf-8"))
        except NotReadable as error:
            raise DamagedManifest(str(error).replace(f"{path}: ", "run.json: ", 1)) from None
        except UnicodeDecodeError:
            raise DamagedManifest("run.json is not text") from None
        except json.JSONDecodeError as error:
            raise DamagedManifest(f"run.json is not valid JSON (line {error.lineno}, column {error.colno}: "
                                  f"{error.msg}); the file may be cut short") from None
        except (ValueError, RecursionError) as error:  # a 5,000-digit number, nesting too deep
            raise DamagedManifest(f"run.json is not valid JSON ({shorten(str(error), 80)})") from None
        if not isinstance(data, dict):
            raise DamagedManifest("run.json does not hold a JSON object")
        if "started" not in data:
            raise DamagedManifest('run.json has no "started" time')
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key, value in values.items():
            wrong = _FIELD_RULES[key](value)
            if wrong:
                raise DamagedManifest(f'run.json: "{key}" is {_show(value)}, but it must be {wrong}')
        return cls(**values)


class DamagedManifest(ValueError):
    """A run.json that cannot be used; the message says why, for the ``damaged`` row of a listing."""


MAX_MANIFEST_BYTES = 4 * 2**20  # a manifest is a few kB; a bigger one is not a manifest


def _show(value: Any) -> str:
    return shorten(json.dumps(value), 60)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rule(test: Callable[[Any], bool], must: str) -> Callable[[Any], str | None]:
    return lambda value: None if test(value) else must


def _record(value: Any) -> bool:
    """A best/final metrics record, or the last checkpoint's place: an object of plain values."""
    return value is None or isinstance(value, dict)


def _owner(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and _count(value.get("pid")) and value["pid"] < 2**31
                             and isinstance(value.get("host"), str))


def _checkpoint(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and all(_count(value.get(k, 0)) for k in ("epoch", "global_step")))


def _sweep(value: Any) -> bool:
    return value is None or (isinstance(value, dict) and isinstance(value.get("name"), str)
                             and _count(value.get("trial")) and isinstance(value.get("pruned"), bool))


_TEXT = _rule(lambda v: isinstance(v, str), "a string")
_OPTIONAL_TEXT = _rule(lambda v: v is None or isinstance(v, str), "a string or null")
_COUNT = _rule(_count, "a whole number, 0 or more")
# What each field of run.json must hold; a wrong one makes the run "damaged", never an error elsewhere.
_FIELD_RULES: dict[str, Callable[[Any], str | None]] = {
    "started": _rule(lambda v: _number(v) and 0 <= v < 1e11, "a time in seconds since 1970"),
    "status": _rule(lambda v: v in WRITTEN, "one of " + ", ".join(WRITTEN)),
    "message": _OPTIONAL_TEXT, "title": _OPTIONAL_TEXT, "note": _TEXT, "task": _TEXT, "metric": _TEXT,
    "mode": _rule(lambda v: v in ("min", "max"), "min or max"),
    "epochs": _COUNT, "planned_epochs": _COUNT, "global_step": _COUNT, "resumed": _COUNT,
    "seconds": _rule(lambda v: _number(v) and 0 <= v < 1e11, "a number of seconds, 0 or more"),
    "best": _rule(_record, "an object or null"), "final": _rule(_record, "an object or null"),
    "owner": _rule(_owner, 'null or an object with a "pid" (a whole number) and a "host"'),
    "checkpoint": _rule(_checkpoint, 'null or an object whose "epoch" and "global_step" are whole numbers'),
    "sweep": _rule(_sweep, 'null or an object with a "name", a "trial" (a whole number) and "pruned" (true or false)'),
}
