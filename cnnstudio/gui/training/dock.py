"""The Training dock: the settings form, where and how to run, Start / Pause / Stop, and progress.

The dock does not train: it asks (``start_requested``) and shows what the runner reports. While a
run goes, a note says it trains a snapshot of the design taken at Start, so edits made meanwhile
(which the form and canvas still allow) apply to the next run.

"Runs in" names the design's runs directory (:func:`cnnstudio.runs.runs_dir`, or a folder the
user chose); each start makes a new run folder in it (:func:`cnnstudio.runs.run_folder`). Epoch and
step are shown from 1, as in the log and the command line (:func:`cnnstudio.training.events.where`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import QStandardPaths, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui import theme
from cnnstudio.gui.document import Document
from cnnstudio.gui.live_text import LiveText
from cnnstudio.gui.training.form import SettingsForm
from cnnstudio.gui.training.runner import MODES
from cnnstudio.runs import runs_dir
from cnnstudio.runs.table import duration
from cnnstudio.training import events

SHOW_EVERY_S = 0.5  # the progress bar and line: each change repaints the bar at once (QProgressBar)


class TrainingDock(QWidget):
    start_requested = Signal()
    pause_toggled = Signal(bool)  # True: pause
    stop_requested = Signal()

    def __init__(self, doc: Document, mode: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.form = SettingsForm(doc)
        self.custom_folder: Path | None = None
        self._shown_at = 0.0
        scroll = QScrollArea()
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)  # the form wraps instead

        self.folder = QLineEdit()
        self.folder.setToolTip("The design's runs: each start makes a new run folder here (metrics.jsonl, "
                               "last.pt, best.pt, the design and settings as trained)")
        self.folder.editingFinished.connect(self._folder_edited)
        browse = QToolButton(text="…")
        browse.setToolTip("Choose the folder for this design's runs")
        browse.clicked.connect(self._browse_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)
        self.mode = QComboBox()
        for key, text in MODES.items():
            self.mode.addItem(text.capitalize(), key)
        self.mode.setCurrentIndex(max(0, self.mode.findData(mode)))
        self.mode.setToolTip("A separate process keeps training off the studio's Python interpreter; "
                             "a studio thread starts faster. bench/bench_studio_training.py compares them.")
        run_form = QFormLayout()
        run_form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        run_form.addRow("Runs in", folder_row)
        run_form.addRow("Train in", self.mode)

        self.start = QPushButton("Start")
        self.start.setToolTip("Train the design as it is now (F5)")
        self.start.setDefault(True)
        self.pause = QPushButton("Pause")
        self.pause.setCheckable(True)
        self.pause.setToolTip("Pause after the current step; press again to resume")
        self.stop = QPushButton("Stop")
        self.stop.setToolTip("Stop after the current step and write a checkpoint")
        self.start.clicked.connect(self.start_requested)
        self.pause.toggled.connect(self._pause_toggled)
        self.stop.clicked.connect(self.stop_requested)
        buttons = QHBoxLayout()
        for button in (self.start, self.pause, self.stop):
            buttons.addWidget(button)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("%p%")
        self.status = LiveText("Ready")  # changes twice a second while a run trains
        self.blocked = QLabel(wordWrap=True)  # why Start is disabled
        self.blocked.setObjectName("start-blocked")
        self.blocked.setVisible(False)
        self.running = False
        self.snapshot_note = QLabel(wordWrap=True)
        self.snapshot_note.setVisible(False)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(scroll, 1)
        layout.addLayout(run_form)
        layout.addLayout(buttons)
        layout.addWidget(self.blocked)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.snapshot_note)
        doc.reset.connect(self._design_replaced)
        doc.path_changed.connect(self._show_folder)
        doc.analyzed.connect(self._update_start)
        self.form.validity_changed.connect(self._update_start)
        self._show_folder()
        self.set_running(False)

    # -- the runs directory -------------------------------------------------------------------------
    def runs_directory(self) -> Path:
        return self.custom_folder or default_runs_dir(self.doc)

    def _show_folder(self) -> None:
        self.folder.setText(str(self.runs_directory()))

    def _folder_edited(self) -> None:
        text = self.folder.text().strip()
        self.custom_folder = Path(text).expanduser() if text else None
        self._show_folder()

    def _browse_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Runs Folder", str(self.runs_directory()))
        if folder:
            self.custom_folder = Path(folder)
            self._show_folder()

    def _design_replaced(self) -> None:
        """Another design: its own runs folder, and nothing left of the previous design's run."""
        self.custom_folder = None
        self._show_folder()
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self._failed(False)
        self.status.setText("Ready")

    # -- state -------------------------------------------------------------------------------------
    @property
    def chosen_mode(self) -> str:
        return str(self.mode.currentData())

    def start_blocker(self) -> str:
        """Why Start cannot run now ("" when it can): the design's errors first, then the settings'."""
        analysis = self.doc.analysis
        if analysis.errors:
            count = len(analysis.errors)
            return f"The design has {count} error{'s' if count > 1 else ''} (see the Summary): {analysis.errors[0]}"
        if not analysis.valid:
            return "Some shapes are unknown: connect every layer."
        return self.form.problems[0].message if self.form.problems else ""

    def _update_start(self) -> None:
        """Start is off while anything is invalid; the line under it says where to look (the form
        shows the settings' problem itself), the button's tooltip has the whole reason."""
        reason = "" if self.running else self.start_blocker()
        self.start.setEnabled(not self.running and not reason)
        self.start.setToolTip(f"Start is off: {reason}" if reason else "Train the design as it is now (F5)")
        where = ("fix the setting marked red above" if self.form.problems and not self.doc.analysis.errors
                 else reason)
        self.blocked.setText(f"<span style='color:{theme.colors().error.name()}'>Cannot start: {where}</span>")
        self.blocked.setToolTip(reason)
        self.blocked.setVisible(bool(reason))

    def set_running(self, running: bool) -> None:
        self.running = running
        self._update_start()
        self.pause.setEnabled(running)
        self.stop.setEnabled(running)
        self.mode.setEnabled(not running)
        self.pause.blockSignals(True)
        self.pause.setChecked(False)
        self.pause.setText("Pause")
        self.pause.blockSignals(False)
        if running:
            name = self.doc.design.name or "design"
            self.snapshot_note.setText(
                f"<span style='color:{theme.colors().muted.name()}'>Training a snapshot of “{name}” taken at "
                f"{time.strftime('%H:%M:%S')}: edits made now apply to the next run.</span>")
        self.snapshot_note.setVisible(running)

    def _pause_toggled(self, paused: bool) -> None:
        self.pause.setText("Resume" if paused else "Pause")
        if paused:
            self.status.setText("Paused")
        self.pause_toggled.emit(paused)

    def on_event(self, event: Any) -> None:
        if isinstance(event, events.Started):
            self.progress.setRange(0, max(event.total_steps, 1))
            self.progress.setValue(event.start_step)
            self.status.setText(f"Training on {event.device}…")
        elif isinstance(event, events.StepMetrics):
            now = time.monotonic()
            if now - self._shown_at < SHOW_EVERY_S and event.step < event.steps_per_epoch:
                return  # the engine sends ~20 a second; two redraws of the bar and line are enough
            self._shown_at = now
            self.progress.setRange(0, max(event.total_steps, 1))
            self.progress.setValue(event.global_step)
            if not self.pause.isChecked():
                self.status.setText(
                    f"Epoch {event.epoch} · step {event.step:,}/{event.steps_per_epoch:,} · loss {event.loss:.4g} · "
                    f"{event.samples_per_s:,.0f} images/s · ETA {duration(event.eta_s)}")
        elif isinstance(event, events.Paused):
            self.status.setText(f"Paused at {events.where(event.epoch, event.step, 0, event.global_step)}")
        elif isinstance(event, events.Finished):
            if self.progress.maximum() == 0:  # still "busy" (failed while starting): stop the animation
                self.progress.setRange(0, 1)
                self.progress.setValue(0)
            if event.status == "failed":
                self._failed(True)
                self.status.setText(f"Failed: {event.message or 'see the Run Log'}")
                return
            done = {"completed": "Completed", "stopped": "Stopped"}[event.status]
            self.status.setText(f"{done} at {event.where()}")
            if event.status == "completed":
                self.progress.setValue(self.progress.maximum())

    def _failed(self, failed: bool) -> None:
        """A failed run's bar stands still in the error colour and says so."""
        self.progress.setFormat("Failed at %p%" if failed else "%p%")
        self.progress.setStyleSheet(f"QProgressBar::chunk {{ background: {theme.colors().error.name()}; }}"
                                    if failed else "")

    def starting(self) -> None:
        """Between Start and the engine's Started event: data loading and compiling."""
        self._failed(False)
        self.progress.setRange(0, 0)
        self.status.setText("Starting: loading the data and compiling the design…")


def default_runs_dir(doc: Document) -> Path:
    """``runs/<design>`` beside the design file; for an unsaved design, in the application's data folder."""
    app_data = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
    return runs_dir(doc.path, doc.design.name, app_data)
