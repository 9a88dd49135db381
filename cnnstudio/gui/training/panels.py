"""Puts the training panels into the main window and connects them to one TrainingRunner.

``TrainingPanels(window)`` adds three docks (Training; Curves; Run Log with the checkpoints) and
F5 to start; the window keeps it as ``window.training`` and its runner as ``window.training_runner``. The curves import pyqtgraph, which takes about
half a second, so they are built after the window's first paint (or at the first run), keeping
start-up fast. The mode (thread or process) is a studio preference (QSettings ``training/mode``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMessageBox, QTabWidget, QVBoxLayout, QWidget

from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.training.checkpoints import Checkpoints, LoadedWeights, load_weights
from cnnstudio.gui.training.dock import TrainingDock
from cnnstudio.gui.training.log import EventLog
from cnnstudio.gui.training.runner import TrainingRunner
from cnnstudio.training.errors import TrainingError

if TYPE_CHECKING:
    from cnnstudio.gui.main_window import MainWindow

MODE_KEY = "training/mode"
DEFAULT_MODE = "process"  # the better of the two in bench/bench_studio_training.py
STOP_TIMEOUT_S = 120.0


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
    """The training docks and their runner. ``weights_loaded(LoadedWeights)`` when weights were
    loaded into the design (also kept in ``loaded_weights`` for views created later)."""

    weights_loaded = Signal(object)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        mode = str(window.settings.store.value(MODE_KEY, DEFAULT_MODE))
        self.runner = TrainingRunner("thread" if mode == "thread" else "process", self)
        self.loaded_weights: LoadedWeights | None = None
        self.dock = TrainingDock(self.doc, self.runner.mode)
        self.curves = LazyCurves()
        self.log = EventLog()
        self.checkpoints = Checkpoints()
        run_tabs = QTabWidget()
        run_tabs.setDocumentMode(True)
        run_tabs.addTab(self.log, "Log")
        run_tabs.addTab(self.checkpoints, "Checkpoints")
        self.run_tabs = run_tabs
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.training_dock = window.add_dock("training", "Training", self.dock, right)
        self.curves_dock = window.add_dock("curves", "Curves", self.curves, bottom)
        self.log_dock = window.add_dock("run-log", "Run Log", run_tabs, bottom)
        inspector, summary = (window.findChild(QDockWidget, f"dock-{name}") for name in ("inspector", "summary"))
        window.tabifyDockWidget(inspector, self.training_dock)
        window.splitDockWidget(self.curves_dock, self.log_dock, Qt.Orientation.Horizontal)
        window.tabifyDockWidget(summary, self.curves_dock)
        summary.raise_()
        inspector.raise_()
        self.act_start = QAction("Start Training", window)
        self.act_start.setShortcut(QKeySequence("F5"))
        self.act_start.triggered.connect(lambda: self.training_dock.raise_() or self.start())
        window.addAction(self.act_start)

        self.runner.event.connect(self._on_event)
        self.runner.running_changed.connect(self._running_changed)
        self.dock.start_requested.connect(self.start)
        self.dock.pause_toggled.connect(lambda paused: self.runner.pause() if paused else self.runner.resume())
        self.dock.stop_requested.connect(self.runner.stop)
        self.dock.mode.currentIndexChanged.connect(self._mode_chosen)
        self.dock.form.error.connect(lambda message: self.log.add("error", message))
        self.dock.folder.editingFinished.connect(self._show_checkpoints)
        self.doc.reset.connect(self._show_checkpoints)
        self.checkpoints.resume_requested.connect(lambda path: self.start(resume=path))
        self.checkpoints.load_requested.connect(self.load_weights)
        window.first_painted.connect(lambda: QTimer.singleShot(500, self.curves.build))
        self._show_checkpoints()

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
        folder = self.dock.run_folder()
        source = f" from {resume}" if resume else ""
        self.log.add("info", f"Starting{source} in {self.dock.mode.currentText().lower()}, writing to {folder}")
        self.runner.start(self.doc.design, settings, str(folder), resume)
        self.dock.starting()
        self.checkpoints.set_folder(folder)
        return True

    def _refuse(self, message: str) -> None:
        self.log.add("error", message)
        self.log_dock.raise_()
        self.run_tabs.setCurrentWidget(self.log)

    def _on_event(self, event: object) -> None:
        self.dock.on_event(event)
        self.curves.on_event(event)
        self.log.on_event(event)
        self.checkpoints.on_event(event)

    def _running_changed(self, running: bool) -> None:
        self.dock.set_running(running)
        self.checkpoints.set_busy(running)

    def _mode_chosen(self) -> None:
        self.window.settings.store.setValue(MODE_KEY, self.dock.chosen_mode)

    def _show_checkpoints(self) -> None:
        self.checkpoints.set_folder(self.dock.run_folder())

    # -- weights -----------------------------------------------------------------------------------
    def load_weights(self, path: str) -> None:
        """Load the file's matching weights into the design, in the background; report in the log."""
        from cnnstudio.core.compiler import CompileError
        from cnnstudio.core.weights import WeightsError

        design = self.doc.design.copy()
        job = BackgroundJob(lambda: load_weights(design, path), (WeightsError, CompileError), self)
        job.done.connect(self._weights_done)
        job.failed.connect(lambda message: self.log.add("error", f"Weights not loaded: {message}"))
        self.log.add("info", f"Loading weights from {path}…")
        self._weights_job = job.start()

    def _weights_done(self, loaded: LoadedWeights) -> None:
        self.loaded_weights = loaded
        report = loaded.report
        kind = "warning" if report.missing or report.mismatched or report.unexpected else "info"
        self.log.add(kind, f"Weights from {loaded.path}: " + report.summary().replace("\n", "; "))
        self.weights_loaded.emit(loaded)

    # -- closing -----------------------------------------------------------------------------------
    def confirm_close(self) -> bool:
        """Closing the window: if a run goes, ask, then stop it cleanly (checkpoint written)."""
        if not self.runner.is_running():
            return True
        answer = QMessageBox.question(
            self.window, "Stop Training?",
            "A training run is in progress. Stop it and close? Its checkpoint is written first, so it can be resumed.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        self.window.statusBar().showMessage("Stopping training and writing its checkpoint…")
        return self.runner.shutdown(STOP_TIMEOUT_S)

