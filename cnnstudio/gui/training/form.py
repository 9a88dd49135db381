"""The training settings form, built from the engine's field metadata, editing the design.

Every row comes from a ``TrainingSettings`` (or task options) field: its type picks the editor,
its ``option()`` metadata gives the default, help, choices and bounds. A new engine key appears
here without touching this module. Edits go through the undo stack as :class:`SetTraining`
commands on the design's ``"training"`` object, so they are undoable and saved with the design;
every edit is checked with ``parse_settings`` first and refused with the engine's own message.

The whole object is also checked against the design and its data source as the user types
(:func:`cnnstudio.training.check.training_problems`): a field with a problem turns red with the
reason written under it, and ``validity_changed`` tells the dock why Start cannot run. A refused
value stays in its field, with the reason and the value the design keeps; nothing reverts silently
(a number out of bounds, such as a batch size of 0, is typed and refused, not clamped by the box).
The wheel changes a field only once it has the focus, so it scrolls the form. Warnings (data that
can only waste outputs) are shown above the fields but do not stop Start.

Keys the design's object leaves out take the defaults the design implies
(:mod:`cnnstudio.training.defaults`): an empty Data field says which source was picked and why, in
grey, and a line at the top lists every default picked. Choosing the picked value again removes
the key, so the setting keeps following the design.
"""

from __future__ import annotations

import dataclasses
import json
import time
import typing
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui import theme
from cnnstudio.gui.document import Document
from cnnstudio.gui.param_editors import StepSpinBox, wheel_only_when_focused
from cnnstudio.gui.sweeps.menu import offer_sweep
from cnnstudio.training.check import TrainingProblem, errors, training_problems
from cnnstudio.training.defaults import Picked, default_settings, picked_defaults, with_defaults
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import TrainingSettings, parse_settings
from cnnstudio.training.task_options import TASK_OPTIONS

MERGE_WINDOW = 2.0
_SET_TRAINING_ID = 101
GROUPS = {  # the form's sections; keys not named here land in "More" so none is ever hidden
    "Data": ["data", "data_options", "val_split", "classes", "augment"],
    "Task": ["task", "outputs", "loss_weights"],
    "Hyperparameters": ["epochs", "batch_size", "optimizer", "lr", "schedule", "step_size", "gamma", "momentum",
                        "nesterov", "weight_decay", "grad_clip", "seed", "init_weights"],
    "Device": ["device", "amp", "amp_dtype"],
}
RELEVANT = {  # key: (the key it depends on, the values where it matters)
    "momentum": ("optimizer", {"sgd"}),
    "nesterov": ("optimizer", {"sgd"}),
    "step_size": ("schedule", {"step"}),
    "gamma": ("schedule", {"step"}),
    "amp_dtype": ("amp", {True}),
}
SUGGESTIONS = {  # offered in editable boxes; anything else may be typed (the engine checks it)
    "data": ["synthetic-shapes", "synthetic-sequences", "synthetic-volumes", "synthetic-video", "mnist", "fashion-mnist",
             "cifar10"],
    "device": ["auto", "cpu", "cuda", "mps"],
}
LABELS = {"lr": "Learning rate", "val_split": "Validation split", "grad_clip": "Gradient clip", "amp": "Mixed precision", "amp_dtype": "Precision type"}


class SetTraining(QUndoCommand):
    """Replace the design's "training" object; repeated edits of one key merge (spin box steps)."""

    def __init__(self, doc: Document, new: dict[str, Any], key: str, mergeable: bool = True):
        super().__init__(f"Set training {key}")
        self.doc, self.key, self.mergeable = doc, key, mergeable
        self.old, self.new = dict(doc.design.training), dict(new)
        self.stamp = time.monotonic()

    def id(self) -> int:
        return _SET_TRAINING_ID if self.mergeable else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (isinstance(other, SetTraining) and other.mergeable and other.key == self.key
                and other.stamp - self.stamp <= MERGE_WINDOW):
            return False
        self.new, self.stamp = other.new, other.stamp
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        with self.doc.editing():  # the views read the task from it
            self.doc.set_training(self.new)

    def undo(self) -> None:
        with self.doc.editing():
            self.doc.set_training(self.old)


