"""The training panels, a part of the studio (``registry.PartSpec``) driving the state's runner.

``TrainingPanels(state)`` lists four docks (Training; Curves; Run Log with the checkpoints; Runs)
and F5 to start, and is the state's trainer (``state.train()``). The curves import pyqtgraph, which
takes about half a second, so they are built after the window's first paint (or at the first run),
keeping start-up fast. The mode (thread or process) is a studio preference (QSettings
``training/mode``, :func:`make_runner`).

Opening or creating another design resets the dock, curves and log, and shows that design's runs;
its latest run's best weights become the state's weights. Loading a run (double-click in the Runs
panel) makes its weights the state's and its curves the ones shown. Save As moves the design's runs
directory along (after the run in progress, if any), so a design's runs stay listed under its new name.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from cnnstudio.core.designfile import to_dict
from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.registry import ActionSpec, DockSpec
from cnnstudio.gui.settings import Settings
from cnnstudio.gui.state import Diff, Weights
from cnnstudio.gui.training.checkpoints import Checkpoints, LoadedWeights, load_weights
from cnnstudio.gui.training.dock import TrainingDock
from cnnstudio.gui.training.form import SetTraining
from cnnstudio.gui.training.log import EventLog
from cnnstudio.gui.training.runner import TrainingRunner
from cnnstudio.gui.training.runs_panel import RunsPanel, run_color
from cnnstudio.runs import Run, run_folder
from cnnstudio.runs.diff import design_diff
from cnnstudio.runs.folders import move_runs
from cnnstudio.runs.store import default_run, why_default
from cnnstudio.training import events
from cnnstudio.training.errors import TrainingError

if TYPE_CHECKING:
    from cnnstudio.gui.state import StudioState

MODE_KEY = "training/mode"
DEFAULT_MODE = "process"  # the better of the two in bench/bench_studio_training.py
STOP_TIMEOUT_S = 120.0


def make_runner(settings: Settings, parent: QObject | None = None) -> TrainingRunner:
    """The studio's training runner, in the mode the user chose last (process by default)."""
    mode = str(settings.store.value(MODE_KEY, DEFAULT_MODE))
    return TrainingRunner("thread" if mode == "thread" else "process", parent)


def raise_dock(widget: QWidget, beside: str | None = None) -> None:
    """Bring the dock holding ``widget`` to the front of its tabs (if it is in one); a closed dock
    opens tabbed with the dock named ``beside`` where that one is docked and shown."""
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    if parent is None:
        return
    window = parent.parentWidget()
    other = window.findChild(QDockWidget, f"dock-{beside}") if beside and isinstance(window, QMainWindow) else None
    if not parent.isVisible() and other is not None and other.isVisible() and not other.isFloating():
        window.tabifyDockWidget(other, parent)
    parent.show()
    parent.raise_()


