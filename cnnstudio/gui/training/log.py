"""The run's log: when it started, warnings, errors, checkpoints and how it ended, timestamped.

Errors stand out in the error colour and bold; they are the engine's sentences, never tracebacks.
Pause and resume are logged with where the run stood (epoch and step from 1, as everywhere).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout, QWidget

from cnnstudio.gui import theme
from cnnstudio.gui.describe import plural
from cnnstudio.training import events

Kind = Literal["info", "warning", "error"]


@dataclass(frozen=True)
class LogEntry:
    time: str
    kind: Kind
    message: str


def describe(event: Any) -> tuple[Kind, str] | None:
    """What the log says about an engine event (None: nothing, e.g. step metrics)."""
    if isinstance(event, events.Started):
        resumed = f", resuming at step {event.start_step:,}" if event.start_step else ""
        streamed = " (streamed from disk)" if event.streaming else ""
        return "info", (f"Started on {event.device}: {event.train_samples:,} training samples{streamed}, validating on "
                        f"{event.validation}, {event.steps_per_epoch:,} steps per epoch{resumed}")
    if isinstance(event, events.EpochMetrics):
        metrics = "".join(f", {k.removeprefix('val_')} {v:.4g}" for k, v in event.metrics.items() if isinstance(v, float))
        return "info", f"Epoch {event.epoch}: train loss {event.train_loss:.4g}, validation loss {event.val_loss:.4g}{metrics}"
    if isinstance(event, events.CheckpointWritten):
        return "info", f"Checkpoint {Path(event.path).name} written (after epoch {event.epoch}, step {event.global_step:,} of the run)"
    if isinstance(event, events.Paused):
        return "info", f"Paused at {events.where(event.epoch, event.step, 0, event.global_step)}"
    if isinstance(event, events.Resumed):
        return "info", f"Resumed after a pause of {event.paused_s:.0f} s"
    if isinstance(event, events.Warning):
        return "warning", event.message
    if isinstance(event, events.Error):
        return "error", event.message
    if isinstance(event, events.Finished) and event.status == "stopped" and event.message:
        return "warning", f"Training stopped at {event.where()}, but {event.message}"
    if isinstance(event, events.Finished):
        text = {"completed": f"Training completed ({plural(event.epoch, 'epoch')}, {plural(event.global_step, 'step')})",
                "stopped": f"Training stopped at {event.where()}; the checkpoint lets it resume",
                "failed": "Training failed (see the error above)"}[event.status]
        return ("error" if event.status == "failed" else "info"), text
    return None


class EventLog(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.entries: list[LogEntry] = []
        self.list = QListWidget()
        self.list.setWordWrap(True)
        self.list.setAlternatingRowColors(True)
        self.list.setUniformItemSizes(False)
        clear = QPushButton("Clear")
        clear.setToolTip("Empty the log (the run's files are kept)")
        clear.clicked.connect(self.clear)
        self.count = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(self.count, 1)
        bar.addWidget(clear)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.list, 1)
        layout.addLayout(bar)
        self._update_count()

    def on_event(self, event: object) -> None:
        described = describe(event)
        if described is not None:
            self.add(*described)

    def add(self, kind: Kind, message: str) -> None:
        entry = LogEntry(time.strftime("%H:%M:%S"), kind, message)
        self.entries.append(entry)
        item = QListWidgetItem(f"{entry.time}   {message}")
        colors = theme.colors()
        if kind != "info":
            item.setForeground(colors.error if kind == "error" else colors.warning)
        if kind == "error":
            font = QFont(self.list.font())
            font.setBold(True)
            item.setFont(font)
        item.setToolTip(message)
        self.list.addItem(item)
        self.list.scrollToBottom()
        self._update_count()

    def clear(self) -> None:
        self.entries.clear()
        self.list.clear()
        self._update_count()

    def _update_count(self) -> None:
        errors = sum(entry.kind == "error" for entry in self.entries)
        warnings = sum(entry.kind == "warning" for entry in self.entries)
        self.count.setText(", ".join(p for p in (plural(errors, "error"), plural(warnings, "warning")) if p) or "No problems")
