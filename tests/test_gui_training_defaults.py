"""The studio's Training form shows the defaults it picked for the design, and Start is off, with
both sides named, when the data does not fit the model (a warning leaves Start on)."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401
from test_training_datacheck import ERRORS, classifier, error_case, image_folder
from test_training_defaults import sequence_design


def test_a_design_without_settings_shows_the_defaults_it_picked(window: MainWindow) -> None:  # noqa: F811
    window.show_design(sequence_design("causal"), None)
    dock, form = window.training.dock, window.training.dock.form
    line = form.rows["data"]._line()
    assert line.text() == "" and line.placeholderText() == "default: synthetic-sequences (fits Input [1, 64], sequences)"
    assert form.defaults.isVisible() and "data: synthetic-sequences (fits Input [1, 64]" in form.defaults.text()
    assert form.rows["task"].editor.currentText() == "classification"
    assert not form.problems and dock.start.isEnabled()
    assert form.settings().data == "synthetic-sequences"


def test_choosing_the_picked_source_keeps_following_the_design(window: MainWindow) -> None:  # noqa: F811
    window.show_design(sequence_design("same"), None)
    form = window.training.dock.form
    line = form.rows["data"]._line()
    QTest.keyClicks(line, "synthetic-sequences")
    QTest.keyClick(line, Qt.Key.Key_Return)
    assert "data" not in window.doc.design.training  # the picked value: the key stays out
    line.selectAll()
    QTest.keyClicks(line, "synthetic-shapes")  # an image source for a sequence Input: red, Start off
    QTest.keyClick(line, Qt.Key.Key_Return)
    assert window.doc.design.training["data"] == "synthetic-shapes"
    assert "gives images" in form.rows["data"].problem and not window.training.dock.start.isEnabled()
    line.clear()
    QTest.keyClick(line, Qt.Key.Key_Return)  # emptied: back to the default
    assert "data" not in window.doc.design.training and window.training.dock.start.isEnabled()


@pytest.mark.parametrize("name", ERRORS)
def test_each_mismatch_turns_start_off_with_both_sides(name: str, window: MainWindow, tmp_path) -> None:  # noqa: F811
    design, raw, needle = error_case(name, tmp_path)
    design.training = raw
    window.show_design(design, None)
    dock = window.training.dock
    assert not dock.start.isEnabled() and needle in dock.start.toolTip()
    assert dock.blocked.isVisible() and needle in dock.form.rows["data"].problem
    assert not window.training.start()
    assert needle in window.training.log.entries[-1].message


def test_fewer_classes_than_outputs_is_shown_but_start_stays_on(window: MainWindow, tmp_path) -> None:  # noqa: F811
    design = classifier(10)
    design.training = {"data": f"folder:{image_folder(tmp_path / 'pics', 2)}"}
    window.show_design(design, None)
    dock, form = window.training.dock, window.training.dock.form
    assert dock.start.isEnabled() and not form.problems
    assert form.warnings and "'linear1' gives 10 class scores" in form.warning.text() and form.warning.isVisible()


def test_typing_a_folder_with_too_many_classes_turns_start_off(window: MainWindow, tmp_path) -> None:  # noqa: F811
    window.show_design(classifier(6), None)  # synthetic-shapes' 6 classes fit
    dock, form = window.training.dock, window.training.dock.form
    assert dock.start.isEnabled()
    line = form.rows["data"]._line()
    QTest.keyClicks(line, f"folder:{image_folder(tmp_path / 'pics', 8)}")  # typed, not yet committed
    assert "has 8 classes" in form.rows["data"].problem and not dock.start.isEnabled()


def _picked_reconstruction(window: MainWindow):  # noqa: ANN202, F811
    """The MLP autoencoder without "task": the design picks reconstruction (output = input shape)."""
    from cnnstudio.core.designfile import load_design
    from cnnstudio.core.resources import TEMPLATES

    design = load_design(TEMPLATES / "ae_mlp.json")
    design.training.pop("task")
    window.show_design(design, None)
    form = window.training.dock.form
    assert form.shown_task == "reconstruction"
    return form


def test_an_option_of_the_picked_task_is_applied_not_refused(window: MainWindow) -> None:  # noqa: F811
    form = _picked_reconstruction(window)
    form.rows["noise"].show("gaussian")
    form.commit("noise")
    assert "noise" not in form.refused and window.doc.design.training["noise"] == "gaussian"


def test_an_edit_that_changes_the_picked_task_updates_the_task_rows(window: MainWindow) -> None:  # noqa: F811
    from cnnstudio.gui.commands import SetParams

    form = _picked_reconstruction(window)
    window.doc.push(SetParams(window.doc, "dec_fc2", {"out_channels": 3}))  # the output no longer matches the input
    assert form.shown_task == form.settings().task != "reconstruction"
    assert form.rows["task"].editor.currentText() == form.settings().task


def test_a_refused_value_goes_when_the_design_sets_the_key_elsewhere(window: MainWindow) -> None:  # noqa: F811
    from cnnstudio.gui.training.form import SetTraining

    window.show_design(classifier(3), None)
    form = window.training.dock.form
    form.rows["lr"]._line().setText("abc")
    form.commit("lr")
    assert "lr" in form.refused
    window.doc.push(SetTraining(window.doc, {**window.doc.design.training, "lr": 0.5}, "lr"))  # an undo, Apply Best
    assert "lr" not in form.refused and form.rows["lr"].problem == ""


def test_a_siamese_pair_without_settings_shows_its_pair_defaults(window: MainWindow) -> None:  # noqa: F811
    from test_training_members import towers

    window.show_design(towers(2), None)
    dock, form = window.training.dock, window.training.dock.form
    assert form.rows["task"].editor.currentText() == "metric"
    assert form.rows["loss"].editor.currentText() == "contrastive"
    assert form.rows["data"]._line().placeholderText() == (
        "default: synthetic-shapes (fits Input 'in0' [1, 8, 8], images; pairs of its samples, one to each Input)")
    shown = form.defaults.text()
    assert "task: metric (2 Inputs, each with its own output" in shown and "loss: contrastive (2 Inputs: pairs)" in shown
    assert not form.problems and dock.start.isEnabled()
    assert form.settings().task_options.loss == "contrastive"
