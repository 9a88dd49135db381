"""Runs the engine beside the window and brings its events back to the GUI thread.

``TrainingRunner`` is the one object the studio's training panels and live views talk to:

* ``event`` (Signal(object)): every engine event object, in order, on the GUI thread. Any event
  dataclass is forwarded as it is, including types added to ``cnnstudio.training.events`` later.
* ``running_changed`` (Signal(bool)).
* ``start(design, settings, out_dir, resume_checkpoint=None)``, ``start_job(job, target)`` (any
  other background work built like training: style transfer, feature visualisation), ``pause()``, ``resume()``,
  ``stop()``, ``call(method_name, *args)`` (calls that Trainer method; in process mode the call is
  pickled over the control pipe), ``is_running()``, ``mode`` ("thread" or "process").

In thread mode the Trainer runs in a Python thread of the studio; in process mode in a spawned
process whose events come back pickled through a multiprocessing queue. Training in a process keeps
torch's work off the studio's interpreter (the GIL) entirely; bench/bench_studio_training.py
measures both. The Trainer copies the design, and the runner hands it a snapshot taken at start,
so editing the design while it trains changes nothing in the run.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import pickle
import queue
import threading
from collections.abc import Callable
from typing import Any, Literal, Protocol

from PySide6.QtCore import QEventLoop, QObject, Qt, QTimer, Signal

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import to_dict
from cnnstudio.gui.training.worker import Controls, Emit, Job, process_main, record_failure, train
from cnnstudio.training import events
from cnnstudio.training.settings import TrainingSettings

Target = Callable[[Any, Emit, Controls], None]  # a module-level function, so a spawned process finds it

Mode = Literal["thread", "process"]
MODES: dict[str, str] = {"process": "a separate process", "thread": "a studio thread"}
POLL_S = 0.2


class _Backend(Protocol):
    def start(self, job: Any, emit: Emit, target: Target) -> None: ...
    def call(self, name: str, *args: Any) -> None: ...
    def join(self, timeout: float) -> bool: ...


class _ThreadBackend:
    def __init__(self) -> None:
        self.controls = Controls()
        self.thread: threading.Thread | None = None

    def start(self, job: Any, emit: Emit, target: Target) -> None:
        if isinstance(job, Job):
            # Streamed images are decoded in this thread: worker processes forked from the studio would copy
            # Qt's threads mid-flight (the worker process of process mode forks its own, safely).
            job = dataclasses.replace(job, settings=dataclasses.replace(job.settings, workers=0))
        self.thread = threading.Thread(target=target, args=(job, emit, self.controls), name="training", daemon=True)
        self.thread.start()

    def call(self, name: str, *args: Any) -> None:
        self.controls.call(name, *args)

    def join(self, timeout: float) -> bool:
        assert self.thread is not None
        self.thread.join(timeout)
        return not self.thread.is_alive()


class _ProcessBackend:
    """A spawned worker (daemon: it cannot outlive the studio) and a thread reading its events."""

    def start(self, job: Any, emit: Emit, target: Target) -> None:
        context = multiprocessing.get_context("spawn")
        self.queue = context.Queue()
        receive, self.control = context.Pipe(duplex=False)
        self.process = context.Process(target=process_main, args=(job, self.queue, receive, target),
                                       name="cnnstudio-training", daemon=True)
        self.job = job
        self.process.start()
        receive.close()  # the worker holds the only reading end, so it sees EOF if the studio dies
        self.reader = threading.Thread(target=self._read, args=(emit,), name="training-events", daemon=True)
        self.reader.start()

    def call(self, name: str, *args: Any) -> None:
        try:
            self.control.send((name, args))
        except OSError:  # the worker has just ended; nothing left to control
            pass

    def join(self, timeout: float) -> bool:
        self.reader.join(timeout)
        self.process.join(max(0.1, timeout))
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.control.close()
        return True

    def _read(self, emit: Emit) -> None:
        _import_torch()
        last: Any = None
        while not isinstance(last, events.Finished):
            try:
                data = self.queue.get(timeout=POLL_S)
            except queue.Empty:
                if self.process.is_alive():
                    continue
                try:  # the worker is gone: take what it sent before going, then give up
                    data = self.queue.get(timeout=POLL_S)
                except queue.Empty:
                    message = f"the training process ended unexpectedly (exit code {self.process.exitcode})"
                    record_failure(self.job, message, self.process.pid)
                    emit(events.Error(message))
                    emit(events.Finished("failed", 0, 0, None))
                    return
            last = pickle.loads(data)
            emit(last)


def _import_torch() -> None:
    """Import torch on the events' thread while the worker starts (it imports, loads and compiles
    for seconds): the events carry tensors (a run's samples, the views' snapshots), and the first
    would otherwise import it mid-run, taking a core from training for 3 s on 2 cores, long enough
    for the worker's thread tuner to choose one thread (measured)."""
    try:
        import torch  # noqa: F401
    except Exception:  # noqa: BLE001 - missing or broken (a CUDA library, say): the worker reports it; reading goes on
        pass


