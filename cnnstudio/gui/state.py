"""What the studio window shows, as one Qt-free object (napari's ``ViewerModel`` pattern).

:class:`StudioState` holds the open document, the selection, the weights the views look at (which
run or file, or none), the probe, the design's runs, the latest snapshot of the views and the
training runner. Panels and docks take the state, never the window: they read it, change it through
its methods, and follow it through :class:`Event` (plain callbacks). The window is a shell that
builds its docks from :mod:`cnnstudio.gui.registry` and mirrors the state in its chrome (status bar,
canvas selection). The same object is the scripting API (:func:`cnnstudio.gui.open`).

No Qt here: the document, editor, settings and runner are Qt objects, but the state only holds and
calls them, so it can be imported, built and tested with stand-ins and without a display.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnnstudio.core.design import Design
    from cnnstudio.gui.document import Document
    from cnnstudio.gui.editor import Editor
    from cnnstudio.gui.settings import Settings
    from cnnstudio.gui.training.runner import TrainingRunner
    from cnnstudio.runs import Run

PERCENT_METRICS = ("accuracy", "acc", "top1", "top5", "iou", "miou", "dice", "f1", "precision", "recall", "map")


class Event:
    """A list of callbacks; ``emit`` calls them in order. A plain observer, so the state needs no Qt
    and no event loop: a callback runs at once, on the caller's thread (the GUI thread)."""

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., object]] = []

    def connect(self, callback: Callable[..., object]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., object]) -> None:
        self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)


@dataclass(frozen=True)
class Weights:
    """The weights the views look at: ``path`` (a checkpoint or weights file), the ``run`` it comes
    from if any (its name, ``which`` checkpoint, and its main metric's best value)."""

    path: str
    run: str | None = None
    which: str = "best"
    metric: str = ""
    value: float | None = None

    @classmethod
    def of_run(cls, run: Run, which: str, path: str) -> Weights:
        value = run.best_value() if which == "best" else run.final_value()
        return cls(path, run.name, which, run.manifest.metric, value)

    def describe(self) -> str:
        """The status bar's words: "weights: run 3, best accuracy 98.4%" or "weights: model.pt"."""
        if self.run is None:
            return f"weights: {Path(self.path).name}"
        if self.value is None:
            return f"weights: {self.run}, {self.which}"
        name = self.metric.removeprefix("val_")
        shown = f"{self.value:.1%}" if name in PERCENT_METRICS and 0 <= self.value <= 1 else f"{self.value:.4g}"
        return f"weights: {self.run}, {self.which} {name} {shown}"


NO_WEIGHTS = "no weights: train (F5) or load a run"


@dataclass(frozen=True)
class Diff:
    """Two runs' designs compared on the canvas: node id -> (how: added, removed, changed; detail),
    with the older design and the removed nodes the canvas no longer has (drawn as ghosts)."""

    marks: dict[str, tuple[str, str]]
    older: dict[str, Any] | None = None
    older_name: str = ""
    gone: tuple[str, ...] = ()


