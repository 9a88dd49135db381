"""The Sweep dock: Sweep… on a parameter adds a checked row (undoable, saved with the design),
Apply Best sets a trial's values in one undo step, and a sweep made by the command line shows its
trials when the design is opened again."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog

from cnnstudio.cli import main
from cnnstudio.core.designfile import load_design, loads, save_design, to_dict
from gui_fixtures import (  # noqa: F401
    FIGURE21,
    answers,
    figure21,
    recovery_dir,
    settings,
    snapshot,
    window,
)
from training_helpers import classifier


def answer(monkeypatch: pytest.MonkeyPatch, spec: str) -> None:
    monkeypatch.setattr(QInputDialog, "getText", lambda *args, **kwargs: (spec, True))


def test_sweep_on_a_parameter_and_a_setting_adds_checked_rows(figure21, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    win, doc = figure21, figure21.doc
    answer(monkeypatch, "int:4:12")
    win.inspector.sweep_requested.emit("nodes.conv1.out_channels")
    answer(monkeypatch, "float:0.0005:0.02:log")
    win.training.dock.form.sweep_requested.emit("training.lr")
    assert doc.design.sweep["params"] == {"nodes.conv1.out_channels": "int:4:12", "training.lr": "float:0.0005:0.02:log"}
    assert win.sweep.rows.rowCount() == 2 and win.sweep.sweep_name() == "conv1.out_channels+lr"
    assert "--param=nodes.conv1.out_channels=int:4:12" in win.sweep.arguments()
    answer(monkeypatch, "int:0:12")  # out_channels from 1
    win.inspector.sweep_requested.emit("nodes.conv2.out_channels")
    assert "--param nodes.conv2.out_channels=int:0:12" in win.sweep.status.text() and win.sweep.rows.rowCount() == 2
    doc.undo_stack.undo()
    assert list(doc.design.sweep["params"]) == ["nodes.conv1.out_channels"] and win.sweep.rows.rowCount() == 1
    saved = loads(__import__("json").dumps(to_dict(doc.design)))
    assert saved.sweep == doc.design.sweep  # saved with the design


def test_a_design_file_without_a_sweep_still_loads_and_a_bad_one_is_a_sentence(tmp_path: Path) -> None:
    assert load_design(FIGURE21).sweep is None and "sweep" not in to_dict(load_design(FIGURE21))
    text = FIGURE21.read_text().rstrip().removesuffix("}") + ', "sweep": {"params": [1]}}'
    with pytest.raises(Exception, match='"sweep" must be an object'):
        loads(text)


def test_apply_best_sets_the_values_in_one_undo_step(figure21, qtbot) -> None:  # noqa: F811
    win, doc = figure21, figure21.doc
    before, steps = snapshot(win), doc.undo_stack.count()
    best = {"number": 3, "value": 0.9, "run": None,
            "params": {"nodes.conv1.out_channels": 10, "nodes.conv2.kernel_size": 3, "training.lr": 0.005,
                       "training.optimizer": "sgd"}}
    win.sweep._read({"name": "s", "metric": "val_accuracy", "storage": "", "direction": "maximize", "best": best,
                     "trials": [{**best, "state": "complete"}], "histories": {3: [0.5, 0.9]}, "seconds": {3: 4.0}})
    assert win.sweep.apply_best.isEnabled() and win.sweep.table.rowCount() == 1
    qtbot.mouseClick(win.sweep.apply_best, Qt.MouseButton.LeftButton)
    design = doc.design
    assert design.node("conv1").params["out_channels"] == 10 and design.node("conv2").params["kernel_size"] == 3
    assert design.training["lr"] == 0.005 and design.training["optimizer"] == "sgd"
    assert doc.undo_stack.count() == steps + 1 and "best trial 3" in doc.undo_stack.undoText()
    doc.undo_stack.undo()
    assert snapshot(win) == before
    doc.undo_stack.redo()
    assert doc.design.node("conv1").params["out_channels"] == 10 and doc.design.training["lr"] == 0.005


def test_a_trial_whose_node_is_gone_changes_nothing(figure21) -> None:  # noqa: F811
    win, doc = figure21, figure21.doc
    before, steps = snapshot(win), doc.undo_stack.count()
    best = {"number": 0, "value": 1.0, "run": None, "params": {"training.lr": 0.1, "nodes.gone.out_channels": 3}}
    win.sweep._read({"name": "s", "metric": "m", "storage": "", "direction": "maximize", "best": best,
                     "trials": [{**best, "state": "complete"}], "histories": {}, "seconds": {}})
    win.sweep.apply_best.click()
    assert snapshot(win) == before and doc.undo_stack.count() == steps and "gone" in win.sweep.status.text()


def test_a_sweep_of_the_command_line_shows_when_the_design_opens(window, qtbot, tmp_path: Path,  # noqa: F811
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    design = classifier(classes=6, size=8)
    design.training = {"epochs": 1, "batch_size": 32, "data_options": {"count": 96}, "device": "cpu"}
    design.sweep = {"params": {"training.lr": "choice:0.01,0.02"}, "trials": 2, "sampler": "grid"}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    assert main(["sweep", str(path), "--param", "training.lr=choice:0.01,0.02", "--trials", "2", "--sampler", "grid"]) == 0
    opened: list[Path] = []
    monkeypatch.setattr(window.sweep, "open_run", opened.append)
    window.open_path(path, ask=False)
    qtbot.waitUntil(lambda: window.sweep.table.rowCount() == 2, timeout=30_000)
    assert {window.sweep.table.item(r, 1).text() for r in range(2)} == {"complete"}
    window.sweep._open_trial(0, 0)
    assert opened and (opened[0] / "run.json").is_file()
    qtbot.waitUntil(lambda: window.sweep.weighing is None and window.sweep.importance_of == 2, timeout=120_000)
    bars = [item for item in window.sweep.importance.getPlotItem().items if type(item).__name__ == "BarGraphItem"]
    assert len(bars) == 1  # Optuna's importance of the one KEY


def test_a_hand_edited_sweep_of_the_wrong_kinds_shows_its_defaults(figure21) -> None:  # noqa: F811
    win, doc = figure21, figure21.doc
    doc.set_sweep({"params": {"training.lr": "float:0.001:0.1", "bad": 3}, "trials": "many", "jobs": True,
                   "sampler": "median", "pruner": "hyperband", "metric": 7, "name": ["x"]})
    setup = win.sweep.setup()
    assert setup == {"name": "", "params": {"training.lr": "float:0.001:0.1"}, "trials": 8, "jobs": 1, "metric": None,
                     "sampler": "tpe", "pruner": "hyperband"}
    assert win.sweep.trials.value() == 8 and win.sweep.pruner.currentText() == "hyperband"


LIVE = {"name": "s", "metric": "val_accuracy", "storage": "", "direction": "maximize",
        "trials": [{"number": 0, "state": "complete", "value": 0.8, "run": None,
                    "params": {"training.lr": 0.01, "nodes.conv1.out_channels": 8}},
                   {"number": 1, "state": "pruned", "value": None, "run": None,
                    "params": {"training.lr": 0.5, "nodes.conv1.out_channels": 4}},
                   {"number": 2, "state": "running", "value": None, "run": None,
                    "params": {"training.lr": 0.02, "nodes.conv1.out_channels": 6}}],
        "histories": {0: [0.5, 0.8], 1: [0.1], 2: [0.4]}, "seconds": {0: 3.0, 1: 1.0, 2: 1.0}}
LIVE["best"] = {k: LIVE["trials"][0][k] for k in ("number", "params", "value", "run")}


def test_the_plots_stay_in_sight_at_1280x800_in_the_experiments_workspace(figure21, qtbot) -> None:  # noqa: F811
    """A word-wrapped status line once made the dock as tall as every table's and plot's preferred
    height, twice the window's: the plots scrolled out of sight while a sweep ran."""
    win = figure21
    win.resize(1280, 800)
    win.workspace = "experiments"
    win.sweep._read(LIVE)
    win.sweep._say("best so far: trial 0 (training.lr 0.01, nodes.conv1.out_channels 8): val_accuracy 0.8, "
                   "run /home/someone/runs/figure-21/s_trial-0, and a sentence long enough to wrap twice over")
    scroller = win.sweep.parentWidget().parentWidget()
    tabs = win.sweep.parallel.parentWidget().parentWidget()
    qtbot.wait(300)  # the layout settles
    assert win.sweep.height() == scroller.viewport().height()  # nothing to scroll to
    # within a few pixels of the viewport's bottom (the studio's theme, set by an earlier test, rounds its
    # margins so): the regression was a dock twice the window's height
    assert tabs.geometry().bottom() <= scroller.viewport().height() + 4 and tabs.height() >= tabs.minimumSizeHint().height()
    assert win.sweep.rows.height() >= 96 and win.sweep.table.height() >= 150


