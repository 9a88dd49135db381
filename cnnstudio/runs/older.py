"""Runs from before the run store, listed as they are: never moved, renamed or rewritten.

Before the run store a start wrote ``last.pt`` and ``metrics.jsonl`` straight into the design's
runs directory (``runs/<design>/last.pt``, each start replacing the previous one), or into the
folder ``--out`` named; there was no ``run.json``, ``design.json`` or ``settings.json``. Such a
folder is read here from what it has: the checkpoint's plain values (design, settings, epoch and
steps, read without torch: :func:`checkpoint_header`) and the metrics' epochs (best, final, time).
What neither says, the start time and, for a run that did not finish, how it ended, stays unknown
and the front ends say "older run".
"""

from __future__ import annotations

import collections
import io
import pickle
import zipfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from stat import S_ISREG
from typing import Any, ClassVar

from cnnstudio.runs.manifest import LAST, MAIN_METRIC, Manifest, main_metric
from cnnstudio.runs.recorder import RUN_FILES, scalars
from cnnstudio.runs.store import Run
from cnnstudio.training.listeners import METRICS_NAME, read_metrics

OLDER = "older run"  # what the front ends show for a field an older run does not record
MAX_HEADER_BYTES = 64 * 2**20  # the pickle beside the tensors: small, unless the file is not a checkpoint


@dataclass
class OlderRun(Run):
    """A run folder from before the run store; its design and settings come from its checkpoint."""

    header: dict[str, Any] = field(default_factory=dict)
    older: ClassVar[bool] = True

    @property  # type: ignore[override]
    def settings(self) -> dict[str, Any]:
        settings = self.header.get("settings")
        return settings if isinstance(settings, dict) else {}

    @property  # type: ignore[override]
    def design(self) -> dict[str, Any] | None:
        design = self.header.get("design")
        return design if isinstance(design, dict) else None


def read_older(folder: Path, runs_directory: bool = False) -> OlderRun | None:
    """The older run in ``folder``: one with a run's files but no manifest. None when it has a
    manifest (a run of the run store), or neither a readable checkpoint nor metrics. ``runs_directory``:
    ``folder`` is the design's runs directory itself; if ``--resume`` continued its run under the
    run store, the manifest it wrote is used, and the run stays read-only all the same."""
    manifest = Manifest.load(folder)
    if (manifest is not None and not runs_directory) or not any((folder / n).is_file() for n in RUN_FILES):
        return None
    header = checkpoint_header(folder / LAST) or {}
    records = read_metrics(folder)
    if manifest is not None:
        return OlderRun(folder, manifest, header)
    if not header and not records:
        return None
    settings = header.get("settings") if isinstance(header.get("settings"), dict) else {}
    task = str(settings.get("task") or _task_of(records))
    metric, mode = main_metric(task)
    planned = settings.get("epochs") if isinstance(settings.get("epochs"), int) else 0
    done = header.get("epoch") if isinstance(header.get("epoch"), int) else max(
        (r["epoch"] for r in records if isinstance(r.get("epoch"), int)), default=0)
    finished = planned > 0 and done >= planned and not header.get("step")
    manifest = Manifest(started=_written(folder), status="completed" if finished else "unknown", task=task,
                        metric=metric, mode=mode, epochs=done, planned_epochs=planned,
                        global_step=header.get("global_step") if isinstance(header.get("global_step"), int) else 0,
                        seconds=sum(r["seconds"] for r in records if isinstance(r.get("seconds"), (int, float))))
    for record in map(scalars, records):
        if manifest.better(record):
            manifest.best = record
        manifest.final = record
    return OlderRun(folder, manifest, header)


def _task_of(records: list[dict[str, Any]]) -> str:
    """Without a checkpoint: the task whose main metric the metrics have (classification if none)."""
    keys = {key for record in records for key in record}
    return next((task for task, (metric, _) in MAIN_METRIC.items() if metric in keys), "classification")


def _written(folder: Path) -> float:
    """When the run's files were first written, as near as their times tell: for ordering only."""
    times = [(folder / name).stat().st_mtime for name in (METRICS_NAME, LAST) if (folder / name).is_file()]
    return min(times, default=0.0)


def checkpoint_header(path: Path) -> dict[str, Any] | None:
    """A checkpoint's plain values (design, settings, epoch, steps; every tensor left out), read
    without importing torch, so listing runs stays fast and the studio's window never waits for it;
    None when the file is not a readable checkpoint. Cached by the file's size and time."""
    try:
        stat = path.stat()
    except OSError:
        return None
    if not S_ISREG(stat.st_mode):  # a FIFO named last.pt would block the listing forever
        return None
    return _header(str(path), stat.st_size, stat.st_mtime_ns)


@lru_cache(maxsize=64)
def _header(path: str, size: int, mtime_ns: int) -> dict[str, Any] | None:
    try:
        with zipfile.ZipFile(path) as archive:
            name = next((n for n in archive.namelist() if n.endswith("/data.pkl") or n == "data.pkl"), None)
            if name is None or archive.getinfo(name).file_size > MAX_HEADER_BYTES:
                return None
            data = _HeaderReader(io.BytesIO(archive.read(name))).load()
    except (OSError, zipfile.BadZipFile, pickle.UnpicklingError, ValueError, TypeError, EOFError,
            AttributeError, IndexError, KeyError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


class _HeaderReader(pickle.Unpickler):
    """Unpickles torch's ``data.pkl`` with every tensor and storage as None. It accepts only torch's
    own names (never imported: they become a function that returns None) and ``OrderedDict``, so
    reading a file someone sent cannot run code."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if module == "torch" or module.startswith("torch."):
            return _left_out
        raise pickle.UnpicklingError(f"{module}.{name} is not part of a checkpoint")

    def persistent_load(self, pid: Any) -> None:
        return None


def _left_out(*args: Any, **kwargs: Any) -> None:
    return None
