"""The views inside the network (cnnstudio.gui.views), offscreen: each one filled with the right
shapes and values from a tiny trained model, the probe from files (a corrupt one refused in words),
timeline scrubbing, and export as PNG and CSV."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PySide6.QtGui import QColor, QImage

from cnnstudio.core.design import Design
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.views.hub import Views
from cnnstudio.training import events, probes
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401 - fixtures
from training_helpers import Recorder, chain, classifier

EVERYTHING = dict(filters=True, grad_norms=True, predictions=True, saliency=True, embeddings=True)


def run(design: Design, **overrides) -> list:
    """A tiny run with every view's capture on: its events, to play into the views."""
    recorder = Recorder()
    s = parse_settings(design.training, {"device": "cpu", "data_options": {"count": 160}, "epochs": 2,
                                         "batch_size": 16, **overrides})
    trainer = Trainer(design, s, on_event=recorder, step_rate=None)
    trainer.set_probe(probes.ProbeRequest(every=4, activations=("conv2d1", "relu1", "linear1"), **EVERYTHING))
    trainer.run()
    return recorder.events


@pytest.fixture(scope="module")
def classifier_events() -> tuple[Design, list]:
    design = classifier()
    return design, run(design)


def shown(win: MainWindow, design: Design, played: list, qtbot) -> Views:  # noqa: ANN001
    """The window with ``design``, every view dock side by side, and the run played in."""
    win.show_design(design, None)
    views = win.views.build()
    for dock in views.view_docks:
        win.removeDockWidget(dock)
        win.addDockWidget(win.dockWidgetArea(views.probe_dock), dock)
        dock.show()
    for event in played:
        views.on_event(event)
    qtbot.waitUntil(lambda: views.shown is not None and views.activations.showing)
    return views


def snapshots(played: list) -> list:
    return [e for e in played if isinstance(e, events.Snapshot)]


def test_activations_show_every_channel_of_the_selected_layer(window, classifier_events, qtbot):
    design, played = classifier_events
    views = shown(window, design, played, qtbot)
    last = snapshots(played)[-1]
    view = views.activations
    assert view.node == "conv2d1" and view.grid.count == 8 and view.grid.tile == (16, 16)
    np.testing.assert_allclose(view.values, last.activations["conv2d1"].values.numpy())
    window.select_node("relu1")  # the canvas selection, as the inspector follows it
    assert view.node == "relu1" and views.request().activations[0] == "relu1"
    np.testing.assert_allclose(view.values, last.activations["relu1"].values.numpy())
    view.select_channel(3)
    assert "channel 3" in view.detail.getPlotItem().titleLabel.text
    window.select_node("linear1")  # a flat layer: one bar per unit
    assert view.values.shape == (6,) and view.lines.isVisible()


def test_filters_are_the_kernels_of_the_trained_model(window, classifier_events, qtbot):
    design, played = classifier_events
    views = shown(window, design, played, qtbot)
    kernels = snapshots(played)[-1].filters["conv2d1"]
    np.testing.assert_allclose(views.filters.weights, kernels.numpy())
    assert views.filters.grid.count == 8 and "8 filters × 1 input channel, 3×3" in views.filters.status.text()


def test_predictions_saliency_and_confusion(window, classifier_events, qtbot):
    design, played = classifier_events
    views = shown(window, design, played, qtbot)
    last = snapshots(played)[-1]
    view = views.predictions
    np.testing.assert_allclose(view.probabilities, last.prediction.numpy())
    assert sum(plot.isVisible() for plot, _ in view.pictures) == 3  # probe, saliency, Grad-CAM
    matrix = [e for e in played if isinstance(e, events.EpochMetrics)][-1].metrics["val_confusion"]
    assert view.confusion.tolist() == matrix
    header, rows = view.csv_table()
    assert header == ["class", "probability"] and len(rows) == 6


def test_gradient_curves_hold_every_snapshot(window, classifier_events, qtbot, tmp_path):
    design, played = classifier_events
    views = shown(window, design, played, qtbot)
    snaps = snapshots(played)
    assert views.gradients.steps == [s.step for s in snaps]
    assert views.gradients.history["conv2d1"] == [s.grad_norms["conv2d1"] for s in snaps]
    path = views.gradients.export_csv(tmp_path / "gradients")
    lines = path.read_text().splitlines()
    assert lines[0] == "step,conv2d1,linear1" and len(lines) == len(snaps) + 1


def test_the_timeline_scrubs_back_through_training(window, classifier_events, qtbot):
    design, played = classifier_events
    views = shown(window, design, played, qtbot)
    first = snapshots(played)[0]
    bar = views.probe.timeline
    assert len(views.timeline) == len(snapshots(played)) and bar.live.isChecked()
    bar.slider.setValue(0)
    qtbot.waitUntil(lambda: views.activations.snapshot is first)
    assert not bar.live.isChecked() and f"step {first.step}" in bar.where.text()
    np.testing.assert_allclose(views.filters.weights, first.filters["conv2d1"].numpy())
    bar.live.setChecked(True)
    qtbot.waitUntil(lambda: views.activations.snapshot is snapshots(played)[-1])


