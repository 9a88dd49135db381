"""One editor widget per parameter kind, built from the :class:`Param` spec (range, choices, axes).

Editors only produce values the spec accepts (spin box ranges, fixed choices), so an edit can
never put an invalid parameter into the design; whether the *design* is then valid is for the
analysis to say. Each editor emits ``value_changed`` once per committed change (not per keystroke),
and ``stepped`` says whether that change came from a step (arrow key, wheel), so steps merge into one
undo step while a typed value stays a step of its own.

The wheel acts only on a focused field (:func:`wheel_only_when_focused`): scrolling a panel over its
editors scrolls the panel and changes nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QRegularExpressionValidator, QValidator
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSpinBox,
    QToolButton,
    QWidget,
)

from cnnstudio.core.params import PADDING_MODES, Param, ParamError, SizeParam


class _WheelGuard(QObject):
    """Passes a wheel event over an unfocused field on to its parents (the scroll area scrolls)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            event.ignore()
            return True
        return False


def wheel_only_when_focused(*widgets: QWidget) -> None:
    """Make each widget take the wheel only once it has the focus (a click or Tab gives it)."""
    for widget in widgets:
        widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        guard = _WheelGuard(widget)
        widget.installEventFilter(guard)


class Stepping:
    """For a spin box: ``stepping`` is true while a step (arrows, wheel) changes the value, so the
    change it emits can be told from a typed one."""

    stepping = False

    def stepBy(self, steps: int) -> None:
        self.stepping = True
        try:
            super().stepBy(steps)  # type: ignore[misc]
        finally:
            self.stepping = False


class StepSpinBox(Stepping, QSpinBox):
    pass


class ParamEditor(QWidget):
    value_changed = Signal(object)

    def __init__(self, spec: Param):
        super().__init__()
        self.spec = spec
        self.stepped = False  # whether the change being emitted came from a step
        self.row = QHBoxLayout(self)
        self.row.setContentsMargins(0, 0, 0, 0)
        self.row.setSpacing(4)
        self.setToolTip(f"{spec.help}\nAllowed: {spec.describe()}.")

    def set_value(self, value: Any) -> None:
        """Show ``value`` without emitting ``value_changed``."""
        self.blockSignals(True)
        try:
            self._show(value)
        finally:
            self.blockSignals(False)

    def _show(self, value: Any) -> None:
        raise NotImplementedError

    def _emit(self, *_: object) -> None:
        self.stepped = any(getattr(spin, "stepping", False) for spin in self.findChildren(QAbstractSpinBox))
        self.value_changed.emit(self.value())

    def value(self) -> Any:
        raise NotImplementedError


def _spin(minimum: int, maximum: int) -> QSpinBox:
    spin = StepSpinBox()
    spin.setRange(minimum, maximum)
    spin.setKeyboardTracking(False)  # commit on Enter, focus change or arrows, not per digit
    spin.setAccelerated(True)
    wheel_only_when_focused(spin)
    return spin


class IntEditor(ParamEditor):
    """A spin box; for an optional integer, one step below the minimum means "auto" (None)."""

    def __init__(self, spec: Param):
        super().__init__(spec)
        self.optional = spec.kind == "optional_int"
        low = spec.minimum - 1 if self.optional else spec.minimum  # type: ignore[attr-defined]
        self.spin = _spin(low, spec.maximum)  # type: ignore[attr-defined]
        if self.optional:
            self.spin.setSpecialValueText("auto")
        self.row.addWidget(self.spin)
        self.spin.valueChanged.connect(self._emit)

    def _show(self, value: Any) -> None:
        self.spin.setValue(self.spin.minimum() if value is None else value)

    def value(self) -> int | None:
        if self.optional and self.spin.value() == self.spin.minimum():
            return None
        return self.spin.value()


class CompactDoubleSpinBox(Stepping, QDoubleSpinBox):
    """Shows 1e-05 and 0.5 as written (``%g``), while keeping full precision."""

    def textFromValue(self, value: float) -> str:
        return f"{value:g}"

    def valueFromText(self, text: str) -> float:
        try:
            return float(text)
        except ValueError:
            return self.value()

    def validate(self, text: str, pos: int) -> tuple[QValidator.State, str, int]:
        if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d*)?", text.strip()):
            return QValidator.State.Acceptable, text, pos
        return QValidator.State.Intermediate, text, pos


