"""The Sweep dock. Its setup is the design's "sweep" object (saved with it, changed through undo
commands); Start runs ``cnnstudio sweep`` on the saved design file as a background process (the
same workers as the command line, so a sweep started here continues there and the other way round;
Stop is the command's Ctrl-C: the running trial keeps its checkpoint). While it runs, and whenever
the design changes, the trials are read back from the sweep's storage off the GUI thread."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QProcess, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.core.design import DesignError
from cnnstudio.gui import theme
from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.document import Document
from cnnstudio.gui.sweeps import plots
from cnnstudio.gui.sweeps.edits import SetSweep, apply_values
from cnnstudio.gui.sweeps.suggest import suggest
from cnnstudio.sweeps.space import SweepError, parse_param

POLL_MS = 2000
DEFAULTS = {"name": "", "params": {}, "trials": 8, "jobs": 1, "metric": None, "sampler": "tpe", "pruner": "median"}
CHOICES = {"sampler": ("tpe", "random", "grid"), "pruner": ("median", "hyperband", "none")}


def _import_optuna_here() -> None:
    """Optuna and its importance module (which imports scipy and scikit-learn, 2-3 s once) are imported
    on the GUI thread, under a wait cursor, before any job of the dock reads the sweep: their first
    import in a worker thread, while the GUI thread ran Qt's event loop, crashed the process inside
    PySide's import hook (seen in tests/test_sweep_gui.py)."""
    if "optuna.importance" in sys.modules:
        return
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        import optuna.importance  # noqa: F401
    finally:
        QApplication.restoreOverrideCursor()


def _study(design_path: Path, design_name: str, sweep_name: str) -> tuple[Any, str] | None:
    import optuna

    from cnnstudio.runs import runs_dir
    from cnnstudio.sweeps import storage as stores

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    place = stores.where(None, runs_dir(design_path, design_name))
    if not place.exists:
        return None
    try:
        return optuna.load_study(study_name=sweep_name, storage=stores.open_storage(place)), place.text
    except KeyError:
        return None


def read_sweep(design_path: Path, design_name: str, sweep_name: str) -> dict[str, Any] | None:
    """The sweep as ``cnnstudio sweeps --json`` lists it, with each trial's metric per epoch and its
    training time (None: not started yet). Off the GUI thread."""
    from cnnstudio.runs.manifest import Manifest
    from cnnstudio.sweeps.listing import describe
    from cnnstudio.training.listeners import read_metrics

    found = _study(design_path, design_name, sweep_name)
    if found is None:
        return None
    sweep = describe(*found)
    metric = sweep["metric"]
    sweep["histories"], sweep["seconds"] = {}, {}
    for trial in sweep["trials"]:
        folder = Path(trial["run"]) if trial["run"] else None
        if folder is None:
            continue
        sweep["histories"][trial["number"]] = [r[metric] for r in read_metrics(folder) if isinstance(r.get(metric), (int, float))]
        manifest = Manifest.load(folder)
        sweep["seconds"][trial["number"]] = manifest.seconds if manifest else None
    return sweep


