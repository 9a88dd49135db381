"""Reading a design's runs back: list them, pick one (by default the best completed run, or
``latest``, ``best`` or by name), and the user's edits (rename, note, delete). Every function takes the runs directory. Runs from before the
run store are listed too (:mod:`cnnstudio.runs.older`), and never edited."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, ClassVar

from cnnstudio.core.regular import NotReadable, read_regular
from cnnstudio.runs.manifest import BEST, DESIGN, LAST, MANIFEST, SETTINGS, DamagedManifest, Manifest, Status
from cnnstudio.runs.owner import STALE_AFTER_S, Owner, age_s
from cnnstudio.training.listeners import read_metrics


class RunError(ValueError):
    """A run that cannot be found or used; the message says which runs exist."""


@dataclass(frozen=True)
class RunState:
    """A run's status as shown: the manifest's, except that a ``running`` run whose process is gone
    is ``interrupted``. ``detail``: what is known of it (where it runs, where it can continue)."""

    status: Status
    detail: str = ""
    host: str | None = None  # another host's run
    resume: Path | None = None  # the checkpoint an interrupted run continues from

    def text(self) -> str:
        """``interrupted`` or ``running (on HOST)``, for tables."""
        return f"{self.status} (on {self.host})" if self.host and self.status == "running" else self.status


@dataclass
class Run:
    path: Path
    manifest: Manifest
    older: ClassVar[bool] = False  # from before the run store (:class:`cnnstudio.runs.older.OlderRun`)
    damaged: ClassVar[bool] = False  # its run.json cannot be used (:class:`DamagedRun`)

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

    @cached_property
    def state(self) -> RunState:
        """Read once, when listed: whether a ``running`` run's process still runs (nothing is written)."""
        m = self.manifest
        owner = Owner.from_json(m.owner)
        if m.status != "running" or self.older or owner is None:
            return RunState(m.status)
        liveness = owner.liveness()
        if liveness == "alive":
            return RunState("running", f"process {owner.pid}")
        if liveness == "elsewhere":
            age = age_s(self.path / MANIFEST)
            if age <= STALE_AFTER_S:
                return RunState("running", f"on {owner.host}, process {owner.pid}", host=owner.host)
            why = (f"on {owner.host}, its run.json not written for {_hours(age)} (a training run writes it every "
                   f"minute; shown as interrupted after {_hours(STALE_AFTER_S)}: if it is paused there, it still runs)")
        else:
            why = f"its process ({owner.pid} on {owner.host}) is gone"
        last = self.path / LAST
        if not last.is_file():
            return RunState("interrupted", f"{why}; no checkpoint was written: start it again")
        at = m.checkpoint or {"epoch": m.epochs, "global_step": m.global_step}
        return RunState("interrupted", f"{why}; its last checkpoint is {last}, after epoch {at.get('epoch', 0)} "
                        f"(step {at.get('global_step', 0):,} of the run)", resume=last)

    def resume_command(self, design: str) -> str | None:
        """How an interrupted run continues, in its own folder."""
        return f"cnnstudio train {design} --resume {self.state.resume}" if self.state.resume else None

    def best_value(self) -> float | None:
        value = (self.manifest.best or {}).get(self.manifest.metric)
        return float(value) if isinstance(value, (int, float)) else None

    def best_text(self) -> str:
        """``best accuracy 98.4%`` (fractions as percentages), or that it has no validation metric."""
        value = self.best_value()
        name = self.manifest.metric.removeprefix("val_").replace("_", " ")
        if value is None:
            return f"no {name} yet"
        return f"best {name} " + (f"{value:.1%}" if self.manifest.mode == "max" else f"{value:.4g}")

    def final_value(self) -> float | None:
        value = (self.manifest.final or {}).get(self.manifest.metric)
        return float(value) if isinstance(value, (int, float)) else None

    def to_json(self) -> dict[str, Any]:
        """What ``cnnstudio runs --json`` prints for one run."""
        m = self.manifest
        state = self.state
        return {"name": self.name, "folder": self.folder, "path": str(self.path), "status": state.status,
                "message": m.message, "detail": state.detail or None, "host": state.host,
                "resume": str(state.resume) if state.resume else None, "epochs": m.epochs, "planned_epochs": m.planned_epochs, "steps": m.global_step,
                "metric": m.metric, "best": m.best, "final": m.final,
                "started": None if self.older else time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(m.started)),
                "older": self.older,
                "seconds": round(m.seconds, 3), "note": m.note, "settings": self.settings, "sweep": m.sweep,
                "weights": str(self.weights()) if self.weights() else None}