class FloatEditor(ParamEditor):
    def __init__(self, spec: Param):
        super().__init__(spec)
        self.spin = CompactDoubleSpinBox()
        self.spin.setDecimals(12)
        self.spin.setRange(spec.minimum, spec.maximum)  # type: ignore[attr-defined]
        self.spin.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        self.spin.setKeyboardTracking(False)
        wheel_only_when_focused(self.spin)
        self.row.addWidget(self.spin)
        self.spin.valueChanged.connect(self._emit)

    def _show(self, value: Any) -> None:
        self.spin.setValue(value)

    def value(self) -> float:
        return self.spin.value()


class BoolEditor(ParamEditor):
    def __init__(self, spec: Param):
        super().__init__(spec)
        self.box = QCheckBox()
        self.row.addWidget(self.box)
        self.row.addStretch()
        self.box.toggled.connect(self._emit)

    def _show(self, value: Any) -> None:
        self.box.setChecked(bool(value))

    def value(self) -> bool:
        return self.box.isChecked()


class ChoiceEditor(ParamEditor):
    def __init__(self, spec: Param):
        super().__init__(spec)
        self.combo = QComboBox()
        self.combo.addItems(list(spec.choices))  # type: ignore[attr-defined]
        wheel_only_when_focused(self.combo)
        self.row.addWidget(self.combo, 1)
        self.combo.currentTextChanged.connect(self._emit)

    def _show(self, value: Any) -> None:
        self.combo.setCurrentText(str(value))

    def value(self) -> str:
        return self.combo.currentText()


class SizeEditor(ParamEditor):
    """One number for every axis, or (with "per axis" on) one per axis, e.g. 3 x 5."""

    def __init__(self, spec: SizeParam, optional: bool = False):
        super().__init__(spec)
        self.dims = spec.dims
        self.auto = QCheckBox("auto") if optional else None
        self.spins = [_spin(spec.minimum, spec.maximum) for _ in range(spec.dims)]
        self.split = QToolButton()
        self.split.setText("per axis")
        self.split.setCheckable(True)
        self.split.setToolTip("Give each axis its own value (e.g. a 3x5 kernel)")
        self.crosses = [QLabel("×") for _ in range(spec.dims - 1)]
        if self.auto is not None:
            self.auto.setToolTip("Leave unset: the layer's default (for pooling, the stride equals the kernel size)")
            self.row.addWidget(self.auto)
            self.auto.toggled.connect(self._layout_changed)
        for i, spin in enumerate(self.spins):
            if i:
                self.row.addWidget(self.crosses[i - 1])
            self.row.addWidget(spin, 1)
            spin.valueChanged.connect(self._emit)
        if self.dims > 1:
            self.row.addWidget(self.split)
            self.split.toggled.connect(self._layout_changed)
        self._update_visibility()

    def _layout_changed(self, *_: object) -> None:
        if not self.split.isChecked():
            for spin in self.spins[1:]:
                spin.setValue(self.spins[0].value())
        self._update_visibility()
        self._emit()

    def _update_visibility(self) -> None:
        auto = self.auto is not None and self.auto.isChecked()
        per_axis = self.split.isChecked()
        for i, spin in enumerate(self.spins):
            spin.setVisible(not auto and (i == 0 or per_axis))
            spin.setEnabled(not auto)
        for cross in self.crosses:
            cross.setVisible(not auto and per_axis)
        self.split.setVisible(self.dims > 1 and not auto)

    def _show(self, value: Any) -> None:
        for widget in (*self.spins, self.split, *([self.auto] if self.auto else [])):
            widget.blockSignals(True)
        if self.auto is not None:
            self.auto.setChecked(value is None)
        if value is not None:
            values = value if isinstance(value, tuple) else (value,) * self.dims
            for spin, v in zip(self.spins, values, strict=True):
                spin.setValue(v)
            self.split.setChecked(isinstance(value, tuple))
        for widget in (*self.spins, self.split, *([self.auto] if self.auto else [])):
            widget.blockSignals(False)
        self._update_visibility()

    def _emit(self, *_: object) -> None:
        if not self.split.isChecked():
            for spin in self.spins[1:]:
                spin.blockSignals(True)
                spin.setValue(self.spins[0].value())
                spin.blockSignals(False)
        super()._emit()

    def value(self) -> int | tuple[int, ...] | None:
        if self.auto is not None and self.auto.isChecked():
            return None
        if self.split.isChecked():
            return tuple(spin.value() for spin in self.spins)
        return self.spins[0].value()


