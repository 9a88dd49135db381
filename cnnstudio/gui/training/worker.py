"""What runs a training job, in a studio thread or in a worker process; Qt-free.

The studio's :class:`~cnnstudio.gui.training.runner.TrainingRunner` hands a :class:`Job` to
:func:`train` (thread mode) or starts :func:`process_main` in a spawned process (process mode).
Both build the :class:`~cnnstudio.training.engine.Trainer` in the worker, so importing torch and
loading the data never block the window, and both buffer control calls made before the trainer
exists. Nothing here imports Qt: a spawned worker imports this module and nothing of the window.
"""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from cnnstudio.core.designfile import from_dict
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import TrainingSettings

Emit = Callable[[object], None]
GUI_CORES = 1  # cores left to the window (drawing curves and views) while a run trains beside it


@dataclass(frozen=True)
class Job:
    """One run, as plain data: the design is a design-file object, a snapshot taken at start."""

    design: dict[str, Any]
    settings: TrainingSettings
    out_dir: str
    resume_checkpoint: str | None = None


class Controls:
    """Calls to the trainer from other threads; those made before it exists wait for it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trainer: Any = None
        self._pending: list[tuple[str, tuple[Any, ...]]] = []

    def call(self, name: str, *args: Any) -> None:
        with self._lock:
            if self._trainer is None:
                self._pending.append((name, args))
                return
            trainer = self._trainer
        getattr(trainer, name)(*args)

    def attach(self, trainer: Any) -> None:
        with self._lock:
            self._trainer = trainer
            pending, self._pending = self._pending, []
        for name, args in pending:
            getattr(trainer, name)(*args)


def resume_overrides(settings: TrainingSettings) -> dict[str, Any]:
    """What the studio may change when a checkpoint's run continues: its length, device and decoding workers."""
    return {"epochs": settings.epochs, "device": settings.device, "workers": settings.workers}


def train(job: Job, emit: Emit, controls: Controls) -> None:
    """Run ``job`` to its end, reporting through ``emit``; every failure ends as Error + Finished."""
    from cnnstudio.runs.recorder import run_listeners
    from cnnstudio.training import threads
    from cnnstudio.training.engine import Trainer
    from cnnstudio.training.thread_tuner import ThreadTuner

    # all cores first (the window is idle most of the time), then one left to the window; the tuner keeps the faster
    tuner = ThreadTuner((threads.plan(), threads.plan(reserve=GUI_CORES)), threads.set_count)

    def on_event(event: Any) -> None:
        tuner(event)
        emit(event)

    listening = {"out_dir": job.out_dir, "on_event": on_event, "callbacks": run_listeners(Path(job.out_dir))}
    try:
        if job.resume_checkpoint:
            trainer = Trainer.from_checkpoint(job.resume_checkpoint, resume_overrides(job.settings), **listening)
        else:
            trainer = Trainer(from_dict(job.design), job.settings, **listening)
    except TrainingError as error:
        return _failed(emit, str(error), job)
    except Exception as error:  # a bug of ours: a message in the log, never a traceback
        return _failed(emit, f"internal error: {type(error).__name__}: {error}", job)
    controls.attach(trainer)
    trainer.run()  # reports its own errors and ends with Finished


def _failed(emit: Emit, message: str, job: Job) -> None:
    from cnnstudio.training import events

    record_failure(job, message)
    emit(events.Error(message))
    emit(events.Finished("failed", 0, 0, None))


def record_failure(job: Any, message: str, pid: int | None = None) -> None:
    """A training job that ended before its Trainer ran (it could not be built, or its process
    died): the run folder made for it keeps the failure; if process ``pid`` died mid-training, its
    run's ``running`` manifest ends failed with ``message``. Other jobs (syntheses) have no folder."""
    from cnnstudio.runs.recorder import record_died, record_failed_start

    if isinstance(job, Job):
        record_failed_start(Path(job.out_dir), job.design, job.settings.to_dict(), message)
        if pid is not None:
            record_died(Path(job.out_dir), pid, message)


def process_main(job: Any, queue: Any, control: Connection,
                 target: Callable[[Any, Emit, Controls], None] = train) -> None:
    """A worker process running ``target`` (training by default): events go back pickled (tensors
    copied, not shared), calls come in on ``control``; when the studio goes away the pipe closes and
    the run stops (training with a checkpoint)."""
    controls = Controls()

    def listen() -> None:
        while True:
            try:
                name, args = control.recv()
            except (EOFError, OSError):
                controls.call("stop")
                return
            try:
                controls.call(name, *args)
            except Exception as error:  # a wrong call must not end the listener (stop needs it)
                from cnnstudio.training import events

                queue.put(pickle.dumps(events.Warning(f"the trainer could not do {name}: {error}")))

    threading.Thread(target=listen, name="training-control", daemon=True).start()
    target(job, lambda event: queue.put(pickle.dumps(event)), controls)
    queue.close()
    queue.join_thread()
