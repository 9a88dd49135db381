"""How a run reads in a list: the cells of ``cnnstudio runs`` and of the studio's Runs panel.

Both front ends call :func:`run_cells`, so a duration is rounded the same way, the first run's
"changes" say the same thing and a note shows in both; they differ only in how they draw a row
(text columns, a table widget) and where a failed run's message goes. :func:`sweep_cells` is the
row the Runs panel puts over a sweep's trials.
"""

from __future__ import annotations

import time
from collections import Counter
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


def sweep_of(run: Run) -> str | None:
    """The name of the sweep ``run`` is a trial of (None: an ordinary run; run.json's rules keep it a string)."""
    return (run.manifest.sweep or {}).get("name")


def trial_state(run: Run) -> str:
    """A trial's state in a sweep's words (complete, pruned, failed, running, interrupted, ...)."""
    if (run.manifest.sweep or {}).get("pruned"):
        return "pruned"
    return {"completed": "complete"}.get(run.state.status, run.state.status)


def best_trial(trials: list[Run]) -> Run | None:
    """The complete trial with the best main metric (the sweep's direction is its runs' mode)."""
    scored = [run for run in trials if trial_state(run) == "complete" and run.best_value() is not None]
    if not scored:
        return None
    pick = max if scored[0].manifest.mode == "max" else min
    return pick(scored, key=lambda run: run.best_value())


def sweep_cells(name: str, trials: list[Run]) -> RunCells:
    """The row of a sweep over its trials: how many, how they ended, the best one and their time."""
    counts = Counter(trial_state(run) for run in trials)
    best = best_trial(trials)
    return RunCells(
        name=name,
        started=time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(min(run.manifest.started for run in trials))),
        status=", ".join(f"{count} {state}" for state, count in counts.most_common()),
        epochs=f"{len(trials)} trial{'s' * (len(trials) != 1)}",
        best="–" if best is None else f"{metric_text(best, best.best_value())} (trial {best.manifest.sweep['trial']})",
        final="",
        time=duration(sum(run.manifest.seconds for run in trials)),
        changes="",
        note="",
    )
