"""The studio's images: the Style Transfer dock (layers picked and marked on the canvas, a run that
forms live, pauses, stops and saves) and the Filters view's "what it looks for" grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from PySide6.QtWidgets import QDockWidget

from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
from cnnstudio.training.synthesis.images import read_image, write_png
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401

RUN_MS = 60_000


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> str:
    design = load_design(TEMPLATES / "vgg_small.json")
    settings = parse_settings(design.training, {"device": "cpu", "epochs": 1, "data_options": {"count": 300}})
    finished = Trainer(design, settings, out_dir=tmp_path_factory.mktemp("vgg"), step_rate=None).run()
    return str(finished.checkpoint)


@pytest.fixture
def vgg(window: MainWindow) -> MainWindow:  # noqa: F811
    assert window.open_path(TEMPLATES / "vgg_small.json", ask=False)
    dock = window.findChild(QDockWidget, "dock-style")
    assert not dock.isVisible()
    window.actions["style-transfer"].trigger()  # View › Style Transfer…
    assert dock.isVisible()
    return window


def images(folder: Path) -> tuple[Path, Path]:
    paths = folder / "content.png", folder / "style.png"
    write_png(torch.linspace(0, 1, 3 * 24 * 24).view(3, 24, 24), paths[0])
    write_png((torch.arange(24 * 24).view(1, 24, 24) % 5 / 4.0).expand(3, -1, -1), paths[1])
    return paths


def record(runner: Any) -> list[Any]:
    seen: list[Any] = []
    runner.event.connect(seen.append)
    return seen


def kinds(seen: list[Any]) -> list[str]:
    return [type(e).__name__ for e in seen]


def test_layers_are_picked_on_the_canvas_and_marked(vgg: MainWindow) -> None:
    panel = vgg.parts["style"].panel
    panel.fields["content"].setText("conv3_1")
    panel.fields["style"].setText("")
    panel.pick_buttons["style"].setChecked(True)
    for node in ("conv1_1", "conv2_1", "conv3_1"):
        vgg.scene.clearSelection()
        vgg.select_node(node)
    assert panel.layers("style") == ["conv1_1", "conv2_1", "conv3_1"]
    vgg.scene.clearSelection()
    vgg.select_node("conv2_1")  # a second click takes it away
    assert panel.layers("style") == ["conv1_1", "conv3_1"]
    panel.pick_buttons["content"].setChecked(True)
    assert not panel.pick_buttons["style"].isChecked()
    assert vgg.scene.nodes["conv3_1"].marks == ("content", "style")
    assert vgg.scene.nodes["conv1_1"].marks == ("style",) and vgg.scene.nodes["conv2_1"].marks == ()
    vgg.findChild(QDockWidget, "dock-style").hide()
    assert vgg.scene.nodes["conv1_1"].marks == ()  # the marks belong to the open dock


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_style_transfer_forms_live_pauses_stops_and_saves(vgg: MainWindow, checkpoint: str, qtbot: Any,
                                                            tmp_path: Path, mode: str) -> None:
    panel = vgg.parts["style"].panel
    panel.runner.mode = mode
    vgg.views.look_at(checkpoint)
    for role, path in zip(("content", "style"), images(tmp_path)):
        assert panel.open_image(role, path)
    panel.fields["content"].setText("conv2_1")
    panel.fields["style"].setText("conv1_1, conv2_1")
    panel.size.setValue(24)
    panel.steps.setValue(100_000)
    seen = record(panel.runner)
    assert panel.start()
    qtbot.waitUntil(lambda: kinds(seen).count("SynthesisProgress") >= 3, timeout=RUN_MS)
    assert panel.result is not None and panel.result.shape == (3, 24, 24)
    assert "style loss" in panel.losses.text() and panel.picture.pixmap() is not None
    qtbot.waitUntil(lambda: panel.plot is not None and panel.curves["style"].xData is not None
                    and len(panel.curves["style"].xData) >= 3,
                    timeout=RUN_MS)  # the loss curves follow
    panel.pause_button.click()
    qtbot.wait(500)
    paused_at = kinds(seen).count("SynthesisProgress")
    qtbot.wait(500)
    assert kinds(seen).count("SynthesisProgress") == paused_at and panel.pause_button.text() == "Resume"
    with qtbot.waitSignal(panel.runner.running_changed, timeout=RUN_MS):
        panel.stop_button.click()
    assert seen[-1].status == "stopped" and panel.start_button.isEnabled()
    saved = panel.save(tmp_path / "out.png")
    assert saved is not None and read_image(saved).shape == (3, 24, 24)


def test_refusals_are_sentences(vgg: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                answers: Any) -> None:  # noqa: F811
    panel = vgg.parts["style"].panel
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    assert not panel.open_image("content", text)
    assert "cannot be read as an image" in answers.shown[-1]
    for role, path in zip(("content", "style"), images(tmp_path)):
        assert panel.open_image(role, path)
    asked: list[str] = []
    monkeypatch.setattr("cnnstudio.gui.images.style_panel.confirm_random", lambda parent, name: asked.append(name))
    assert not panel.start()  # no weights, and "Use Random Weights" not chosen
    assert asked == ["VGG-style (32x32)"] and not panel.runner.is_running()


def test_unknown_layers_end_the_run_with_a_sentence(vgg: MainWindow, checkpoint: str, qtbot: Any,
                                                    tmp_path: Path) -> None:
    panel = vgg.parts["style"].panel
    panel.runner.mode = "thread"
    vgg.views.look_at(checkpoint)
    for role, path in zip(("content", "style"), images(tmp_path)):
        panel.open_image(role, path)
    panel.fields["content"].setText("nope")
    seen = record(panel.runner)
    with qtbot.waitSignal(panel.runner.running_changed, timeout=RUN_MS, check_params_cb=lambda running: not running):
        assert panel.start()
    assert seen[-1].status == "failed" and "'nope' is not a content layer" in panel.losses.text()


def test_the_filters_view_shows_what_each_filter_looks_for(vgg: MainWindow, checkpoint: str, qtbot: Any,
                                                           tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cnnstudio.gui.images.look_for.STEPS", 16)
    vgg.workspace = "inspect"  # the Filters view on show
    views = vgg.views.build()
    views.look_at(checkpoint)
    filters = views.filters
    look_for = views.look_for
    look_for.runner.mode = "thread"
    seen = record(look_for.runner)
    with qtbot.waitSignal(look_for.runner.running_changed, timeout=RUN_MS, check_params_cb=lambda running: not running):
        assert look_for.start("conv1_1")
    done = [e for e in seen if type(e).__name__ == "VisualizeDone"]
    assert done and done[0].images.shape == (16, 3, 32, 32) and len(done[0].activations) == 16
    assert filters.look_grid is not None and filters.look_grid.count == 16 and filters.look_plot.isVisibleTo(filters)
    assert seen[-1].status == "completed"
    exported = filters.export_png(tmp_path / "filters.png")
    assert exported is not None and exported.stat().st_size > 0