def _hours(seconds: float) -> str:
    return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{int(seconds // 60)} min"


MAX_JSON_BYTES = 64 * 2**20  # design.json and settings.json: a design file's own bound, and more


def _read_json(path: Path) -> dict[str, Any] | None:
    """A run's design.json or settings.json, or None when it is missing, not a regular file (a FIFO
    would block), too big, or not a JSON object."""
    try:
        data = json.loads(read_regular(path, MAX_JSON_BYTES, "a JSON file").decode("utf-8"))
    except (NotReadable, ValueError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


@dataclass
class DamagedRun(Run):
    """A run folder whose run.json cannot be used (not a regular file, not JSON, a wrong type):
    listed, with the reason, so nothing is hidden; never picked as latest or best, never edited
    (it may be deleted)."""

    reason: str = ""
    damaged: ClassVar[bool] = True

    @classmethod
    def of(cls, folder: Path, reason: str) -> DamagedRun:
        try:
            written = folder.stat().st_mtime
        except OSError:
            written = 0.0
        return cls(folder, Manifest(started=written, status="damaged"), reason)

    @cached_property
    def state(self) -> RunState:
        return RunState("damaged", self.reason)

    def weights(self, prefer: str = "best") -> Path | None:
        return None


def _read_run(folder: Path) -> Run | None:
    """The run in ``folder``: a run of the run store, a damaged one, an older one, or None."""
    from cnnstudio.runs.older import read_older

    try:
        manifest = Manifest.read(folder)
    except DamagedManifest as error:
        return DamagedRun.of(folder, str(error))
    return Run(folder, manifest) if manifest is not None else read_older(folder)


def list_runs(runs: Path) -> list[Run]:
    """The runs in ``runs``, oldest first: its run folders (a damaged one as :class:`DamagedRun`),
    and runs from before the run store (the runs directory itself holding ``last.pt`` and
    ``metrics.jsonl``, or a folder holding them without a manifest). Folders with none of these
    are skipped."""
    from cnnstudio.runs.older import read_older

    found: list[Run] = []
    for folder in sorted(runs.iterdir()) if runs.is_dir() else ():
        run = _read_run(folder) if folder.is_dir() else None
        if run is not None:
            found.append(run)
    itself = read_older(runs, runs_directory=True) if runs.is_dir() else None
    found += [itself] if itself is not None else []
    return sorted(found, key=lambda run: (not run.older, run.manifest.started, run.folder))


def pick_run(runs: Path, which: str | None = None) -> Run:
    """None: :func:`default_run`; ``latest`` (the newest); ``best`` (the best main metric among runs
    that have one, finished or not); or a run's folder name, its given name, or a unique start of
    either. Every choice but a named run skips damaged runs; naming one is a :class:`RunError` with
    its reason."""
    listed = list_runs(runs)
    found = [run for run in listed if not run.damaged]
    if not found:
        damaged = f" (only damaged ones: {_damaged_list(listed)})" if listed else ""
        raise RunError(f"no runs in {runs}{damaged}: train the design first (cnnstudio train)")
    if which is None:
        chosen = default_run(found)
        if chosen is None:
            raise RunError(f"no run in {runs} has a checkpoint yet; train the design first (cnnstudio train)")
        return chosen
    if which == "latest":
        return found[-1]
    if which == "best":
        scored = [run for run in found if run.best_value() is not None]
        if not scored:
            raise RunError("no run has a validation metric yet; use --run latest")
        return _best(scored)
    exact = [run for run in listed if which in (run.folder, run.name)]
    matches = exact or [run for run in listed if run.folder.startswith(which) or run.name.startswith(which)]
    if len(matches) == 1 and isinstance(matches[0], DamagedRun):
        raise RunError(f"the run {matches[0].folder} is damaged: {matches[0].reason}")
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(run.name for run in found[-5:])
    reason = "is ambiguous" if matches else "matches no run"
    raise RunError(f"'{which}' {reason}; the runs are: {names} (or say latest or best)")


def default_run(found: list[Run]) -> Run | None:
    """Whose weights are used when no run is named (export, visualize, stylize, the studio's views
    and exports): the best completed run by the task's main metric, not the newest (a later
    experiment may be worse); without a completed one, the newest run with a checkpoint."""
    weighted = [run for run in found if not run.damaged and run.weights() is not None]
    completed = [run for run in weighted if run.manifest.status == "completed" and run.best_value() is not None]
    if completed:
        return _best([run for run in completed if run.manifest.metric == completed[-1].manifest.metric])
    return weighted[-1] if weighted else None


def why_default(run: Run) -> str:
    """Why :func:`default_run` chose ``run``, for the line that says which weights are used."""
    if run.manifest.status == "completed":
        return "the best completed run"
    return "the newest run with a checkpoint: no run has completed"


def _best(scored: list[Run]) -> Run:
    """The best by the main metric; of equals, the newest."""
    sign = 1 if scored[-1].manifest.mode == "max" else -1
    return max(reversed(scored), key=lambda run: sign * (run.best_value() or 0.0))


def _damaged_list(runs: list[Run]) -> str:
    return "; ".join(f"{run.folder}: {run.reason}" for run in runs if isinstance(run, DamagedRun))


def rename(run: Run, title: str) -> None:
    _editable(run)
    run.manifest.title = title.strip() or None
    run.manifest.save(run.path)


def set_note(run: Run, note: str) -> None:
    _editable(run)
    run.manifest.note = note
    run.manifest.save(run.path)


def delete(run: Run) -> None:
    _editable(run, deleting=True)
    shutil.rmtree(run.path)


def _editable(run: Run, deleting: bool = False) -> None:
    """An older run's files are the user's, as they were: none is written, moved or deleted (its
    folder may be the runs directory itself, holding every other run)."""
    if run.older:
        raise RunError(f"{run.name} is an older run, from before the run store: its files are left as they are")
    if isinstance(run, DamagedRun) and not deleting:
        raise RunError(f"{run.folder} is damaged ({run.reason}): it can only be deleted")