PADDING_TIPS = {
    "valid": "No padding: the output shrinks by (kernel - 1) x dilation",
    "same": "Pad so that the output keeps the input's size (stride 1)",
    "causal": "Pad at the start only, so no output sees the future (sequences)",
    "explicit": "Zeros added on each side, per axis",
}


class PaddingEditor(ParamEditor):
    """"valid", "same" (and "causal" for 1D), or explicit numbers per axis."""

    EXPLICIT = "explicit"

    def __init__(self, spec: SizeParam):
        super().__init__(spec)
        modes = [m for m in PADDING_MODES if m != "causal" or spec.dims == 1]
        self.mode = QComboBox()
        self.mode.addItems([*modes, self.EXPLICIT])
        for index, mode in enumerate(self.mode.itemText(i) for i in range(self.mode.count())):
            self.mode.setItemData(index, PADDING_TIPS[mode], Qt.ItemDataRole.ToolTipRole)
        self.numbers = SizeEditor(spec)
        wheel_only_when_focused(self.mode)
        self.row.addWidget(self.mode)
        self.row.addWidget(self.numbers, 1)
        self.mode.currentTextChanged.connect(self._mode_changed)
        self.numbers.value_changed.connect(self._emit)

    def _mode_changed(self, mode: str) -> None:
        self.numbers.setVisible(mode == self.EXPLICIT)
        self._emit()

    def _show(self, value: Any) -> None:
        self.mode.blockSignals(True)
        explicit = not isinstance(value, str)
        self.mode.setCurrentText(self.EXPLICIT if explicit else value)
        self.mode.blockSignals(False)
        if explicit:
            self.numbers.set_value(value)
        self.numbers.setVisible(explicit)

    def value(self) -> str | int | tuple[int, ...]:
        mode = self.mode.currentText()
        return self.numbers.value() if mode == self.EXPLICIT else mode


class ShapeEditor(ParamEditor):
    """An input shape typed as ``1, 28, 28`` (channels first, without the batch)."""

    def __init__(self, spec: Param):
        super().__init__(spec)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText("C, H, W")
        self.edit.setValidator(QRegularExpressionValidator(r"^\s*\d+(\s*[,x×]\s*\d+){0,3}\s*$"))
        self.row.addWidget(self.edit)
        self.edit.editingFinished.connect(self._commit)

    def _commit(self) -> None:
        try:
            self.spec.coerce(self.value())
        except ParamError as error:
            self.edit.setToolTip(str(error))
            self.edit.setStyleSheet("color: #d23c3c")
            return
        self.edit.setToolTip(self.toolTip())
        self.edit.setStyleSheet("")
        self._emit()

    def _show(self, value: Any) -> None:
        self.edit.setText(", ".join(map(str, value)))

    def value(self) -> tuple[int, ...]:
        return tuple(int(v) for v in re.findall(r"\d+", self.edit.text()))


class JsonView(ParamEditor):
    """Read-only: an imported opaque node's call or constructor, as the importer wrote it."""

    def __init__(self, spec: Param):
        super().__init__(spec)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setMaximumHeight(110)
        self.row.addWidget(self.text)
        self.data: Any = None

    def _show(self, value: Any) -> None:
        self.data = value
        self.text.setPlainText(json.dumps(value, indent=1, ensure_ascii=False))

    def value(self) -> Any:
        return self.data


def make_editor(spec: Param) -> ParamEditor:
    kind = spec.kind
    if kind in ("int", "optional_int"):
        return IntEditor(spec)
    if kind == "float":
        return FloatEditor(spec)
    if kind == "bool":
        return BoolEditor(spec)
    if kind == "choice":
        return ChoiceEditor(spec)
    if kind in ("size", "optional_size"):
        return SizeEditor(spec, optional=kind == "optional_size")  # type: ignore[arg-type]
    if kind == "padding":
        return PaddingEditor(spec)  # type: ignore[arg-type]
    if kind == "shape":
        return ShapeEditor(spec)
    if kind == "json":
        return JsonView(spec)
    raise ValueError(f"no editor for parameter kind {kind!r} ({spec.name})")