def test_every_view_exports_a_png(window, classifier_events, qtbot, tmp_path):
    design, played = classifier_events
    views = shown(window, design, played, qtbot)
    for view in views.views[:4]:
        path = view.export_png(tmp_path / view.objectName())
        assert QImage(str(path)).width() > 100


def test_an_image_file_becomes_the_probe_as_the_model_sees_it(window, qtbot, tmp_path, answers):  # noqa: F811
    window.show_design(classifier(), None)
    views = window.views.build()
    window.workspace = "inspect"  # the Activations tab on show: hidden views ask for nothing
    picture = QImage(40, 30, QImage.Format.Format_RGB32)
    picture.fill(QColor("#ff0000"))
    picture.save(str(tmp_path / "red.png"))
    assert views.load_image(tmp_path / "red.png")
    probe = views.probe.inputs[0]
    assert probe.shape == (1, 16, 16)  # resized and turned grey
    assert float(probe.mean()) == pytest.approx(0.299, abs=0.01)
    assert "40×30 RGB → 1×16×16 grey" in views.probe.source.text()
    with qtbot.waitSignal(views.request_changed) as sent:
        pass
    assert torch.equal(sent.args[0].inputs[0], probe)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    assert not views.load_image(tmp_path / "broken.png")
    assert "broken.png cannot be read as an image" in answers.shown[-1]
    assert views.probe.inputs[0] is probe  # the previous probe stays


def test_a_sequence_design_takes_typed_values(window, qtbot):
    window.show_design(chain([1, 12], ("Conv1d", {"out_channels": 2, "kernel_size": 3}), ("Flatten", {}),
                             ("Linear", {"out_features": 2})), None)
    views = window.views.build()
    assert views.probe.sequence.isVisible() or not views.probe.isVisible()
    views.probe.sequence.setText("1011")
    views.probe._typed()
    assert views.probe.inputs[0].tolist() == [[1, 0, 1, 1] + [0] * 8]


def test_embeddings_of_a_metric_design_with_triplet_counts(window, qtbot):
    design = chain([1, 16, 16], ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Flatten", {}),
                   ("Linear", {"out_features": 8}))
    design.training = {"task": "metric"}
    played = run(design, task="metric")
    views = shown(window, design, played, qtbot)
    qtbot.waitUntil(lambda: views.embeddings.showing)
    last = snapshots(played)[-1]
    np.testing.assert_allclose(views.embeddings.points, last.embedding.points.numpy())
    assert len(views.embeddings.scatter.data) == 32
    steps = [e for e in played if isinstance(e, events.StepMetrics)]
    assert views.embeddings.steps == [e.global_step for e in steps]
    views.embeddings.compute_tsne()
    qtbot.waitUntil(lambda: last.step in views.embeddings.tsne, timeout=20_000)
    assert views.embeddings.points.shape == (32, 2) and views.embeddings.method.currentText() == "t-SNE"


def test_after_training_the_views_look_at_the_checkpoint(window, qtbot, tmp_path):
    design = classifier()
    s = parse_settings(design.training, {"device": "cpu", "data_options": {"count": 160}, "epochs": 1,
                                         "batch_size": 16})
    finished = Trainer(design, s, out_dir=tmp_path).run()
    window.show_design(design, None)
    views = window.views.build()
    for dock in views.view_docks:
        dock.setFloating(True)
        dock.show()
    with qtbot.waitSignal(views.offline.ready, timeout=30_000) as ready:
        window.training_runner.event.emit(finished)  # as the runner delivers it: the state's weights now
    assert window.state.weights.path == finished.checkpoint
    snapshot, classes = ready.args
    assert classes[:2] == ["circle", "square"] and snapshot.confusion is not None
    qtbot.waitUntil(lambda: views.predictions.probabilities is not None)
    np.testing.assert_allclose(views.predictions.probabilities, snapshot.prediction.numpy())


def test_png_and_csv_exports_to_a_full_disk_keep_the_previous_files(window, classifier_events, qtbot, tmp_path,
                                                                      answers):  # noqa: F811
    """Issue 13 item 10: the views' files are written atomically (a real full disk)."""
    from fault_helpers import entries, fill, small_disk

    design, played = classifier_events
    views = shown(window, design, played, qtbot)
    with small_disk(tmp_path / "disk", size_kb=2048) as disk:
        png = views.activations.export_png(disk / "view")
        csv_file = views.gradients.export_csv(disk / "curves")
        before = png.read_bytes(), csv_file.read_bytes()
        fill(disk)
        assert views.activations.export_png(disk / "view") is None
        assert "view.png was not written: the disk holding" in answers.shown[-1] and "is full" in answers.shown[-1]
        assert views.gradients.export_csv(disk / "curves") is None
        assert "curves.csv was not written" in answers.shown[-1]
        assert (png.read_bytes(), csv_file.read_bytes()) == before
        assert entries(disk) == ["curves.csv", "filler", "filler2", "view.png"]
