"""The studio state: Qt-free, its events, the weights indicator, and the D items of issue 23 it
fixes: a new design starts without the previous one's weights or probe (D2), a double-click loads a
run in the default layout (D5), the first window's frame on screen (D6), the curves follow a loaded
run (D12), and the Summary, the Training dock and the analysis agree on an empty design (D13)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.analysis import analyze
from cnnstudio.core.compiler import build_model
from cnnstudio.core.design import Design
from cnnstudio.gui.images.weights import current_weights
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.state import NO_WEIGHTS, Event, StudioState, Weights
from gui_fixtures import FIGURE21, answers, recovery_dir, settings, window  # noqa: F401
from training_helpers import classifier

ROOT = Path(__file__).parents[1]


def test_the_state_module_imports_no_qt() -> None:
    code = "import sys, cnnstudio.gui.state, cnnstudio.gui.registry; print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'torch'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True).stdout
    assert out.strip() == "[]"


class Runner:
    mode = "thread"
    last_checkpoint = "/old/run/last.pt"

    def is_running(self) -> bool:
        return False


class Doc:
    """A stand-in document: the state only holds and calls it."""

    def __init__(self, design: Design):
        self.design, self.reset = design, Event()


def test_a_new_design_lets_the_weights_probe_selection_and_snapshot_go() -> None:
    doc = Doc(classifier())
    state = StudioState(doc, None, None, Runner())
    seen: list[tuple[str, object]] = []
    for name in ("weights_changed", "probe_changed", "selection_changed", "design_replaced"):
        getattr(state, name).connect(lambda *args, n=name: seen.append((n, args)))
    state.select(["conv2d1", "no-such-node"])
    assert state.selection == ("conv2d1",)
    state.set_weights(Weights("/runs/a/best.pt", "a", "best", "val_accuracy", 0.984))
    state.set_probe("/tmp/seven.png")
    state.set_snapshot(object())
    assert state.describe_weights() == "weights: a, best accuracy 98.4%"
    assert current_weights(state) == "/runs/a/best.pt"
    seen.clear()
    doc.design = Design()
    doc.reset.emit()
    assert (state.weights, state.probe, state.selection, state.snapshot) == (None, None, (), None)
    assert [n for n, _ in seen] == ["weights_changed", "probe_changed", "design_replaced"]
    assert state.describe_weights() == NO_WEIGHTS
    assert current_weights(state) is None  # not the runner's checkpoint of another design: random weights are offered
    with pytest.raises(KeyError, match="no snapshot yet"):
        state.activation("conv2d1")


@pytest.mark.parametrize(("weights", "text"), [
    (Weights("/x/model.safetensors"), "weights: model.safetensors"),
    (Weights("/r/best.pt", "run 3", "best", "val_loss", 0.12345), "weights: run 3, best loss 0.1235"),
    (Weights("/r/last.pt", "run 3", "last", "val_accuracy", None), "weights: run 3, last"),
    (Weights("/r/best.pt", "run 3", "best", "val_accuracy", 1.0), "weights: run 3, best accuracy 100.0%"),
])
def test_the_weights_are_named_as_the_status_bar_shows_them(weights: Weights, text: str) -> None:
    assert weights.describe() == text


def weights_file(design: Design, path: Path) -> Path:
    torch.save(build_model(design).state_dict(), path)
    return path


def test_d2_a_template_starts_without_weights_filters_or_probe(window: MainWindow, qtbot, tmp_path) -> None:  # noqa: ANN001, F811
    design = classifier()
    window.show_design(design, None)
    window.workspace = "inspect"  # the Filters view on show
    views = window.views.build()
    with qtbot.waitSignal(window.training.weights_loaded, timeout=30_000):
        window.training.load_weights(str(weights_file(design, tmp_path / "w.pt")))
    assert window.weights_label.text() == "weights: w.pt" == window.state.describe_weights()
    qtbot.waitUntil(lambda: views.filters.layer.count() > 0, timeout=90_000)  # captured offline (a trainer is built)
    image = tmp_path / "probe.png"
    QImage(16, 16, QImage.Format.Format_Grayscale8).save(str(image))
    window.state.set_probe(str(image))
    assert views.probe.inputs is not None

    window.open_template(FIGURE21)  # File › New from Template
    assert window.state.weights is None and window.weights_label.text() == NO_WEIGHTS
    assert views.filters.layer.count() == 0  # not the previous design's layers
    assert window.state.probe is None and views.probe.inputs is None and views.probe.sample.value() == 0
    assert current_weights(window.state) is None  # "What It Looks For" asks about random weights
    qtbot.wait(300)
    assert views.filters.layer.count() == 0  # no late capture of the old weights arrives


def run_in(window: MainWindow, qtbot, folder: Path) -> None:  # noqa: ANN001, F811
    design = classifier()
    design.training = {"data_options": {"count": 96}, "epochs": 1, "batch_size": 32, "device": "cpu"}
    window.show_design(design, None)
    assert window.save_to(folder / "tiny.json")
    window.training.dock.mode.setCurrentIndex(window.training.dock.mode.findData("thread"))
    with qtbot.waitSignal(window.training_runner.running_changed, timeout=90_000,
                          check_params_cb=lambda running: not running):
        assert window.state.train()


def test_d5_d12_a_double_click_loads_a_run_in_the_default_layout_and_its_curves_show(window: MainWindow, qtbot,  # noqa: ANN001, F811
                                                                                     tmp_path) -> None:
    run_in(window, qtbot, tmp_path)
    panel = window.training.runs
    first = panel.runs[0]
    shutil.copytree(first.path, first.path.parent / "copy")  # a second run, titled apart
    manifest = json.loads((first.path.parent / "copy" / "run.json").read_text())
    (first.path.parent / "copy" / "run.json").write_text(json.dumps({**manifest, "title": "the copy"}))
    window.training._show_runs()
    assert sorted(run.name for run in panel.runs) == sorted([first.name, "the copy"])
    assert window.workspace == "design"
    runs_dock = window.findChild(QDockWidget, "dock-runs")
    runs_dock.raise_()  # its tab, in the default layout (tabbed with the Summary and the Curves)
    QApplication.processEvents()
    copy = next(run for run in panel.runs if run.name == "the copy")
    row = next(panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())
               if panel.tree.topLevelItem(i).text(0) == first.name)
    viewport = panel.tree.viewport()
    where = QPoint(20, panel.tree.visualItemRect(row).center().y())  # on its name
    panel.select([copy.folder])  # another run's curves on show first (D12)
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    QApplication.processEvents()
    on_top = window.childAt(viewport.mapTo(window, where))
    assert on_top is viewport  # the first click did not cover the table with the Curves tab (D5)
    qtbot.wait(100)  # a person's double-click: its second press comes later, after the table's layout
    with qtbot.waitSignal(window.training.weights_loaded, timeout=30_000) as loaded:
        QTest.mouseDClick(on_top, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    assert loaded.args[0].path == str(first.weights("best"))
    assert window.state.weights.run == first.name and window.weights_label.text().startswith(f"weights: {first.name}, best")
    names = {item.name() for _, item in window.training.curves.curves.overlays if item.name()}
    assert names and all(first.name in name for name in names)  # this run's curves, not the copy's (D12)
    window.training.load_run(copy)  # already selected or not: the loaded run's curves
    names = {item.name() for _, item in window.training.curves.curves.overlays if item.name()}
    assert names and all("the copy" in name for name in names)


def test_d6_a_first_window_moved_down_by_the_window_manager_is_fitted_again(qtbot, settings, recovery_dir) -> None:  # noqa: ANN001, F811
    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    available = win.screen().availableGeometry()
    win.move(win.x(), win.y() + 120)  # as a window manager does, placing the frame below its title bar
    assert not available.contains(win.frameGeometry())
    win._keep_frame_on_screen()
    assert available.contains(win.frameGeometry())
    bar = win.statusBar()
    assert available.contains(QRect(bar.mapToGlobal(QPoint(0, 0)), bar.size()))
    win.close()


def test_d13_an_empty_design_and_a_lone_input_say_the_same_everywhere(window: MainWindow) -> None:  # noqa: F811
    window.show_design(Design(), None)
    errors = window.doc.analysis.errors
    assert len(errors) == 1
    assert window.summary.problems_title.text() == "Problems: 1 error"
    assert window.summary.problems.item(0).text().endswith(errors[0].message)
    assert "The design has 1 error" in window.training.dock.blocked.text()
    lone = Design()
    lone.add_node("Input", {"shape": [1, 8, 8]}, "x")
    window.show_design(lone, None)
    messages = [issue.message for issue in window.doc.analysis.errors]
    assert messages == ["the design has no output: add a layer after the Input"]
    assert "every layer feeds another" not in window.summary.problems.item(0).text()
    assert window.summary.problems_title.text() == "Problems: 1 error, 1 warning"  # and "not connected to anything"
    assert "The design has 1 error" in window.training.dock.blocked.text()


def test_a_design_whose_layers_all_feed_another_still_says_so() -> None:
    design = Design()
    design.add_node("Input", {"shape": [4]}, "x")
    design.add_node("ReLU", {}, "a")
    design.add_node("ReLU", {}, "b")
    design.connect("x", "a")
    design.connect("a", "b")
    design.connect("b", "a")
    assert "the design has no output: every layer feeds another" in [i.message for i in analyze(design).errors]