class TrainingRunner(QObject):
    event = Signal(object)
    running_changed = Signal(bool)
    _arrived = Signal(object)  # emitted on a worker thread, delivered on the GUI thread

    def __init__(self, mode: Mode = "process", parent: QObject | None = None):
        super().__init__(parent)
        self.mode: Mode = mode
        self.snapshot: Design | None = None  # the design the current (or last) run trains
        self.last_checkpoint: str | None = None
        self._backend: _Backend | None = None
        self._ending: threading.Thread | None = None  # joins the last run's finished worker
        self._running = False
        self._arrived.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    def is_running(self) -> bool:
        return self._running

    def start(self, design: Design, settings: TrainingSettings, out_dir: str, resume_checkpoint: str | None = None) -> None:
        """Start a run of a snapshot of ``design``; returns at once (the worker loads and compiles)."""
        if self._running:
            raise RuntimeError("a training run is already in progress")
        self.snapshot = design.copy()
        job = Job(to_dict(self.snapshot), settings, str(out_dir), str(resume_checkpoint) if resume_checkpoint else None)
        self.start_job(job, train)

    def start_job(self, job: Any, target: Target) -> None:
        """Run ``target(job, emit, controls)`` in the background, as training runs: its events arrive on
        ``event`` and it must end with an ``events.Finished``; ``controls`` relays pause, stop and
        ``call`` to the object it is given with ``controls.attach``."""
        if self._running:
            raise RuntimeError("a run is already in progress")
        backend: _Backend = _ThreadBackend() if self.mode == "thread" else _ProcessBackend()
        arrived = self._arrived

        def emit(event: object) -> None:
            try:
                arrived.emit(event)
            except RuntimeError:  # the runner was destroyed with its window: nobody is listening
                backend.call("stop")

        self._backend = backend
        self._running = True
        backend.start(job, emit, target)
        self.running_changed.emit(True)

    def pause(self) -> None:
        self.call("pause")

    def resume(self) -> None:
        self.call("resume")

    def stop(self) -> None:
        self.call("stop")

    def call(self, method_name: str, *args: Any) -> None:
        """Call a (thread-safe) Trainer method; calls made while it is still starting wait for it."""
        if self._running and self._backend is not None:
            self._backend.call(method_name, *args)

    def shutdown(self, timeout: float = 60.0) -> bool:
        """Stop the run and wait for it to end (its checkpoint written, its last events delivered);
        False if it did not end within ``timeout`` seconds."""
        if self._running:
            self.stop()
            loop = QEventLoop()
            self.running_changed.connect(loop.quit)
            QTimer.singleShot(int(timeout * 1000), loop.quit)
            if self._running:
                loop.exec()
            self.running_changed.disconnect(loop.quit)
        if self._running:
            return False
        if self._ending is not None:
            self._ending.join(timeout)
        return True

    def _release(self) -> None:
        """Let the finished run's worker end. A worker process still tears torch down for about a
        second after its last event: it is joined on a thread of its own, never on the GUI thread
        (a second run started at once would otherwise freeze the window that long)."""
        backend, self._backend = self._backend, None
        if backend is not None:
            self._ending = threading.Thread(target=backend.join, args=(10.0,), name="training-join", daemon=True)
            self._ending.start()

    def _deliver(self, event: object) -> None:
        if isinstance(event, events.CheckpointWritten):
            self.last_checkpoint = event.path
        self.event.emit(event)
        if isinstance(event, events.Finished) and self._running:
            self._running = False
            self._release()
            self.running_changed.emit(False)