class LazyCurves(QWidget):
    """A place for the curves, filled on first need (pyqtgraph is slow to import)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.curves: Any = None
        QVBoxLayout(self).setContentsMargins(0, 0, 0, 0)

    def build(self) -> Any:
        if self.curves is None:
            from cnnstudio.gui.training.curves import Curves

            self.curves = Curves()
            self.layout().addWidget(self.curves)
        return self.curves

    def on_event(self, event: object) -> None:
        self.build().on_event(event)


class TrainingPanels(QObject):
    """The training docks, on the state's runner. ``weights_loaded(LoadedWeights)`` when weights were
    loaded into the design (kept in ``loaded_weights``, with the match report; the state's
    ``weights`` says which file or run they are)."""

    weights_loaded = Signal(object)

    def __init__(self, state: StudioState):
        super().__init__(state.runner)
        self.state = state
        self.doc = state.document
        self.runner = state.runner
        self.loaded_weights: LoadedWeights | None = None
        self.dock = TrainingDock(self.doc, self.runner.mode)
        self.curves = LazyCurves()
        self.log = EventLog()
        self.checkpoints = Checkpoints()
        self.runs = RunsPanel()
        self.runs_directory = self.dock.runs_directory()
        self.pending_move: tuple[Path, Path] | None = None
        self._designs_opened = 0
        run_tabs = QTabWidget()
        run_tabs.setDocumentMode(True)
        run_tabs.addTab(self.log, "Log")
        run_tabs.addTab(self.checkpoints, "Checkpoints")
        self.run_tabs = run_tabs
        self.docks = [
            DockSpec("training", "Training", "right", lambda _: self.dock),
            DockSpec("curves", "Curves", "bottom", lambda _: self.curves),
            DockSpec("run-log", "Run Log", "bottom", lambda _: run_tabs),
            DockSpec("runs", "Runs", "bottom", lambda _: self.runs),
        ]
        self.actions = [ActionSpec("start-training", "Start Training", lambda: raise_dock(self.dock) or self.start(),
                                   "F5", "Train the design as it is now")]
        state.provide_training(lambda resume: self.start(resume), self.configure)

        self.runner.event.connect(self._on_event)
        self.runner.running_changed.connect(self._running_changed)
        self.dock.start_requested.connect(self.start)
        self.dock.pause_toggled.connect(lambda paused: self.runner.pause() if paused else self.runner.resume())
        self.dock.stop_requested.connect(self.runner.stop)
        self.dock.mode.currentIndexChanged.connect(self._mode_chosen)
        self.dock.form.error.connect(lambda message: self.log.add("error", message))
        self.dock.folder.editingFinished.connect(self._show_runs)
        state.design_replaced.connect(self._design_replaced)
        self.doc.path_changed.connect(self._path_changed)
        self.checkpoints.resume_requested.connect(lambda path: self.start(resume=path))
        self.checkpoints.load_requested.connect(self.load_weights)
        self.runs.overlay_requested.connect(self._overlay)
        self.runs.load_requested.connect(self.load_run)
        self.runs.resume_requested.connect(lambda path: self.start(resume=path))
        self.runs.diff_requested.connect(self.show_diff)
        state.first_painted.connect(lambda: QTimer.singleShot(500, self.curves.build))
        self._show_runs()

    # -- running -----------------------------------------------------------------------------------
    def start(self, resume: str | None = None) -> bool:
        """Start training the design as it is now; refused, with the reasons in the log, if it cannot."""
        if self.runner.is_running():
            return False
        analysis = self.doc.analysis
        if not analysis.valid:
            problems = [str(issue) for issue in analysis.errors] or ["some shapes are unknown: connect every layer"]
            self._refuse("The design cannot be trained yet:\n" + "\n".join(f"• {p}" for p in problems))
            return False
        problems = [problem.message for problem in self.dock.form.problems]
        try:
            settings = self.dock.form.settings()
        except TrainingError as error:
            problems = problems or [str(error)]
        if problems:
            self._refuse("The training settings are not valid:\n" + "\n".join(f"• {p}" for p in problems))
            return False
        self.curves.build()
        self.runner.mode = self.dock.chosen_mode  # type: ignore[assignment]
        try:
            folder = run_folder(self.dock.runs_directory(), settings.to_dict(), design=to_dict(self.doc.design),
                                resume=resume)
        except OSError as error:
            self._refuse(f"The run folder cannot be made in {self.dock.runs_directory()}: {error.strerror or error}")
            return False
        source = f" from {resume}" if resume else ""
        self.log.add("info", f"Starting run {folder.name}{source} in {self.dock.mode.currentText().lower()}, "
                             f"writing to {folder}")
        self.runs.tree.clearSelection()  # the curves follow the new run
        self.runs.set_active(folder)
        self.runner.start(self.doc.design, settings, str(folder), resume)
        self.dock.starting()
        self.checkpoints.set_folder(folder)
        self.runs_directory = folder.parent if resume is None else self.runs_directory
        self.runs.set_directory(self.runs_directory)
        return True

    def configure(self, values: dict[str, Any]) -> None:
        """Change training settings as one undoable step (a script's ``state.configure_training``)."""
        self.doc.undo_stack.push(SetTraining(self.doc, {**self.doc.design.training, **values}, ", ".join(values)))

    def _refuse(self, message: str) -> None:
        self.log.add("error", message)
        raise_dock(self.run_tabs)
        self.run_tabs.setCurrentWidget(self.log)

    def _on_event(self, event: object) -> None:
        self.dock.on_event(event)
        self.curves.on_event(event)
        self.log.on_event(event)
        self.checkpoints.on_event(event)
        self.runs.on_event(event)
        if isinstance(event, events.Finished):
            self.state.set_runs(self.runs.runs)
            if event.checkpoint:  # the views look at what the run ended with
                run = next((r for r in self.runs.runs if r.path == Path(event.checkpoint).parent), None)
                self.state.set_weights(Weights.of_run(run, "last", event.checkpoint) if run else Weights(event.checkpoint))

    def _running_changed(self, running: bool) -> None:
        self.dock.set_running(running)
        self.checkpoints.set_busy(running)
        if not running:
            self.runs.set_active(None)
            if self.pending_move is not None:
                self._move_runs(*self.pending_move)

    def _mode_chosen(self) -> None:
        self.state.settings.store.setValue(MODE_KEY, self.dock.chosen_mode)

    # -- the design's runs -------------------------------------------------------------------------
    def _show_runs(self) -> None:
        """The Runs panel and the Checkpoints list follow the runs directory (the latest run's files)."""
        self.runs_directory = self.dock.runs_directory()
        self.runs.set_directory(self.runs_directory)
        self.checkpoints.set_folder(self.runs.runs[-1].path if self.runs.runs else None)
        self.state.set_runs(self.runs.runs)

    def _design_replaced(self) -> None:
        """Another design (New, Open, template): nothing of the previous design's runs stays on show
        (the state has already let its weights go). If it has runs, its best completed run is shown
        (else its newest with a checkpoint): its curves, and its best weights for the views and for
        export (trained weights by default)."""
        self.pending_move = None
        self._designs_opened += 1  # weights still loading for the previous design are dropped
        self.log.clear()
        if self.curves.curves is not None:
            self.curves.curves.clear()
            self.curves.curves.overlay([])
        self.loaded_weights = None
        self._show_runs()
        shown = default_run(self.runs.runs)
        if shown is not None:
            self.log.add("info", f"Weights: run {shown.name}, {shown.best_text()} ({why_default(shown)})")
            self._opening = True  # shown in the Curves dock, which is not brought forward for it
            self.load_run(shown)
            self._opening = False

    def _path_changed(self) -> None:
        """Save As (or a first Save): the design's runs move along to its new runs directory."""
        old, new = self.runs_directory, self.dock.runs_directory()
        if old == new:
            return
        if self.runner.is_running():
            self.pending_move = (old, new)  # the run writes there until it ends
            self.log.add("info", f"The runs move to {new} when the run in progress ends")
        else:
            self._move_runs(old, new)

    def _move_runs(self, old: Path, new: Path) -> None:
        self.pending_move = None
        try:
            moved = move_runs(old, new)
        except OSError as error:
            self.log.add("warning", f"The runs could not move from {old} to {new} ({error.strerror or error}); "
                                    f"they stay in {old}")
            return
        if moved:
            self.log.add("info", f"The design's runs moved with it: {old} → {new}")
        self._show_runs()

    def _overlay(self, chosen: list[tuple[Run, str]]) -> None:
        """The chosen runs' curves. The Curves dock is not brought forward: in a tab group with the
        Runs panel, that would cover the row being clicked, and a double-click would land on the plot."""
        curves = self.curves.build()
        curves.overlay([(run.name, color, run.metrics(), run.manifest.metric) for run, color in chosen])

    def show_diff(self, pair: tuple[Run, Run] | None) -> None:
        """Two runs' designs compared on the canvas (``state.show_diff``): nodes added, removed or
        changed from the older to the newer are outlined; removed nodes the design does not have are
        drawn as ghost cards where they stood in the older run's design; added or changed ones it does
        not have are named under the table."""
        if pair is None:
            self.state.show_diff(None)
            self.runs.refresh_summary()
            return
        older, newer = pair
        if older.design is None or newer.design is None:
            self.state.show_diff(None)
            self.runs.summary.setText(f"The design of {(older if older.design is None else newer).name} is not "
                                      "known (older run without a checkpoint)")
            return
        diff = design_diff(older.design, newer.design)
        marks = {node: ("added", "") for node in diff.added}
        marks |= {node: ("removed", "") for node in diff.removed}
        marks |= {node: ("changed", ": " + ", ".join(how)) for node, how in diff.changed.items()}
        design = self.state.design
        gone = tuple(node for node in diff.removed if node not in design)
        self.state.show_diff(Diff(marks, older.design, older.name, gone))
        absent = [node for node in marks if node not in design and node not in gone]
        text = "; ".join(diff.describe()) or "the same design"
        elsewhere = f" (not on the canvas: {', '.join(absent)})" if absent else ""
        self.runs.summary.setText(f"Design of {newer.name} against {older.name}: {text}{elsewhere}")

    def load_run(self, run: Run, which: str = "best") -> None:
        """Show a past run: its weights in the design (so every view looks at them, and the state
        names the run), its curves (this run's, whatever was shown before) and its timeline."""
        weights = run.weights(which)
        if weights is None:
            self.log.add("error", f"The run {run.name} has no checkpoint to load")
            return
        self.runs.select([run.folder])
        self._overlay([(run, run_color(self.runs.runs.index(run)) if run in self.runs.runs else run_color(0))])
        self.checkpoints.set_folder(run.path)
        self.load_weights(str(weights), Weights.of_run(run, which, str(weights)))
        self.state.show_run(run)

    # -- weights -----------------------------------------------------------------------------------
    def load_weights(self, path: str, weights: Weights | None = None) -> None:
        """Load the file's matching weights into the design, in the background; report in the log.
        Once loaded they are the state's weights (``weights``: which run they come from, if any)."""
        from cnnstudio.core.compiler import CompileError
        from cnnstudio.core.weights import WeightsError

        design, shown = self.doc.design.copy(), self._designs_opened
        job = BackgroundJob(lambda: load_weights(design, path), (WeightsError, CompileError), self)
        job.done.connect(lambda loaded: shown == self._designs_opened and self._weights_done(loaded, weights))
        job.failed.connect(lambda message: self.log.add("error", f"Weights not loaded: {message}"))
        self.log.add("info", f"Loading weights from {path}…")
        self._weights_job = job.start()

    def _weights_done(self, loaded: LoadedWeights, weights: Weights | None) -> None:
        self.loaded_weights = loaded
        report = loaded.report
        kind = "warning" if report.missing or report.mismatched or report.unexpected else "info"
        self.log.add(kind, f"Weights from {loaded.path}: " + report.summary().replace("\n", "; "))
        self.state.set_weights(weights or Weights(loaded.path))
        self.weights_loaded.emit(loaded)

    # -- closing -----------------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """Closing the window: if a run goes, ask, then stop it cleanly (checkpoint written)."""
        if not self.runner.is_running():
            return True
        answer = QMessageBox.question(
            self.dock, "Stop Training?",
            "A training run is in progress. Stop it and close? Its checkpoint is written first, so it can be resumed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.state.show_message("Stopping training and writing its checkpoint…", 0)
        return self.runner.shutdown(STOP_TIMEOUT_S)

