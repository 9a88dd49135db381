"""Issue 23, D1 and D7: the wheel changes a field only once it has the focus (over the Inspector
and the Training form alike), typed values and wheel steps are separate undo steps, and a refused
training value stays in its field with the reason written under it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QAbstractSpinBox, QApplication, QComboBox, QWidget

from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import FIGURE21, answers, figure21, recovery_dir, settings, window  # noqa: F401


def wheel(widget: QWidget, notches: int) -> bool:
    """One wheel turn over ``widget``'s centre; returns whether the widget itself took it."""
    centre = QPointF(widget.rect().center())
    event = QWheelEvent(centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, 120 * notches),
                        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)
    return event.isAccepted()


def test_the_wheel_over_unfocused_inspector_fields_changes_nothing(figure21) -> None:  # noqa: F811
    win = figure21
    win.select_node("conv1")
    before = dict(win.doc.design.node("conv1").params)
    win.view.setFocus()
    fields = win.inspector.body.findChildren(QAbstractSpinBox) + win.inspector.body.findChildren(QComboBox)
    assert len(fields) >= 6
    for field in fields:
        wheel(field, -3)
        wheel(field, 2)
    assert win.doc.design.node("conv1").params == before
    assert win.doc.undo_stack.count() == 0


def test_the_wheel_changes_a_focused_field(figure21, qtbot) -> None:  # noqa: F811
    win = figure21
    win.select_node("conv1")
    spin = win.inspector.editors["kernel_size"].spins[0]
    win.activateWindow()
    spin.setFocus()
    qtbot.waitUntil(spin.hasFocus)
    assert wheel(spin, -2)
    assert win.doc.design.node("conv1").params["kernel_size"] == 3


def test_a_typed_value_and_the_steps_after_it_undo_separately(figure21) -> None:  # noqa: F811
    win = figure21
    win.select_node("conv1")
    spin = win.inspector.editors["out_channels"].spin
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "11")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    spin.stepDown()
    spin.stepDown()
    assert win.doc.design.node("conv1").params["out_channels"] == 9
    win.act_undo.trigger()  # the two steps, merged
    assert win.doc.design.node("conv1").params["out_channels"] == 11
    win.act_undo.trigger()  # the typed value
    assert win.doc.design.node("conv1").params["out_channels"] == 6


@pytest.mark.parametrize("name", ["epochs", "batch_size", "optimizer", "device"])
def test_the_wheel_over_unfocused_training_fields_changes_nothing(window: MainWindow, name: str) -> None:  # noqa: F811
    window.open_path(FIGURE21, ask=False)
    form = window.training.dock.form
    before = dict(window.doc.design.training)
    window.view.setFocus()
    editor = form.rows[name].editor
    target = editor if isinstance(editor, (QAbstractSpinBox, QComboBox)) else editor.findChild(QComboBox)
    assert not wheel(target, 4)
    assert window.doc.design.training == before


@hsettings(max_examples=15, deadline=None)
@given(batch=st.integers(min_value=-10_000, max_value=0))
def test_a_refused_batch_size_stays_with_its_reason_beside_it(qapp, batch: int) -> None:
    from cnnstudio.core.designfile import load_design
    from cnnstudio.gui.document import Document
    from cnnstudio.gui.training.form import SettingsForm

    doc = Document()
    doc.load(load_design(FIGURE21), None)
    form = SettingsForm(doc)
    form.show()
    before = dict(doc.design.training)
    spin = form.rows["batch_size"].editor
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, str(batch))
    QTest.keyClick(spin, Qt.Key.Key_Return)
    row = form.rows["batch_size"]
    assert spin.value() == batch  # not clamped, not reverted
    assert "at least 1" in row.problem and "keeps 64" in row.problem
    assert row.reason.isVisible() and row.reason.text() == row.problem
    assert doc.design.training == before
    spin.selectAll()
    QTest.keyClicks(spin, "32")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert doc.design.training["batch_size"] == 32 and row.problem == "" and not row.reason.isVisible()
    form.close()
    form.deleteLater()


def test_a_refused_typed_value_is_not_restored_by_enter(window: MainWindow) -> None:  # noqa: F811
    window.open_path(FIGURE21, ask=False)
    form = window.training.dock.form
    line = form.rows["lr"]._line()
    line.setFocus()
    line.selectAll()
    QTest.keyClicks(line, "-1")
    QTest.keyClick(line, Qt.Key.Key_Return)
    row = form.rows["lr"]
    assert line.text() == "-1"
    assert "greater than 0" in row.problem and "Not applied" in row.problem and row.reason.isVisible()
    assert "lr" not in window.doc.design.training or window.doc.design.training["lr"] > 0
    form.rows["epochs"].editor.stepUp()  # an unrelated edit keeps the refused value in view
    assert line.text() == "-1" and row.reason.isVisible()
