"""Typed listeners of a run's events (Lightning-style callbacks), and the metrics.jsonl writer.

A :class:`Callback` has one method per event class; calling it with any event runs the method
for that event's class and ignores the rest. The engine gives every event to its listeners (the
files of the run folder: metrics and TensorBoard, its own; the run's manifest, best checkpoint and
the views' snapshots, the caller's: ``Trainer(callbacks=...)``) before the front end sees it, so a
front end never writes files itself and the engine knows nothing of the run store.

Two hooks are not events: :meth:`Callback.setup`, once the run folder is repaired and before the
data loads (a listener opens its files there), and :meth:`Callback.on_exception`, when the run
fails, whether or not ``setup`` was reached (a failed start is still recorded).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnstudio.core.atomic import explain
from cnnstudio.core.regular import NotReadable, read_regular
from cnnstudio.training import events
from cnnstudio.training.errors import NotWritten

METRICS_NAME = "metrics.jsonl"
MAX_METRICS_BYTES = 256 * 2**20  # one line per epoch: a longer file is not a run's metrics


@dataclass(frozen=True)
class RunInfo:
    """What a run trains, as plain data (design-file object and settings table), for its writers."""

    design: dict[str, Any]
    settings: dict[str, Any]
    resumed: bool


class Callback:
    """Override the hooks you need; each gets its own event class."""

    def setup(self, run: RunInfo) -> None:
        """The run starts (before its data loads); an ``OSError`` here fails the run with a sentence."""

    def on_exception(self, run: RunInfo, message: str) -> None:
        """The run failed with ``message`` (before ``setup``, or after; ``Error`` follows as an event)."""

    def on_started(self, event: events.Started) -> None: ...
    def on_step(self, event: events.StepMetrics) -> None: ...
    def on_epoch(self, event: events.EpochMetrics) -> None: ...
    def on_checkpoint(self, event: events.CheckpointWritten) -> None: ...
    def on_samples(self, event: events.Samples) -> None: ...
    def on_snapshot(self, event: events.Snapshot) -> None: ...
    def on_warning(self, event: events.Warning) -> None: ...
    def on_error(self, event: events.Error) -> None: ...
    def on_paused(self, event: events.Paused) -> None: ...
    def on_resumed(self, event: events.Resumed) -> None: ...
    def on_finished(self, event: events.Finished) -> None: ...

    def __call__(self, event: events.Event) -> None:
        hook = HOOKS.get(type(event))
        if hook is not None:
            getattr(self, hook)(event)


HOOKS: dict[type, str] = {
    events.Started: "on_started", events.StepMetrics: "on_step", events.EpochMetrics: "on_epoch",
    events.CheckpointWritten: "on_checkpoint", events.Samples: "on_samples", events.Snapshot: "on_snapshot",
    events.Warning: "on_warning", events.Error: "on_error", events.Paused: "on_paused",
    events.Resumed: "on_resumed", events.Finished: "on_finished",
}


class MetricsWriter(Callback):
    """One JSON line per epoch in ``folder/metrics.jsonl``, appended. The engine repairs the file
    first (training/runfiles.py): a fresh run starts it afresh, a resumed one keeps the epochs its
    checkpoint holds."""

    def __init__(self, folder: Path):
        self.path = folder / METRICS_NAME

    def on_epoch(self, event: events.EpochMetrics) -> None:
        try:  # the engine made the folder; one deleted while training is an error, never made again
            with open(self.path, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(event.record()) + "\n")
        except OSError as error:
            raise NotWritten(f"{METRICS_NAME} was not written: {explain(error, self.path)}") from None


def read_metrics(folder: Path) -> list[dict]:
    """The epoch records of a run folder's metrics.jsonl (a half-written last line is skipped)."""
    records = []
    try:  # a bounded read of a regular file: a FIFO named metrics.jsonl must not block a listing
        lines = read_regular(folder / METRICS_NAME, MAX_METRICS_BYTES).decode("utf-8", "replace").splitlines()
    except NotReadable:
        return []
    for line in lines:
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict):
            records.append(record)
    return records
