"""The training form checks the settings against the data source and the design as the user
types: the field turns red with the reason, and Start is off with the reason shown."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import FIGURE21, answers, recovery_dir, settings, window  # noqa: F401


def test_data_options_with_idx_data_turn_red_and_start_is_off(window: MainWindow, qtbot) -> None:  # noqa: ANN001, F811
    window.show_design(load_design(TEMPLATES / "triplet.json"), None)
    dock, form = window.training.dock, window.training.dock.form
    assert dock.start.isEnabled() and not form.problems
    line = form.rows["data"]._line()
    line.selectAll()
    QTest.keyClicks(line, "idx:.")  # typed, not yet committed
    assert form.rows["data_options"].problem and "generated data" in form.rows["data_options"].problem
    assert "generated data" in form.rows["data_options"].editor.toolTip()
    assert not dock.start.isEnabled()
    assert dock.blocked.isVisible() and "marked red" in dock.blocked.text() and "generated data" in dock.blocked.toolTip()
    assert "generated data" in dock.start.toolTip()
    line.selectAll()
    QTest.keyClicks(line, "synthetic-shapes")
    assert not form.problems and dock.start.isEnabled() and not dock.blocked.isVisible()


def test_a_value_that_is_not_a_number_is_red_while_typed(window: MainWindow) -> None:  # noqa: F811
    window.open_path(FIGURE21, ask=False)
    form = window.training.dock.form
    line = form.rows["lr"]._line()
    line.selectAll()
    QTest.keyClicks(line, "fast")
    assert "must be a number" in form.rows["lr"].problem
    assert not window.training.dock.start.isEnabled()
    line.selectAll()
    QTest.keyClicks(line, "0.01")
    assert form.rows["lr"].problem == "" and window.training.dock.start.isEnabled()


def test_a_misspelled_data_option_is_red_while_typed_and_start_says_why(window: MainWindow) -> None:  # noqa: F811
    window.open_path(FIGURE21, ask=False)  # synthetic-shapes
    dock, form = window.training.dock, window.training.dock.form
    line = form.rows["data_options"]._line()
    line.selectAll()
    QTest.keyClicks(line, '{"cout": 500}')
    assert "did you mean 'count'" in form.rows["data_options"].problem
    assert not dock.start.isEnabled() and "did you mean 'count'" in dock.start.toolTip()
    line.selectAll()
    QTest.keyClicks(line, '{"count": 500}')
    assert form.rows["data_options"].problem == "" and dock.start.isEnabled()
    QTest.keyClick(line, Qt.Key.Key_Return)  # committed: the design holds it, and it trains
    assert window.doc.design.training["data_options"] == {"count": 500} and dock.start.isEnabled()


def test_a_design_file_with_an_option_out_of_range_opens_red(window: MainWindow) -> None:  # noqa: F811
    design = load_design(FIGURE21)
    design.training = {"data_options": {"noise": 2}}
    window.show_design(design, None)
    dock = window.training.dock
    assert "'noise' must be at most 1" in dock.form.rows["data_options"].problem
    assert not dock.start.isEnabled() and not window.training.start()


def test_a_design_file_with_bad_settings_opens_red_and_start_refuses(window: MainWindow, tmp_path) -> None:  # noqa: F811
    design = load_design(FIGURE21)
    design.training = {"data": "folder:/no/such/folder", "epochs": 2}
    window.show_design(design, None)
    dock = window.training.dock
    assert "does not exist" in dock.form.rows["data"].problem
    assert not dock.start.isEnabled()
    assert not window.training.start()
    assert "does not exist" in window.training.log.entries[-1].message


def test_start_is_off_while_the_design_has_errors(window: MainWindow) -> None:  # noqa: F811
    window.open_path(FIGURE21, ask=False)
    dock = window.training.dock
    window.editor.set_param("conv3", "kernel_size", 11)
    assert not dock.start.isEnabled() and "error" in dock.blocked.text()
    window.doc.undo_stack.undo()
    assert dock.start.isEnabled()