def read_importance(design_path: Path, design_name: str, sweep_name: str) -> dict[str, float]:
    """Optuna's importance of each KEY, by PED-ANOVA (numpy alone; fANOVA would need scikit-learn).
    Its own job: importing Optuna's importance module takes seconds where scikit-learn is installed."""
    import warnings

    import optuna

    found = _study(design_path, design_name, sweep_name)
    if found is None:
        return {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        try:
            return dict(optuna.importance.get_param_importances(
                found[0], evaluator=optuna.importance.PedAnovaImportanceEvaluator()))
        except (ValueError, RuntimeError):  # too few complete trials, or all alike
            return {}


class SweepDock(QWidget):
    """``save()`` saves the design (False: not saved); ``open_run(path)`` shows a trial's run.
    ``trials_changed`` says a trial started or ended (its run folder changed: the Runs panel rereads)."""

    trials_changed = Signal()

    def __init__(self, doc: Document, save: Callable[[], bool], open_run: Callable[[Path], None],
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.doc, self.save, self.open_run = doc, save, open_run
        self.process: QProcess | None = None
        self.reading: BackgroundJob | None = None
        self.weighing: BackgroundJob | None = None  # Optuna's parameter importance
        self.importance_of = 0  # the complete trials it was computed from
        self.sweep: dict[str, Any] | None = None  # as last read from the storage

        self.rows = QTableWidget(0, 2)
        self.rows.setHorizontalHeaderLabels(["What varies", "Range or choices"])
        self.rows.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.rows.verticalHeader().hide()
        self.rows.setMinimumHeight(96)
        self.rows.setToolTip("Right-click a layer parameter in the Inspector or a training setting, then Sweep…, "
                             "to add a row. Edit a range as float:LOW:HIGH[:log], int:LOW:HIGH[:STEP] or choice:A,B,C")
        self.rows.itemChanged.connect(self._row_edited)
        self.remove = QPushButton("Remove")
        self.remove.clicked.connect(self._remove_row)
        self.name = QLineEdit(placeholderText="its KEYs")
        self.trials = QSpinBox(minimum=1, maximum=10_000)
        self.jobs = QSpinBox(minimum=1, maximum=max(1, os.cpu_count() or 1))
        self.metric_name = QLineEdit(placeholderText="the task's main validation metric")
        self.sampler = QComboBox()
        self.sampler.addItems(CHOICES["sampler"])
        self.pruner = QComboBox()
        self.pruner.addItems(CHOICES["pruner"])
        self.jobs.setToolTip("Trials at once, sharing this machine's cores (or one GPU each)")
        for field in (self.name, self.metric_name):
            field.editingFinished.connect(self._form_edited)
        for spin in (self.trials, self.jobs):
            spin.editingFinished.connect(self._form_edited)
        for combo in (self.sampler, self.pruner):
            combo.activated.connect(self._form_edited)
        self.start = QPushButton("Start")
        self.start.clicked.connect(self._start_or_stop)
        self.apply_best = QPushButton("Apply Best to Design")
        self.apply_best.setToolTip("Set the best trial's values on the canvas (one undo step)")
        self.apply_best.clicked.connect(self._apply_best)
        self.status = QLabel(wordWrap=True)
        self.table = QTableWidget(0, 4)
        self.table.verticalHeader().hide()
        self.table.setMinimumHeight(150)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setToolTip("Double-click a trial to open its run (its weights in the views)")
        self.table.cellDoubleClicked.connect(self._open_trial)
        self.parallel = plots.plot_widget(self, "Values against the metric", "", "")
        self.importance = plots.plot_widget(self, "Parameter importance (Optuna)", "importance", "")
        self.curves = plots.plot_widget(self, "Trials' curves (pruned in grey)", "epoch", "metric")
        tabs = QTabWidget()
        tabs.addTab(self.parallel, "Parallel coordinates")
        tabs.addTab(self.importance, "Importance")
        tabs.addTab(self.curves, "Curves")

        form = QFormLayout()
        form.addRow("Name", self.name)
        form.addRow("Trials", self.trials)
        form.addRow("Jobs", self.jobs)
        form.addRow("Metric", self.metric_name)
        form.addRow("Sampler", self.sampler)
        form.addRow("Pruner", self.pruner)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start)
        buttons.addWidget(self.apply_best)
        buttons.addStretch()
        buttons.addWidget(self.remove)
        # The word-wrapped status makes the scroll area size this widget by its preferred height (every
        # table's and plot's size hint: twice a 1280x800 window's dock), which pushed the plots out of
        # sight; ignoring the hints, the three share the height the minimums leave, by their stretch.
        tabs.setMinimumHeight(tabs.minimumSizeHint().height())  # an ignored hint would let the plots shrink away
        for grows in (self.rows, self.table, tabs):
            policy = grows.sizePolicy()
            policy.setVerticalPolicy(QSizePolicy.Policy.Ignored)
            grows.setSizePolicy(policy)
        layout = QVBoxLayout(self)
        layout.addWidget(self.rows, 1)
        layout.addLayout(form)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.table, 2)
        layout.addWidget(tabs, 2)

        self.poll = QTimer(self, interval=POLL_MS)
        self.poll.timeout.connect(self.refresh)
        doc.sweep_changed.connect(self._show_setup)
        doc.reset.connect(self._design_changed)
        doc.path_changed.connect(self.refresh)
        self._design_changed()

    # -- the setup (the design's "sweep") ------------------------------------------------------------
    def setup(self) -> dict[str, Any]:
        """The design's "sweep", each value that is not of its kind (a hand-edited file) left at its default."""
        saved = self.doc.design.sweep or {}
        setup = {key: saved[key] if key in saved and _fits(key, saved[key], default) else default
                 for key, default in DEFAULTS.items()}
        setup["params"] = {k: v for k, v in setup["params"].items() if isinstance(k, str) and isinstance(v, str)}
        return setup

    def sweep_name(self) -> str:
        setup = self.setup()
        return setup["name"] or "+".join(k.split(".", 1)[1] for k in setup["params"])

    def add_param(self, key: str) -> None:
        """Sweep… on a layer parameter or training setting: ask for its range, add it as a row."""
        spec, ok = QInputDialog.getText(self, "Sweep", f"Values of {key} to try\n(float:LOW:HIGH[:log], "
                                        "int:LOW:HIGH[:STEP] or choice:A,B,C):", text=suggest(key, self.doc.design))
        if ok:
            self.set_param(key, spec.strip())

    def set_param(self, key: str, spec: str) -> bool:
        """Add or change a row, checked as ``cnnstudio sweep --param`` checks it; False with the sentence shown."""
        try:
            parse_param(f"{key}={spec}", self.doc.design)
        except SweepError as error:
            self._say(str(error), problem=True)
            self._show_setup()
            return False
        setup = self.setup()
        self.doc.push(SetSweep(self.doc, {**setup, "params": {**setup["params"], key: spec}}, f"Sweep {key}"))
        self._say("")
        return True

    def _row_edited(self, item: QTableWidgetItem) -> None:
        if item.column() == 1:
            self.set_param(self.rows.item(item.row(), 0).text(), item.text().strip())

    def _remove_row(self) -> None:
        row = self.rows.currentRow()
        if row < 0:
            return
        key = self.rows.item(row, 0).text()
        setup = self.setup()
        params = {k: v for k, v in setup["params"].items() if k != key}
        self.doc.push(SetSweep(self.doc, {**setup, "params": params}, f"Stop sweeping {key}"))

    def _form_edited(self) -> None:
        new = {**self.setup(), "name": self.name.text().strip(), "trials": self.trials.value(), "jobs": self.jobs.value(),
               "metric": self.metric_name.text().strip() or None, "sampler": self.sampler.currentText(),
               "pruner": self.pruner.currentText()}
        if new != self.setup():
            self.doc.push(SetSweep(self.doc, new, "Change the sweep"))

    def _show_setup(self) -> None:
        setup = self.setup()
        self.rows.blockSignals(True)
        self.rows.setRowCount(len(setup["params"]))
        for row, (key, spec) in enumerate(setup["params"].items()):
            fixed = QTableWidgetItem(key)
            fixed.setFlags(fixed.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.rows.setItem(row, 0, fixed)
            self.rows.setItem(row, 1, QTableWidgetItem(spec))
        self.rows.blockSignals(False)
        self.name.setText(setup["name"])
        self.trials.setValue(int(setup["trials"]))
        self.jobs.setValue(int(setup["jobs"]))
        self.metric_name.setText(setup["metric"] or "")
        self.sampler.setCurrentText(setup["sampler"])
        self.pruner.setCurrentText(setup["pruner"])
        self._update_buttons()

    def _design_changed(self) -> None:
        self.sweep, self.importance_of = None, 0
        self._show_setup()
        self._show_trials()
        self.refresh()

    # -- running -------------------------------------------------------------------------------------
    def running(self) -> bool:
        return self.process is not None and self.process.state() != QProcess.ProcessState.NotRunning

    def _start_or_stop(self) -> None:
        if self.running():
            self._say("stopping: the running trial writes a checkpoint; Start continues the sweep")
            self.process.terminate()  # the command's SIGTERM: its trials stop with checkpoints
            return
        if not self.setup()["params"]:
            self._say("Nothing varies yet: right-click a layer parameter or a training setting, then Sweep…", problem=True)
            return
        if (self.doc.path is None or self.doc.modified) and (not self.save() or self.doc.path is None):
            self._say("The sweep trains the saved design: save it first (its runs go beside the file)", problem=True)
            return
        self.process = QProcess(self)
        self.process.setProgram(sys.executable)
        self.process.setArguments(["-m", "cnnstudio", "sweep", *self.arguments()])
        self.process.readyReadStandardError.connect(self._read_output)
        self.process.finished.connect(self._finished)
        self.process.start()
        self.poll.start()
        self._say(f"sweep '{self.sweep_name()}' started")
        self._update_buttons()

    def arguments(self) -> list[str]:
        """``cnnstudio sweep`` for this setup."""
        setup = self.setup()
        args = [str(self.doc.path), *(f"--param={k}={v}" for k, v in setup["params"].items()),
                "--trials", str(setup["trials"]), "--jobs", str(setup["jobs"]), "--sweep", self.sweep_name(),
                "--sampler", setup["sampler"], "--pruner", setup["pruner"]]
        return args + (["--metric", setup["metric"]] if setup["metric"] else [])

    def _read_output(self) -> None:
        text = bytes(self.process.readAllStandardError().data()).decode(errors="replace").strip()
        if text:
            self._say(text.splitlines()[-1].removeprefix("cnnstudio sweep: "),
                      problem=text.startswith("cnnstudio sweep:"))

    def _finished(self, code: int, status: QProcess.ExitStatus) -> None:
        self.poll.stop()
        if code == 0:
            self._say(f"sweep '{self.sweep_name()}' finished its trials")
        elif code in (130, 15, -15) or status == QProcess.ExitStatus.CrashExit:
            self._say("stopped: the running trial kept its checkpoint; Start continues the sweep")
        self._update_buttons()
        self.refresh()

    def _update_buttons(self) -> None:
        self.start.setText("Stop" if self.running() else "Start")
        best = (self.sweep or {}).get("best")
        self.apply_best.setEnabled(best is not None)

    def _say(self, text: str, problem: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {theme.colors().error.name()};" if problem else "")

    # -- the trials ----------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the sweep back from its storage (off the GUI thread), unless a read is under way."""
        if self.doc.path is None or self.reading is not None or not self.setup()["params"]:
            return
        _import_optuna_here()
        path, name, sweep = self.doc.path, self.doc.design.name, self.sweep_name()
        self.reading = BackgroundJob(lambda: read_sweep(path, name, sweep), (SweepError, OSError), self)
        self.reading.done.connect(self._read)
        self.reading.failed.connect(lambda message: (self._say(message, problem=True), self._read_done()))
        self.reading.start()

    def _read_done(self) -> None:
        self.reading = None

    def _read(self, sweep: dict[str, Any] | None) -> None:
        self._read_done()
        if _states(sweep) != _states(self.sweep):
            self.trials_changed.emit()
        self.sweep = sweep
        self._show_trials()
        self._update_buttons()
        complete = sum(t["state"] == "complete" for t in (sweep or {}).get("trials", []))
        if complete >= 2 and complete != self.importance_of and self.weighing is None:
            self.importance_of = complete
            path, name, sweep_name = self.doc.path, self.doc.design.name, self.sweep_name()
            self.weighing = BackgroundJob(lambda: read_importance(path, name, sweep_name), (OSError,), self)
            self.weighing.done.connect(self._weighed)
            self.weighing.failed.connect(lambda message: setattr(self, "weighing", None))
            self.weighing.start()

    def _weighed(self, scores: dict[str, float]) -> None:
        self.weighing = None
        plots.importance(self.importance, scores)

    def _show_trials(self) -> None:
        sweep = self.sweep
        trials = sweep["trials"] if sweep else []
        keys = list(dict.fromkeys(k for t in trials for k in t["params"]))
        metric = (sweep or {}).get("metric") or "metric"
        self.table.setColumnCount(4 + len(keys))
        self.table.setHorizontalHeaderLabels(["trial", "state", metric, "time", *(k.split(".", 1)[1] for k in keys)])
        self.table.setRowCount(len(trials))
        grey = theme.colors().muted
        for row, trial in enumerate(trials):
            seconds = (sweep["seconds"] or {}).get(trial["number"])
            cells = [str(trial["number"]), trial["state"],
                     f"{trial['value']:.4g}" if trial["value"] is not None else "-",
                     f"{seconds:.0f} s" if seconds is not None else "-",
                     *(_shown(trial["params"].get(k)) for k in keys)]
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if trial["state"] in ("pruned", "failed"):
                    item.setForeground(grey)
                self.table.setItem(row, column, item)
        self.table.resizeColumnsToContents()
        if sweep:
            plots.parallel(self.parallel, sweep)
            plots.curves(self.curves, sweep, sweep.get("histories") or {})
        else:
            for plot in (self.parallel, self.importance, self.curves):
                plot.clear()

    def _open_trial(self, row: int, column: int) -> None:
        trial = self.sweep["trials"][row] if self.sweep and row < len(self.sweep["trials"]) else None
        if trial and trial["run"]:
            self.open_run(Path(trial["run"]))

    def _apply_best(self) -> None:
        best = (self.sweep or {}).get("best")
        if best is None:
            return
        try:
            apply_values(self.doc, best["params"], f"Apply best trial {best['number']} of {self.sweep['name']}")
        except DesignError as error:
            self._say(f"The best trial's values cannot be applied: {error}", problem=True)
            return
        self._say(f"applied trial {best['number']}'s values (Edit › Undo takes them back)")


def _states(sweep: dict[str, Any] | None) -> list[tuple[int, str]]:
    return [(t["number"], t["state"]) for t in (sweep or {}).get("trials", [])]


def _fits(key: str, value: Any, default: Any) -> bool:
    if key in CHOICES:
        return value in CHOICES[key]
    if default is None:  # the metric: a name, or none for the task's own
        return value is None or isinstance(value, str)
    if isinstance(default, int):
        return isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 10_000
    return isinstance(value, type(default))


def _shown(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