@dataclasses.dataclass
class Row:
    """One key's editor and how to read and show its value."""

    spec: dataclasses.Field
    kind: Any
    editor: QWidget
    label: QLabel
    reason: QLabel = dataclasses.field(default_factory=QLabel)  # the problem, written under the field
    tip: str = ""
    problem: str = ""
    picked: Picked | None = None  # the default the design implies for this key, if it picks one

    @property
    def optional(self) -> bool:
        return type(None) in typing.get_args(self.kind)

    @property
    def base(self) -> Any:
        args = [a for a in typing.get_args(self.kind) if a is not type(None)]
        return args[0] if self.optional else self.kind

    def show(self, value: Any) -> None:
        editor = self.editor
        editor.blockSignals(True)
        if isinstance(editor, QCheckBox):
            editor.setChecked(bool(value))
        elif isinstance(editor, QSpinBox):
            editor.setValue(int(value))
        elif isinstance(editor, QComboBox) and not editor.isEditable():
            editor.setCurrentText(str(value))
        else:
            self._line().setText(_text(value, self.base))
        editor.blockSignals(False)

    def read(self) -> Any:
        """The value as the design file holds it; ValueError with a sentence if it is not one."""
        editor = self.editor
        if isinstance(editor, QCheckBox):
            return editor.isChecked()
        if isinstance(editor, QSpinBox):
            return editor.value()
        if isinstance(editor, QComboBox) and not editor.isEditable():
            return editor.currentText()
        text = self._line().text().strip()
        if not text:
            if self.picked is not None:
                return self.picked.value
            if self.optional:
                return None
            if self.base is dict:
                return {}
            raise ValueError(f"'{self.spec.name}' needs a value")
        if self.base is str:
            return text
        if self.base is float:
            try:
                return float(text)
            except ValueError:
                raise ValueError(f"'{self.spec.name}' must be a number, got '{text}'") from None
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            example = "[1, 2]" if typing.get_origin(self.base) is list else '{"key": 1}'
            raise ValueError(f"'{self.spec.name}' must be written as JSON, e.g. {example}") from None

    def mark(self, problem: str) -> None:
        """Red with the reason under the field (and in the tooltip), or back to normal for ""."""
        if problem == self.problem:
            return
        self.problem = problem
        self.reason.setText(problem)
        self.reason.setVisible(bool(problem))
        typed = not isinstance(self.editor, (QCheckBox, QSpinBox)) and not (
            isinstance(self.editor, QComboBox) and not self.editor.isEditable())
        target = self._line() if typed else self.editor
        target.setStyleSheet(f"border: 1.5px solid {theme.colors().error.name()};" if problem else "")
        self.editor.setProperty("invalid", bool(problem))
        tip = f"{problem}\n\n{self.tip}" if problem else self.tip
        self.editor.setToolTip(tip)
        target.setToolTip(tip)
        self.label.setStyleSheet(f"color: {theme.colors().error.name()};" if problem else "")

    def _line(self) -> QLineEdit:
        return self.editor.lineEdit() if isinstance(self.editor, QComboBox) else self.editor.findChild(QLineEdit) or self.editor


def _text(value: Any, base: Any) -> str:
    if value is None:
        return ""
    if base is str:
        return str(value)
    if base is float:
        return f"{value:g}"
    return json.dumps(value) if value not in ({}, []) else ""


