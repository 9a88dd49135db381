"""Reading a design's runs back: list them, pick one (``latest``, ``best`` or by name), and the
user's edits (rename, note, delete). Every function takes the runs directory. Runs from before the
run store are listed too (:mod:`cnnstudio.runs.older`), and never edited."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from cnnstudio.runs.manifest import BEST, DESIGN, LAST, SETTINGS, Manifest
from cnnstudio.training.listeners import read_metrics


class RunError(ValueError):
    """A run that cannot be found or used; the message says which runs exist."""


@dataclass
class Run:
    path: Path
    manifest: Manifest
    older: ClassVar[bool] = False  # from before the run store (:class:`cnnstudio.runs.older.OlderRun`)

    @property
    def folder(self) -> str:
        return self.path.name

    @property
    def name(self) -> str:
        return self.manifest.title or self.path.name

    @cached_property
    def settings(self) -> dict[str, Any]:
        return _read_json(self.path / SETTINGS) or {}

    @cached_property
    def design(self) -> dict[str, Any] | None:
        return _read_json(self.path / DESIGN)

    def metrics(self) -> list[dict[str, Any]]:
        return read_metrics(self.path)

    def weights(self, prefer: str = "best") -> Path | None:
        """The run's best checkpoint (or ``prefer="last"``), falling back to the other one."""
        order = (BEST, LAST) if prefer == "best" else (LAST, BEST)
        return next((self.path / name for name in order if (self.path / name).is_file()), None)

    def best_value(self) -> float | None:
        value = (self.manifest.best or {}).get(self.manifest.metric)
        return float(value) if isinstance(value, (int, float)) else None

    def final_value(self) -> float | None:
        value = (self.manifest.final or {}).get(self.manifest.metric)
        return float(value) if isinstance(value, (int, float)) else None

    def to_json(self) -> dict[str, Any]:
        """What ``cnnstudio runs --json`` prints for one run."""
        m = self.manifest
        return {"name": self.name, "folder": self.folder, "path": str(self.path), "status": m.status,
                "message": m.message, "epochs": m.epochs, "planned_epochs": m.planned_epochs, "steps": m.global_step,
                "metric": m.metric, "best": m.best, "final": m.final,
                "started": None if self.older else time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(m.started)),
                "older": self.older,
                "seconds": round(m.seconds, 3), "note": m.note, "settings": self.settings,
                "weights": str(self.weights()) if self.weights() else None}


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def list_runs(runs: Path) -> list[Run]:
    """The runs in ``runs``, oldest first: its run folders, and runs from before the run store (the
    runs directory itself holding ``last.pt`` and ``metrics.jsonl``, or a folder holding them
    without a manifest). Folders with none of these are skipped."""
    from cnnstudio.runs.older import read_older

    found: list[Run] = []
    for folder in sorted(runs.iterdir()) if runs.is_dir() else ():
        manifest = Manifest.load(folder) if folder.is_dir() else None
        run = Run(folder, manifest) if manifest is not None else read_older(folder) if folder.is_dir() else None
        if run is not None:
            found.append(run)
    itself = read_older(runs, runs_directory=True) if runs.is_dir() else None
    found += [itself] if itself is not None else []
    return sorted(found, key=lambda run: (not run.older, run.manifest.started, run.folder))


def pick_run(runs: Path, which: str) -> Run:
    """``latest``; ``best`` (the best main metric among runs that have one); or a run's folder name,
    its given name, or a unique start of either."""
    found = list_runs(runs)
    if not found:
        raise RunError(f"no runs in {runs}: train the design first (cnnstudio train)")
    if which == "latest":
        return found[-1]
    if which == "best":
        scored = [run for run in found if run.best_value() is not None]
        if not scored:
            raise RunError("no run has a validation metric yet; use --run latest")
        maximize = scored[-1].manifest.mode == "max"
        return (max if maximize else min)(scored, key=lambda run: run.best_value())
    exact = [run for run in found if which in (run.folder, run.name)]
    matches = exact or [run for run in found if run.folder.startswith(which) or run.name.startswith(which)]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(run.name for run in found[-5:])
    reason = "is ambiguous" if matches else "matches no run"
    raise RunError(f"'{which}' {reason}; the runs are: {names} (or say latest or best)")


def rename(run: Run, title: str) -> None:
    _editable(run)
    run.manifest.title = title.strip() or None
    run.manifest.save(run.path)


def set_note(run: Run, note: str) -> None:
    _editable(run)
    run.manifest.note = note
    run.manifest.save(run.path)


def delete(run: Run) -> None:
    _editable(run)
    shutil.rmtree(run.path)


def _editable(run: Run) -> None:
    """An older run's files are the user's, as they were: none is written, moved or deleted (its
    folder may be the runs directory itself, holding every other run)."""
    if run.older:
        raise RunError(f"{run.name} is an older run, from before the run store: its files are left as they are")
