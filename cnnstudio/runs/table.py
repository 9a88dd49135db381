"""How a run reads in a list: the cells of ``cnnstudio runs`` and of the studio's Runs panel.

Both front ends call :func:`run_cells`, so a duration is rounded the same way, the first run's
"changes" say the same thing and a note shows in both; they differ only in how they draw a row
(text columns, a table widget) and where a failed run's message goes.
"""

from __future__ import annotations

import time
from dataclasses import astuple, dataclass

from cnnstudio.runs.diff import changes
from cnnstudio.runs.older import OLDER
from cnnstudio.runs.store import Run

HEADER = ("name", "started", "status", "epochs", "best", "final", "time", "changes", "note")
FIRST_RUN = "first run"  # what the first run of a design changed


@dataclass(frozen=True)
class RunCells:
    """One run's row, as text (in :data:`HEADER`'s order)."""

    name: str
    started: str
    status: str
    epochs: str
    best: str
    final: str
    time: str
    changes: str
    note: str

    def texts(self) -> tuple[str, ...]:
        return astuple(self)


def duration(seconds: float) -> str:
    """``42 s``, ``3:05``, ``1:02:03``: rounded to the nearest second."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def run_changes(run: Run, previous: Run | None) -> str:
    """What ``run`` changed from the run before it (:data:`FIRST_RUN` for the first one)."""
    if previous is None:
        return FIRST_RUN
    return changes(previous.settings, run.settings, previous.design, run.design)


def metric_text(run: Run, value: float | None) -> str:
    """``accuracy 0.9841``, or ``–`` when the run has no such value."""
    return "–" if value is None else f"{run.manifest.metric.removeprefix('val_')} {value:.4g}"


def run_cells(run: Run, previous: Run | None) -> RunCells:
    """The row of ``run`` in a list of runs, ``previous`` being the run before it (or None)."""
    m = run.manifest
    state = run.state
    return RunCells(
        name=run.name,
        started=OLDER if run.older else time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(m.started)),
        status=OLDER if state.status == "unknown" else "pruned" if (m.sweep or {}).get("pruned") else state.text(),
        epochs=f"{m.epochs}/{m.planned_epochs or '?'}",
        best=metric_text(run, run.best_value()),
        final=metric_text(run, run.final_value()),
        time=duration(m.seconds) if m.seconds or not run.older else OLDER,
        changes=run_changes(run, previous),
        note=" ".join(m.note.split()),  # a note of several lines reads on one
    )