class SettingsForm(QWidget):
    """The sections of the "training" object; ``error`` tells which edit was refused, and why."""

    error = Signal(str)
    validity_changed = Signal(str)  # the first problem of the settings, "" when they can train
    sweep_requested = Signal(str)  # right-click a setting → Sweep…: its KEY (training.NAME)

    def __init__(self, doc: Document, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.problems: list[TrainingProblem] = []  # errors: Start waits for them
        self.warnings: list[TrainingProblem] = []
        self.rows: dict[str, Row] = {}
        self.task_rows: list[str] = []
        self.shown_task: str | None = None
        self.refused: dict[str, str] = {}  # key: why the value its field shows was not applied
        self._seen: dict[str, Any] = {}  # the design's object as last shown
        self.warning = QLabel(wordWrap=True)  # data that can only waste outputs: Start still runs
        self.warning.setVisible(False)
        self.defaults = QLabel(wordWrap=True)  # the defaults picked for this design, in grey
        self.defaults.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.warning)
        layout.addWidget(self.defaults)
        self.forms: dict[str, QFormLayout] = {}
        hints = typing.get_type_hints(TrainingSettings)
        specs = {f.name: f for f in dataclasses.fields(TrainingSettings) if f.name != "task_options"}
        placed = {name for names in GROUPS.values() for name in names}
        sections = {**GROUPS, "More": [name for name in specs if name not in placed]}
        for title, names in sections.items():
            if not names:
                continue
            box = QGroupBox(title)
            form = QFormLayout(box)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # label above its field when narrow
            self.forms[title] = form
            for name in names:
                self._add_row(form, specs[name], hints[name])
            layout.addWidget(box)
        layout.addStretch(1)
        doc.training_changed.connect(self._training_changed)
        doc.reset.connect(self._new_design)
        doc.analyzed.connect(self._design_edited)  # an edit of the design (its Input shape...) may matter
        self.refresh()

    # -- building ----------------------------------------------------------------------------------
    def _add_row(self, form: QFormLayout, spec: dataclasses.Field, kind: Any) -> Row:
        meta = spec.metadata
        label = QLabel(LABELS.get(spec.name, spec.name.replace("_", " ").capitalize()))
        row = Row(spec, kind, QWidget(), label)  # the editor depends on the row's type, so it comes second
        row.editor = self._editor(row, meta)
        tip = f"{meta['help']}{_bounds(meta)}\nKey \"{spec.name}\", default {json.dumps(_default(spec))}."
        label.setToolTip(tip)
        offer_sweep(label, f"training.{spec.name}", self.sweep_requested)
        row.editor.setToolTip(tip)
        row.tip = tip
        self.rows[spec.name] = row
        form.addRow(label, self._with_reason(row))
        return row

    @staticmethod
    def _with_reason(row: Row) -> QWidget:
        """The editor with its reason label under it: a refusal is read where the value was typed."""
        field = QWidget()
        column = QVBoxLayout(field)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(row.editor)
        row.reason.setWordWrap(True)
        row.reason.setObjectName("reason")
        row.reason.setStyleSheet(f"color: {theme.colors().error.name()};")
        row.reason.setVisible(False)
        column.addWidget(row.reason)
        field.setFocusProxy(row.editor)
        return field

    def _editor(self, row: Row, meta: typing.Mapping[str, Any]) -> QWidget:
        name, base = row.spec.name, row.base
        if base is bool:
            editor = QCheckBox()
            editor.toggled.connect(lambda _=False: self.commit(name))
            return editor
        if meta["choices"]:
            editor = QComboBox()
            editor.addItems(list(meta["choices"]))
            wheel_only_when_focused(editor)
            editor.currentTextChanged.connect(lambda _="": self.commit(name))
            return editor
        if base is int and not row.optional:
            editor = BoundedSteps(meta["minimum"], meta["maximum"])
            editor.setGroupSeparatorShown(True)
            editor.setKeyboardTracking(False)
            wheel_only_when_focused(editor)
            editor.valueChanged.connect(lambda _=0: self.commit(name))
            return editor
        if name in SUGGESTIONS:
            editor = QComboBox()
            editor.setEditable(True)
            editor.addItems(SUGGESTIONS[name])
            wheel_only_when_focused(editor)
            editor.lineEdit().editingFinished.connect(lambda: self.commit(name))
            editor.lineEdit().textEdited.connect(lambda _="": self.check_typed(name))
            editor.activated.connect(lambda _=0: self.commit(name))
            return self._with_browse(editor, name) if name == "data" else editor
        editor = QLineEdit()
        editor.setPlaceholderText("none" if row.optional else "{}" if base is dict else "")
        editor.editingFinished.connect(lambda: self.commit(name))
        editor.textEdited.connect(lambda _="": self.check_typed(name))
        return self._with_browse(editor, name) if name == "init_weights" else editor

    def _with_browse(self, editor: QWidget, name: str) -> QWidget:
        """The editor with a "…" button: a folder for data (idx: or folder:), a file for weights."""
        box = QWidget()
        line = QHBoxLayout(box)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(editor, 1)
        button = QToolButton(text="…")
        button.setToolTip("Choose a folder of MNIST-format (IDX) files or of class sub-folders" if name == "data"
                          else "Choose a checkpoint or weights file")
        button.clicked.connect(lambda: self._browse(name))
        line.addWidget(button)
        box.setFocusProxy(editor)
        return box

    def _browse(self, name: str) -> None:
        row = self.rows[name]
        if name == "init_weights":
            path, _ = QFileDialog.getOpenFileName(self, "Start From Weights", "", "Weights (*.pt *.pth *.safetensors);;All files (*)")
            value = path
        else:
            path = QFileDialog.getExistingDirectory(self, "Training Data Folder")
            idx = path and any("idx" in entry.name for entry in Path(path).iterdir())
            value = f"{'idx' if idx else 'folder'}:{path}" if path else ""
        if value:
            row._line().setText(value)
            self.commit(name)

    def _sync_task_rows(self, task: str) -> None:
        """The selected task's own keys, in the Task section."""
        if task == self.shown_task:
            return
        form = self.forms["Task"]
        for name in self.task_rows:
            form.removeRow(self.rows.pop(name).label)
        options = TASK_OPTIONS[task]
        hints = typing.get_type_hints(options)
        self.task_rows = [self._add_row(form, spec, hints[spec.name]).spec.name for spec in dataclasses.fields(options)]
        self.shown_task = task

    # -- showing and editing -----------------------------------------------------------------------
    def settings(self) -> TrainingSettings:
        """The design's settings; TrainingError if its "training" object is wrong."""
        return default_settings(self.doc.design)

    def _training_changed(self) -> None:
        """The design's object changed (this form, an undo, Apply Best...): a refused value whose key the
        design now sets otherwise is outdated, so it goes and the field shows the design's value."""
        raw = self.doc.design.training
        for name in [n for n in self.refused if raw.get(n) != self._seen.get(n)]:
            del self.refused[name]
        self.refresh()

    def refresh(self) -> None:
        raw = self.doc.design.training
        self._seen = dict(raw)
        try:
            settings = self.settings()
        except TrainingError:  # shown by _check, field by field
            task = raw.get("task") if raw.get("task") in TASK_OPTIONS else None
            settings = parse_settings(with_defaults({"task": task} if task else {}, self.doc.design, analysis=self.doc.analysis))
        self._sync_task_rows(settings.task)
        values = settings.to_dict()
        self._show_defaults()
        for name, row in self.rows.items():
            if name in self.refused:  # a refused value stays in view with its reason
                continue
            shown = values.get(name) if row.picked is None or isinstance(row.editor, QComboBox) and not row.editor.isEditable() else ""
            row.show(raw.get(name, shown))
        for name, (other, where) in RELEVANT.items():
            relevant = values.get(other) in where
            self.rows[name].editor.setEnabled(relevant)
            self.rows[name].label.setEnabled(relevant)
        self._check()

    # -- checking as the user types ------------------------------------------------------------
    def _show_defaults(self) -> None:
        """Each key the design picks a default for: the row's grey placeholder, and the line at the top."""
        raw = self.doc.design.training
        written = {k: v for k, v in raw.items() if k not in ("task", "data")}  # what each would be if left out
        picks = {pick.key: pick for pick in picked_defaults(self.doc.design, written, self.doc.analysis)}
        for name, row in self.rows.items():
            row.picked = picks.get(name)
            line = row._line()
            if name in ("task", "data") and isinstance(line, QLineEdit):  # the task's is a fixed list
                line.setPlaceholderText(str(row.picked) if row.picked is not None else "")
        shown = [f"{pick.key}: {pick.value} ({pick.reason})" for key, pick in picks.items() if key not in raw]
        muted = theme.colors().muted.name()
        self.defaults.setText(f"<span style='color:{muted}'>Defaults for this design: {'; '.join(shown)}</span>"
                              if shown else "")
        self.defaults.setVisible(bool(shown))

    def _design_edited(self) -> None:
        """An edit of the design may change the defaults it implies (the task its outputs call for)."""
        try:
            picked_task = self.settings().task
        except TrainingError:
            picked_task = self.shown_task
        if picked_task != self.shown_task:
            return self.refresh()
        self._show_defaults()
        self._check()

    def _check(self) -> None:
        """Check the design's settings; mark every field with a problem and say whether Start can run."""
        self._show(training_problems(self.doc.design.training, self.doc.design, self.doc.analysis))

    def check_typed(self, name: str) -> None:
        """Check what is being typed into ``name`` before it is committed (at Enter or focus out)."""
        try:
            value = self.rows[name].read()
        except ValueError as error:
            self._show([TrainingProblem(name, str(error))])
            return
        self._show(training_problems({**self.doc.design.training, name: value}, self.doc.design, self.doc.analysis))

    def _show(self, problems: list[TrainingProblem]) -> None:
        self.problems = errors(problems)
        self.warnings = [problem for problem in problems if problem not in self.problems]
        first: dict[str, str] = dict(self.refused)
        for problem in self.problems:  # "data_options.count" is a problem of the data_options row
            first.setdefault(problem.key.partition(".")[0], problem.message)
        for key, row in self.rows.items():
            row.mark(first.get(key, ""))
        self._show_warning(self.warnings[0].message if self.warnings else "")
        self.validity_changed.emit(self.problems[0].message if self.problems else "")

    def _new_design(self) -> None:
        self.refused.clear()
        self.refresh()

    def commit(self, name: str) -> None:
        """Push the edit of ``name`` if it is valid; else say why beside the field, keeping what was typed."""
        row = self.rows[name]
        training = dict(self.doc.design.training)
        self.refused.pop(name, None)
        try:
            value = row.read()
        except ValueError as error:
            return self._refuse(name, str(error))
        if name == "task":  # the keys of the previous task would be refused by the new one
            own = {f.name for f in dataclasses.fields(TASK_OPTIONS[value])}
            others = {f.name for cls in TASK_OPTIONS.values() for f in dataclasses.fields(cls)} - own
            training = {k: v for k, v in training.items() if k not in others}
        if value == (row.picked.value if row.picked is not None else _default(row.spec)):
            training.pop(name, None)  # the default, or the one the design picks: it follows the design
        else:
            training[name] = value
        if training == self.doc.design.training:
            return self.refresh()
        try:  # with the defaults the design implies (its picked task and data), as check and the engine do
            parse_settings(with_defaults(training, self.doc.design, analysis=self.doc.analysis))
        except TrainingError as error:
            return self._refuse(name, str(error).removeprefix('"training": '))
        stepped = getattr(row.editor, "stepping", False) or isinstance(row.editor, QComboBox) and not row.editor.isEditable()
        # valid alone, maybe not with the data: then marked red by the check
        self.doc.push(SetTraining(self.doc, training, name, mergeable=stepped))

    def _refuse(self, name: str, message: str) -> None:
        """Keep the typed value in view, say why it was refused and what the design keeps."""
        try:
            kept = self.settings().to_dict().get(name, _default(self.rows[name].spec))
        except TrainingError:  # the object is wrong elsewhere: what the design's object says, or the default
            kept = self.doc.design.training.get(name, _default(self.rows[name].spec))
        self.refused[name] = f"{message.rstrip('.')}. Not applied: the design keeps {json.dumps(kept)}."
        self.error.emit(message)
        self._check()

    def _show_warning(self, message: str) -> None:
        colour = theme.colors().warning.name()
        self.warning.setText(f"<span style='color:{colour}'>{message}</span>" if message else "")
        self.warning.setVisible(bool(message))


class BoundedSteps(StepSpinBox):
    """An integer field whose steps stay within the key's bounds while any integer can be typed,
    so an out-of-bounds value is refused with the engine's reason instead of clamped by the box."""

    def __init__(self, low: float | None, high: float | None):
        super().__init__()
        self.low = int(low) if low is not None else -2**31
        self.high = int(min(high, 2**31 - 1)) if high is not None else 2**31 - 1
        self.setRange(-2**31, 2**31 - 1)

    def stepBy(self, steps: int) -> None:
        target = min(max(self.value() + steps * self.singleStep(), self.low), self.high)
        super().stepBy(target - self.value())


def _default(spec: dataclasses.Field) -> Any:
    return spec.default if spec.default is not dataclasses.MISSING else spec.default_factory()  # type: ignore[misc]


def _bounds(meta: typing.Mapping[str, Any]) -> str:
    low, high = meta["minimum"], meta["maximum"]
    if low is None and high is None:
        return ""
    parts = [f"{'>' if meta['exclusive'] else '≥'} {low:g}" if low is not None else "", f"≤ {high:g}" if high is not None else ""]
    return "\nAllowed: " + ", ".join(p for p in parts if p) + "."