class StudioState:
    """The studio's model. Every change goes through a method that emits its event:

    - ``design_replaced()``: another design was opened or created; weights, probe, snapshot and
      selection are gone first (a new design or template starts without weights).
    - ``selection_changed(node_ids)``, ``weights_changed(Weights | None)``, ``probe_changed(path | None)``,
      ``runs_changed(runs)``, ``run_shown(Run)``, ``snapshot_changed(snapshot | None)``,
      ``diff_changed(Diff | None)``, ``marks_changed(marks)`` (tags on cards: Style Transfer's layers),
      ``message(text, ms)`` (for the status bar), ``first_painted()``.
    """

    def __init__(self, document: Document, editor: Editor, settings: Settings, runner: TrainingRunner):
        self.document = document
        self.editor = editor
        self.settings = settings
        self.runner = runner
        self.selection: tuple[str, ...] = ()
        self.weights: Weights | None = None
        self.probe: str | None = None  # an image file probing the network; None: a sample of the data
        self.runs: list[Run] = []
        self.snapshot: Any = None  # the views' latest snapshot (``cnnstudio.training.events.Snapshot``)
        self.diff: Diff | None = None
        self.marks: dict[str, tuple[str, ...]] = {}  # node id -> tags drawn on its card ("content", "style")
        self.painted = False
        self._trainer: Callable[[str | None], bool] | None = None
        self._configure: Callable[[dict[str, Any]], None] | None = None
        self.design_replaced, self.selection_changed, self.weights_changed = Event(), Event(), Event()
        self.probe_changed, self.runs_changed, self.run_shown = Event(), Event(), Event()
        self.snapshot_changed, self.diff_changed, self.message, self.first_painted = Event(), Event(), Event(), Event()
        self.marks_changed = Event()
        document.reset.connect(self._design_replaced)

    @property
    def design(self) -> Design:
        return self.document.design

    # -- the design ----------------------------------------------------------------------------------
    def _design_replaced(self) -> None:
        self.selection, self.snapshot, self.diff = (), None, None
        self.set_weights(None)
        self.set_probe(None)
        self.design_replaced.emit()

    def select(self, node_ids: list[str] | tuple[str, ...]) -> None:
        chosen = tuple(n for n in node_ids if n in self.design)
        if chosen != self.selection:
            self.selection = chosen
            self.selection_changed.emit(chosen)

    # -- weights, probe, runs ----------------------------------------------------------------------------
    def set_weights(self, weights: Weights | None) -> None:
        if weights != self.weights:
            self.weights = weights
            self.weights_changed.emit(weights)

    def describe_weights(self) -> str:
        return self.weights.describe() if self.weights else NO_WEIGHTS

    def set_probe(self, path: str | None) -> None:
        if path != self.probe:
            self.probe = path
            self.probe_changed.emit(path)

    def set_runs(self, runs: list[Run]) -> None:
        self.runs = list(runs)
        self.runs_changed.emit(self.runs)

    def show_run(self, run: Run) -> None:
        self.run_shown.emit(run)

    def show_diff(self, diff: Diff | None) -> None:
        self.diff = diff
        self.diff_changed.emit(diff)

    def set_marks(self, marks: dict[str, tuple[str, ...]]) -> None:
        """Tag cards (node id -> tags); nodes with no tags are left out."""
        marks = {node_id: tuple(tags) for node_id, tags in marks.items() if tags}
        if marks != self.marks:
            self.marks = marks
            self.marks_changed.emit(marks)

    def set_snapshot(self, snapshot: Any) -> None:
        self.snapshot = snapshot
        self.snapshot_changed.emit(snapshot)

    def activation(self, node_id: str) -> Any:
        """The probe's activation of ``node_id`` in the latest snapshot (a tensor, batch first); a
        KeyError names what there is."""
        if self.snapshot is None:
            raise KeyError("no snapshot yet: train, or load weights, with the Activations view open")
        activations = self.snapshot.activations
        if node_id not in activations:
            raise KeyError(f"{node_id!r} is not in the snapshot; it has {', '.join(activations) or 'no activations'}")
        return activations[node_id]

    # -- training --------------------------------------------------------------------------------------
    def provide_training(self, start: Callable[[str | None], bool], configure: Callable[[dict[str, Any]], None]) -> None:
        """The training panel's start (it reads the settings form and the runs folder) and its
        settings edit (one undoable step, as the form makes)."""
        self._trainer, self._configure = start, configure

    def train(self, resume: str | None = None) -> bool:
        """Start training the design as it is now; False (with the reasons in the Run Log) if it cannot."""
        if self._trainer is None:
            raise RuntimeError("the studio has no training panel")
        return self._trainer(resume)

    def configure_training(self, **values: Any) -> None:
        """Set training settings (``epochs=2, data="synthetic-shapes"``...) as the Training form does."""
        if self._configure is None:
            raise RuntimeError("the studio has no training panel")
        self._configure(values)

    @property
    def training(self) -> bool:
        return bool(self.runner.is_running())

    def show_message(self, text: str, ms: int = 4000) -> None:
        self.message.emit(text, ms)

    def painted_once(self) -> None:
        if not self.painted:
            self.painted = True
            self.first_painted.emit()
