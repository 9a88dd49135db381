"""The inspector and the summary on the real widgets: editing a parameter re-validates at once,
errors show on the card, in the summary and in the status bar, and a Fix applies in one click."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QPushButton

from cnnstudio.gui.param_editors import IntEditor, PaddingEditor, SizeEditor
from gui_fixtures import TEMPLATES_DIR, answers, figure21, recovery_dir, settings, window  # noqa: F401


def live_text(win, name: str) -> str:  # noqa: ANN001
    return win.inspector.live.findChild(QLabel, name).text()


def test_inspector_builds_editors_from_the_parameter_specs(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.select_node("conv1")
    editors = win.inspector.editors
    assert list(editors) == ["out_channels", "kernel_size", "stride", "padding", "dilation", "groups", "bias"]
    assert isinstance(editors["out_channels"], IntEditor)
    assert editors["out_channels"].spin.minimum() == 1
    assert isinstance(editors["kernel_size"], SizeEditor) and isinstance(editors["padding"], PaddingEditor)
    assert live_text(win, "output-shape") == "24x24x6"
    assert "H: (28 - 5 + 2*0)/1 + 1 = 24" in live_text(win, "formula")


def test_changing_a_parameter_updates_shapes_everywhere_and_undoes(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.select_node("conv1")
    spin = win.inspector.editors["kernel_size"].spins[0]
    spin.setFocus()
    spin.selectAll()
    QTest.keyClicks(spin, "3")
    QTest.keyClick(spin, Qt.Key.Key_Return)
    assert win.doc.design.node("conv1").params["kernel_size"] == 3
    assert live_text(win, "output-shape") == "26x26x6"
    assert win.scene.nodes["conv1"].card.shape == "26x26x6"
    assert win.scene.nodes["conv1"].card.detail == "6@3x3 valid"
    assert win.scene.edges[("conv1", "relu1")].label == "26x26x6"
    assert win.summary.table.topLevelItem(1).text(2) == "26x26x6"
    win.act_undo.trigger()
    assert win.doc.design.node("conv1").params["kernel_size"] == 5
    assert spin.value() == 5 and live_text(win, "output-shape") == "24x24x6"


def test_spin_steps_on_one_parameter_merge_into_one_undo_step(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.select_node("conv1")
    spin = win.inspector.editors["out_channels"].spin
    for _ in range(3):
        spin.stepUp()
    assert win.doc.design.node("conv1").params["out_channels"] == 9
    assert win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    assert win.doc.design.node("conv1").params["out_channels"] == 6


def test_an_error_turns_the_node_red_and_is_listed(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.select_node("conv3")
    win.inspector.editors["kernel_size"].spins[0].setValue(11)  # larger than the 10x10 input
    card = win.scene.nodes["conv3"].card
    assert card.severity == "error" and "Error:" in card.tooltip
    assert win.scene.edges[("pool1", "conv3")].severity == "error"
    assert "1 error" in win.validity.text()
    problems = win.summary.problems
    assert problems.count() == 1 and problems.item(0).text().startswith("conv3: ")
    assert "11" in problems.item(0).text() and win.summary.problems_title.text() == "Problems: 1 error"
    assert any(label.text().startswith("<b>Error.</b>") for label in win.inspector.live.findChildren(QLabel))
    win.act_undo.trigger()
    assert win.scene.nodes["conv3"].card.severity is None and "valid" in win.validity.text()


def test_fix_button_applies_the_fix_as_an_undoable_command(window) -> None:  # noqa: ANN001, F811
    win = window
    assert win.open_path(TEMPLATES_DIR / "residual.json", ask=False)
    win.select_node("block")
    win.inspector.editors["projection"].combo.setCurrentText("identity")
    assert win.doc.analysis.nodes["block"].errors
    (button,) = win.inspector.live.findChildren(QPushButton)
    assert button.text() == 'Fix: set projection to "auto"'
    button.click()
    assert win.doc.design.node("block").params["projection"] == "auto" and win.doc.analysis.valid
    assert win.inspector.editors["projection"].value() == "auto"
    win.act_undo.trigger()
    assert win.doc.design.node("block").params["projection"] == "identity"


def test_a_fix_that_breaks_the_next_layer_is_explained_and_working_ones_are_offered(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.select_node("conv3")
    win.inspector.editors["kernel_size"].spins[0].setValue(11)  # 10 would fit conv3 but break pool2
    note = win.inspector.live.findChild(QLabel, "fix-breaks")
    assert note is not None and note.text().startswith("set kernel_size to 10 makes pool2 fail: ")
    buttons = win.inspector.live.findChildren(QPushButton)
    assert [b.text() for b in buttons] == ['Fix: set padding to "same"', "Fix: set kernel_size to 9"]
    buttons[0].click()
    assert win.doc.analysis.valid and win.doc.design.node("conv3").params["padding"] == "same"
    win.act_undo.trigger()
    assert win.doc.design.node("conv3").params["padding"] == "valid"


def test_frozen_and_label_edits(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.select_node("fc1")
    win.inspector.frozen.click()
    assert win.doc.design.node("fc1").frozen and win.scene.nodes["fc1"].card.frozen
    assert "Non-trainable:</b> 27,904" in win.summary.totals.text()
    win.inspector.label_edit.setText("hidden")
    win.inspector.label_edit.editingFinished.emit()
    assert win.doc.design.node("fc1").label == "hidden" and win.scene.nodes["fc1"].card.title == "hidden"
    win.act_undo.trigger()
    win.act_undo.trigger()
    assert not win.doc.design.node("fc1").frozen and win.doc.design.node("fc1").label is None


def test_clicking_a_summary_row_selects_the_node(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    table = win.summary.table
    row = next(table.topLevelItem(i) for i in range(table.topLevelItemCount()) if table.topLevelItem(i).text(0) == "pool2")
    table.scrollToItem(row)
    rect = table.visualItemRect(row)
    where = rect.topLeft() + QPoint(20, rect.height() // 2)  # on the name: the narrow dock scrolls the rest
    QTest.mouseClick(table.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    assert win.scene.selected_node_ids() == ["pool2"]
    assert win.inspector.node_id == "pool2"
    assert "Total params:</b> 36,054" in win.summary.totals.text()


def test_status_bar_says_valid_with_the_parameter_count(figure21) -> None:  # noqa: ANN001, F811
    assert "valid, 36.1 k parameters" in figure21.validity.text()


def test_typing_in_a_field_never_triggers_canvas_shortcuts(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.select_node("fc1")
    edit = win.inspector.label_edit
    edit.setFocus()
    zoom = win.view.zoom
    QTest.keyClicks(edit, "fc")
    QTest.keyClick(edit, Qt.Key.Key_Backspace)
    QTest.keyClick(edit, Qt.Key.Key_Delete)
    assert edit.text() == "f" and "fc1" in win.doc.design and win.view.zoom == zoom
