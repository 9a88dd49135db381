"""Where a design's runs live, and the one function that decides a run's folder."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from cnnstudio.core.atomic import WriteFailed, explain
from cnnstudio.core.display import file_stem
from cnnstudio.runs.manifest import MANIFEST

RUNS = "runs"
TAGGED = ("lr", "batch_size", "epochs", "optimizer", "schedule", "task", "data", "weight_decay", "seed")
SHORT = {"lr": "lr", "batch_size": "bs", "epochs": "ep", "optimizer": "", "schedule": "", "task": "", "data": "",
         "weight_decay": "wd", "seed": "seed"}
MAX_TAGS = 2


def runs_dir(design_path: str | os.PathLike[str] | None, design_name: str, unsaved_base: Path | None = None) -> Path:
    """``runs/<stem>`` beside the design file; for an unsaved design, under ``unsaved_base``
    (the studio's data folder) or the working directory."""
    if design_path is not None:
        path = Path(design_path)
        return path.parent / RUNS / file_stem(path.stem)
    return (unsaved_base or Path.cwd()) / RUNS / file_stem(design_name)


def run_folder(runs: Path, settings: dict[str, Any], *, design: dict[str, Any] | None = None,
               out: str | os.PathLike[str] | None = None, resume: str | os.PathLike[str] | None = None,
               now: float | None = None) -> Path:
    """The folder a start writes to (:class:`WriteFailed` when it cannot be made): ``out`` when named; a resumed run's own folder (its
    checkpoint's); else a new folder in ``runs``, named by the start time and what sets this run
    apart from the previous one (``2026-12-01_14-03-22_lr0.01``, ``..._+dropout1``: settings first,
    else the design, a design-file object), never an existing one: the folder is created here,
    exclusively, so simultaneous starts each keep their own (``..._lr0.01-2``)."""
    if out is not None:
        return Path(out)
    if resume is not None:
        return Path(resume).parent
    stamp = time.strftime("%Y-%m-%d_%H-%M-%S", time.localtime(now))
    return new_folder(runs, "_".join([stamp, *_tags(settings, design, _previous(runs))]))


def new_folder(runs: Path, name: str) -> Path:
    """``runs/name``, or ``name-2``, ``name-3``... where taken, made here exclusively, so starts at
    the same time (other processes) each get their own (a sweep's trials are named by this too)."""
    folder, n = runs / name, 2
    while True:
        try:
            runs.mkdir(parents=True, exist_ok=True)
            folder.mkdir()
            return folder
        except FileExistsError:
            folder, n = runs / f"{name}-{n}", n + 1
        except OSError as error:  # the runs directory is a file, read-only, on a full disk
            raise WriteFailed(error, f"the run's folder cannot be made: {explain(error, folder / MANIFEST)}") from None


def _tags(settings: dict[str, Any], design: dict[str, Any] | None, previous: Any) -> list[str]:
    """Up to two settings that differ from the previous run's (the learning rate for a first run),
    else up to two nodes of the design that were added or changed."""
    if previous is None:
        return [_safe(f"lr{settings['lr']}")] if "lr" in settings else []
    changed = [key for key in TAGGED if key in settings and settings.get(key) != previous.settings.get(key)]
    if changed:
        return [_safe(f"{SHORT[key]}{settings[key]}") for key in changed[:MAX_TAGS]]
    if design is None:
        return []
    from cnnstudio.runs.diff import design_diff

    diff = design_diff(previous.design, design)
    return [_safe(tag) for tag in ([f"+{n}" for n in diff.added] + list(diff.changed) + [f"-{n}" for n in diff.removed])[:MAX_TAGS]]


def _safe(tag: str) -> str:
    return re.sub(r"[^\w.+-]+", "-", tag)


def _previous(runs: Path) -> Any:
    from cnnstudio.runs.store import list_runs

    found = list_runs(runs)
    return found[-1] if found else None


def move_runs(old: Path, new: Path) -> bool:
    """Move a design's runs directory along (Save As); False when there is nothing to move or the
    new place already has runs (then both stay where they are)."""
    if old == new or not old.is_dir() or new.exists():
        return False
    new.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(str(old), str(new))
    return True
