"""The run folder's files, written as listeners of the engine's events (never by a front end):
the design and settings as trained, the manifest kept up to date, and ``best.pt``; and the record
of a start that failed before its engine could open the folder (:func:`record_failed_start`).

The engine does not know this module: a front end attaches :func:`run_listeners` to its
``Trainer(callbacks=...)``, as Lightning's callbacks come from the caller."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from cnnstudio.core.atomic import WriteFailed
from cnnstudio.runs.files import write_bytes, write_text
from cnnstudio.runs.manifest import BEST, DESIGN, LAST, MANIFEST, SETTINGS, Manifest, main_metric
from cnnstudio.runs.owner import HEARTBEAT_S, Owner, same_host
from cnnstudio.runs.snapshots import SnapshotStore
from cnnstudio.training import events
from cnnstudio.training.errors import NotWritten, TrainingError
from cnnstudio.training.listeners import METRICS_NAME, Callback, RunInfo

RUN_FILES = (LAST, METRICS_NAME)  # a folder with either holds a run, from the run store or before it


def scalars(record: dict[str, Any]) -> dict[str, Any]:
    """A metrics record without its large values (a confusion matrix), for the manifest."""
    return {k: v for k, v in record.items() if isinstance(v, (int, float, str)) and not isinstance(v, bool)}


class RunRecorder(Callback):
    """Keeps ``run.json`` true from the start (``running``) to the end (completed, stopped or failed
    with its message), and copies the epoch-end checkpoint to ``best.pt`` whenever the task's main
    validation metric improves. A resumed run continues its own manifest. While it runs, the manifest
    names its process (:class:`~cnnstudio.runs.owner.Owner`) and is rewritten at least every
    ``HEARTBEAT_S`` of steps, so a run whose process died is told from one that trains."""

    def __init__(self, folder: Path, clock: Any = time.time):
        self.folder, self.clock = folder, clock
        self.opened = False  # run.json is written from setup (open) on

    def setup(self, run: RunInfo) -> None:
        self.open(run.design, run.settings, run.resumed)

    def open(self, design: dict[str, Any], settings: dict[str, Any], resumed: bool) -> None:
        """Write design.json and settings.json and start the manifest (a resumed run continues its own)."""
        clock, folder = self.clock, self.folder
        folder.mkdir(parents=True, exist_ok=True)
        previous = Manifest.load(folder) if resumed else None
        metric, mode = main_metric(str(settings.get("task", "classification")))
        self.manifest = previous or Manifest(started=clock(), task=str(settings.get("task")), metric=metric, mode=mode)
        self.manifest.status, self.manifest.message = "running", None
        self.manifest.planned_epochs = int(settings.get("epochs", 0))
        self.manifest.resumed += previous is not None
        self.manifest.owner = Owner.current().to_json()
        self.began, self.seconds_before, self.paused = clock(), self.manifest.seconds, 0.0
        self.saved_at = self.began
        self.best_pending: int | None = None  # the epoch whose checkpoint becomes best.pt
        for name, data in ((DESIGN, design), (SETTINGS, settings)):
            write_text(folder / name, json.dumps(data, indent=1))
        self.opened = True
        self._save()

    def __call__(self, event: events.Event) -> None:
        if self.opened:
            super().__call__(event)

    def on_exception(self, run: RunInfo, message: str) -> None:
        """A failure before the folder was opened (or while opening it) is still recorded."""
        if not self.opened:
            record_failed_start(self.folder, run.design, run.settings, message)

    def _save(self) -> None:
        """The manifest is the run's record, not its work: a full disk must neither end a run nor hide
        how it ended (the checkpoint and metrics writes say so with a sentence)."""
        self.saved_at = self.clock()
        self.manifest.seconds = self.seconds_before + self.saved_at - self.began - self.paused
        try:
            self.manifest.save(self.folder)
        except (OSError, TrainingError):
            pass

    def on_step(self, event: events.StepMetrics) -> None:
        if self.clock() - self.saved_at >= HEARTBEAT_S:
            self._save()

    def on_epoch(self, event: events.EpochMetrics) -> None:
        record = scalars(event.record())
        self.manifest.epochs, self.manifest.final = event.epoch, record
        if self.manifest.better(record):
            self.manifest.best, self.best_pending = record, event.epoch
        self._save()

    def on_checkpoint(self, event: events.CheckpointWritten) -> None:
        self.manifest.global_step = event.global_step
        self.manifest.checkpoint = {"epoch": event.epoch, "global_step": event.global_step}
        if self.best_pending is not None and event.epoch == self.best_pending:
            try:
                write_bytes(self.folder / BEST, Path(event.path).read_bytes())
            except WriteFailed as error:  # a full disk: a sentence, as for last.pt
                raise NotWritten(f"the checkpoint {BEST} was not written: {error}") from None
            self.best_pending = None
        self._save()

    def on_resumed(self, event: events.Resumed) -> None:
        self.paused += event.paused_s

    def on_error(self, event: events.Error) -> None:
        self.manifest.message = event.message

    def on_finished(self, event: events.Finished) -> None:
        self.manifest.status = event.status
        self.manifest.global_step = event.global_step
        self.manifest.message = event.message or (self.manifest.message if event.status == "failed" else None)
        self._save()


def record_failed_start(folder: Path, design: dict[str, Any], settings: dict[str, Any], message: str) -> None:
    """A start that failed before the engine opened its folder (the Trainer could not be built, or
    opening the folder itself failed) still leaves a complete record: design, settings and a
    ``failed`` manifest with the sentence. Only a folder made for this start is written: one that
    exists and holds no run yet (no manifest, checkpoint or metrics: a resumed run's folder, or an
    older run's, keeps its own record); if even that fails, the folder stays as it was."""
    if not folder.is_dir() or os.path.lexists(folder / MANIFEST) or any((folder / name).is_file() for name in RUN_FILES):
        return
    recorder = RunRecorder(folder)
    try:
        recorder.open(design, settings, resumed=False)
    except (OSError, TrainingError):
        return
    recorder.on_finished(events.Finished("failed", 0, 0, None, message=message))


def run_listeners(folder: Path) -> list[Callback]:
    """What a front end attaches to a ``Trainer`` writing into ``folder`` (rank 0 only): the
    manifest and best.pt, and the views' snapshots."""
    return [RunRecorder(folder), SnapshotStore(folder)]


def record_died(folder: Path, pid: int, message: str) -> None:
    """The studio's worker process ``pid`` died while training: its run, still ``running`` and
    written by that very process, ends ``failed`` with the runner's sentence. A folder whose
    manifest says anything else, or names another process, keeps its record."""
    manifest = Manifest.load(folder)
    owner = Owner.from_json(manifest.owner) if manifest is not None else None
    if manifest is None or manifest.status != "running" or owner is None or owner.pid != pid or not same_host(owner):
        return
    manifest.status, manifest.message = "failed", message
    try:
        manifest.save(folder)
    except (OSError, TrainingError):
        pass
