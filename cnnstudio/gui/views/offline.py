"""Views on a trained model outside a run: after training ends, or on weights loaded from a
checkpoint. The model is built from the design and the weights, with the training's data and task
(:func:`cnnstudio.training.setup.build`, no trainer), and every snapshot is captured in the
background with the same ``probes`` code a run uses. One capture at a time; requests made meanwhile collapse to the last."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Signal

from cnnstudio.core.design import Design
from cnnstudio.gui.background import BackgroundJob


class OfflineProber(QObject):
    """``ready(snapshot, classes)`` for each request; ``failed(message)`` when the model cannot be built."""

    ready = Signal(object, object)
    failed = Signal(str)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.design: Design | None = None
        self.weights: str | dict[str, Any] | None = None
        self.place: tuple[int, int] | None = None  # (global step, epoch from 1) of a checkpoint's weights
        self.prober: Any = None  # a probes.Prober and the task's classes, built in the background on first use
        self.busy = False
        self.pending: Any = None
        self._job: BackgroundJob | None = None
        self._generation = 0  # a capture of weights since replaced or released is dropped

    @property
    def active(self) -> bool:
        return self.design is not None

    def set_weights(self, design: Design, weights: str | dict[str, Any]) -> None:
        """Look at ``design`` with ``weights`` (a weights or checkpoint file, or a state dict)."""
        self.design, self.weights, self.prober, self.place = design.copy(), weights, None, None
        self._generation += 1

    def release(self) -> None:
        """A new run or design: forget the model."""
        self.design = self.weights = self.prober = None
        self.pending = None
        self._generation += 1

    def request(self, request: Any) -> None:
        if not self.active or request is None:
            return
        if self.busy:
            self.pending = request
            return
        self.busy = True
        from cnnstudio.core.compiler import CompileError
        from cnnstudio.core.weights import WeightsError
        from cnnstudio.training.errors import TrainingError

        job = BackgroundJob(lambda: self._capture(request), (TrainingError, WeightsError, CompileError), self)
        generation = self._generation
        job.done.connect(lambda result: self._done(result, generation == self._generation))
        job.failed.connect(self._failed)
        self._job = job.start()

    def _capture(self, request: Any) -> tuple[Any, list[str]]:
        if self.prober is None:
            self.prober = self._build()
        prober, classes = self.prober
        step, epoch = self.place or (0, 1)
        return prober.capture(request, step, epoch), classes

    def _build(self) -> tuple[Any, list[str]]:
        from cnnstudio.core.weights import load_matching
        from cnnstudio.training.defaults import default_settings
        from cnnstudio.training.distributed import World
        from cnnstudio.training.errors import TrainingError
        from cnnstudio.training.setup import build

        # workers 0: streamed images are decoded here; no process forked from the studio (Qt's threads)
        settings = default_settings(self.design, {"workers": 0})
        setup = build(self.design, settings, World(), lambda message: None, start_weights=False)
        state = self._read(self.weights) if isinstance(self.weights, str) else self.weights
        if not load_matching(setup.model, state).loaded:
            raise TrainingError("none of the weights matches a layer of this design by id and shape")
        return setup.prober(self.design), setup.task.classes

    def _read(self, path: str) -> dict[str, Any]:
        """A checkpoint's model, remembering where in its run it was saved (the snapshots name that
        step and epoch, counted from 1); any other weights file as it is."""
        from cnnstudio.core.weights import read_state_dict
        from cnnstudio.training import checkpoint
        from cnnstudio.training.errors import TrainingError

        try:
            state = checkpoint.load(path)
        except TrainingError:
            return read_state_dict(path)
        epoch, step = int(state.get("epoch", 0)), int(state.get("step", 0))
        self.place = (int(state.get("global_step", 0)), epoch + 1 if step or not epoch else epoch)
        return state["model"]

    def _done(self, result: tuple[Any, list[str]], current: bool) -> None:
        self.busy = False
        if current:
            self.ready.emit(*result)
        else:
            self.trainer = None  # built in the background for the weights since let go
        self._next()

    def _failed(self, message: str) -> None:
        self.busy = False
        self.prober = None
        self.failed.emit(message)
        self._next()

    def _next(self) -> None:
        pending, self.pending = self.pending, None
        if pending is not None:
            self.request(pending)