def test_pruned_trials_are_grey_and_end_before_the_metric_and_a_running_one_is_dashed(figure21) -> None:  # noqa: F811
    from cnnstudio.gui import theme
    from cnnstudio.gui.sweeps.plots import GREY

    win = figure21
    win.sweep._read(LIVE)
    lines = {len(item.xData): item for item in win.sweep.parallel.getPlotItem().listDataItems()}
    assert sorted(lines) == [2, 3]  # the pruned trial has no metric point; the running one is not drawn yet
    assert lines[2].opts["pen"].color() == GREY and lines[3].opts["pen"].color() != GREY
    curves = {tuple(item.yData): item.opts["pen"] for item in win.sweep.curves.getPlotItem().listDataItems()}
    assert curves[(0.1,)].color() == GREY and curves[(0.4,)].style() == Qt.PenStyle.DashLine
    assert curves[(0.5, 0.8)].style() == Qt.PenStyle.SolidLine and curves[(0.5, 0.8)].color() != GREY
    muted = theme.colors().muted
    assert [win.sweep.table.item(row, 1).foreground().color() == muted for row in range(3)] == [False, True, False]


def test_the_runs_panel_shows_the_trials_as_the_sweep_makes_them(window, qtbot, tmp_path: Path) -> None:  # noqa: F811
    design = classifier(classes=6, size=8)
    design.training = {"epochs": 1, "batch_size": 32, "data_options": {"count": 96}, "device": "cpu"}
    design.sweep = {"params": {"training.lr": "choice:0.01,0.02"}, "trials": 2, "sampler": "grid"}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    window.open_path(path, ask=False)
    runs = window.training.runs
    qtbot.waitUntil(lambda: window.sweep.reading is None)
    assert runs.tree.topLevelItemCount() == 0
    assert main(["sweep", str(path), "--param", "training.lr=choice:0.01,0.02", "--trials", "2", "--sampler", "grid"]) == 0
    window.sweep.refresh()  # as its poll does while the sweep runs
    qtbot.waitUntil(lambda: runs.tree.topLevelItemCount() == 1, timeout=30_000)
    assert runs.tree.topLevelItem(0).childCount() == 2  # the sweep's row over its two trials


def test_the_plots_tabs_stay_on_show_through_workspace_switches(figure21, qtbot) -> None:  # noqa: F811
    """The check for stale dock tab bars once took the Sweep dock's own plot tabs (and the run log's)
    for dock tabs and hid them: the plots could not be switched."""
    from PySide6.QtWidgets import QTabWidget

    win = figure21
    win.resize(1280, 800)
    for name in ("train", "experiments"):
        win.workspace = name
        qtbot.wait(100)
    inner = [tabs for tabs in win.findChildren(QTabWidget) if tabs.isVisible()]
    plots = win.sweep.parallel.parentWidget().parentWidget()
    assert plots in inner and all(tabs.tabBar().isVisible() for tabs in inner)
