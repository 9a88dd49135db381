"""Runs in the studio: each start its own folder listed in the Runs panel, kept across Save As,
compared (curves overlaid, design diff on the canvas), loaded back, exported by default; views
that record while hidden; and another design resetting every dock."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QPainterPath

from cnnstudio.cli import main
from cnnstudio.core.connecting import Connection
from cnnstudio.core.design import Design
from cnnstudio.gui.canvas.ghost_item import GhostItem
from cnnstudio.gui.export_dialog import ExportDialog
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.runs import list_runs, snapshots
from cnnstudio.runs.store import default_run
from cnnstudio.training import events
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401
from training_helpers import classifier, older_layout

TINY = {"data_options": {"count": 160}, "epochs": 2, "batch_size": 32, "device": "cpu"}
RUN_S = 90_000


@pytest.fixture
def studio(window: MainWindow, tmp_path: Path) -> MainWindow:  # noqa: F811
    design = classifier()
    design.training = dict(TINY)
    window.show_design(design, None)
    for folder in ("first", "elsewhere"):
        (tmp_path / folder).mkdir()
    assert window.save_to(tmp_path / "first" / "tiny.json")
    window.training.dock.mode.setCurrentIndex(window.training.dock.mode.findData("thread"))
    yield window
    window.training_runner.shutdown(60)
    assert not multiprocessing.active_children()


def train(qtbot, win: MainWindow) -> None:  # noqa: ANN001
    with qtbot.waitSignal(win.training_runner.running_changed, timeout=RUN_S, check_params_cb=lambda running: not running):
        assert win.training.start()


def test_two_runs_are_kept_listed_and_stay_listed_after_save_as(studio: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    train(qtbot, studio)
    studio.training.dock.form.rows["lr"].editor.setText("0.01")
    studio.training.dock.form.rows["lr"].editor.editingFinished.emit()
    studio.editor.set_param("conv2d1", "out_channels", 4)
    train(qtbot, studio)
    panel = studio.training.runs
    assert panel.tree.topLevelItemCount() == 2 and len(panel.runs) == 2
    first, second = panel.runs
    assert first.path != second.path and first.path.parent == tmp_path / "first" / "runs" / "tiny"
    for run in (first, second):
        assert run.manifest.status == "completed" and (run.path / "best.pt").is_file() and (run.path / "last.pt").is_file()
    row = next(panel.tree.topLevelItem(i) for i in range(2) if panel.tree.topLevelItem(i).text(0) == second.name)
    assert "lr 0.001 → 0.01" in row.text(7) and "conv2d1: out_channels 8 → 4" in row.text(7)

    assert studio.save_to(tmp_path / "elsewhere" / "renamed.json")  # Save As
    moved = tmp_path / "elsewhere" / "runs" / "renamed"
    assert [run.folder for run in panel.runs] == [first.folder, second.folder]
    assert panel.directory == moved and len(list_runs(moved)) == 2
    assert studio.training.dock.folder.text() == str(moved)
    with qtbot.waitSignal(studio.training.weights_loaded, timeout=30_000) as loaded:
        studio.open_path(tmp_path / "elsewhere" / "renamed.json", ask=False)  # reopened later: found again
    assert len(studio.training.runs.runs) == 2
    shown = default_run(panel.runs)  # the better of the two, not the newer
    assert shown.best_value() == max(run.best_value() for run in panel.runs)
    assert [run.folder for run in panel.selected()] == [shown.folder]  # its best completed run on show:
    assert len(studio.training.curves.curves.overlays) == 3  # its curves,
    assert loaded.args[0].path == str(moved / shown.folder / "best.pt")  # its best weights, named in the status bar
    assert studio.state.weights.run == shown.name and studio.weights_label.text().startswith(f"weights: {shown.name}, best")

    panel.select([first.folder, second.folder])  # two: overlay and design diff
    curves = studio.training.curves.curves
    assert len(curves.overlays) == 6 and not curves.series["val"].item.isVisible()
    assert studio.scene.nodes["conv2d1"].diff == "changed"
    assert "out_channels 8 → 4" in panel.summary.text()
    panel.tree.clearSelection()
    assert not curves.overlays and studio.scene.nodes["conv2d1"].diff is None

    dialog = ExportDialog(studio.doc, None, studio, panel.runs)  # File › Export: trained weights by default
    qtbot.addWidget(dialog)
    assert dialog.weights.text() == str(moved / shown.folder / "best.pt")
    assert f"best checkpoint of the best completed run ({shown.name}, {shown.best_text()})" in dialog.source_note.text()
    assert dialog.source.findText("Random weights (freshly initialised, untrained)") >= 0


def test_older_and_failed_runs_are_listed_and_a_removed_node_is_a_ghost_where_it_stood(studio: MainWindow, qtbot,  # noqa: ANN001
                                                                                     tmp_path: Path) -> None:
    design_file, runs = tmp_path / "first" / "tiny.json", tmp_path / "first" / "runs" / "tiny"
    older_layout(design_file, runs)  # runs/tiny/last.pt, from before the run store
    assert main(["train", str(design_file), "--data", "nonsense:x"]) == 1  # a start that fails at once
    studio.training.dock.form.rows["lr"].editor.setText("0.01")  # its own folder name, not the failed one's
    studio.training.dock.form.rows["lr"].editor.editingFinished.emit()
    where = studio.scene.nodes["relu1"].pos()
    studio.scene.select_nodes(["relu1"])
    studio.editor.delete_selection()
    studio.editor.connect(Connection("conv2d1", "max_pool2d1"))
    train(qtbot, studio)
    panel = studio.training.runs
    older, failed, newer = panel.runs
    rows = {panel.tree.topLevelItem(i).text(0): panel.tree.topLevelItem(i) for i in range(3)}
    assert older.older and rows["tiny"].text(1) == "older run" and rows["tiny"].text(3) == "2/2"
    assert "accuracy" in rows["tiny"].text(4) and "older run" in rows["tiny"].toolTip(0)
    assert rows[failed.name].text(2).startswith("failed: unknown data 'nonsense:x'")
    assert failed.manifest.message in rows[failed.name].toolTip(2)
    panel.select(["tiny"])
    assert panel.buttons["load"].isEnabled() and not panel.buttons["rename"].isEnabled()
    assert not panel.buttons["delete"].isEnabled() and "older run" in panel.buttons["note"].toolTip()

    panel.select(["tiny", newer.folder])  # the older run against the newer: relu1 was removed
    ghost = studio.scene.ghosts["relu1"]
    stood = next(node["pos"] for node in older.design["nodes"] if node["id"] == "relu1")
    assert (ghost.pos().x(), ghost.pos().y()) == tuple(stood) == (where.x(), where.y())
    assert ghost in studio.scene.items() and "relu1" not in studio.scene.nodes
    assert ghost.toolTip().startswith("removed since tiny") and "ReLU" in ghost.toolTip()
    assert not ghost.flags() & (GhostItem.GraphicsItemFlag.ItemIsSelectable | GhostItem.GraphicsItemFlag.ItemIsMovable)
    assert ghost.acceptedMouseButtons() == Qt.MouseButton.NoButton and ghost.zValue() < 0
    studio.scene.select_nodes([])
    studio.scene.setSelectionArea(QPainterPath(ghost.mapToScene(ghost.boundingRect()).boundingRect().center()))
    assert not ghost.isSelected()
    assert "relu1" not in panel.summary.text().partition("not on the canvas")[2]
    panel.select(["tiny", failed.folder])  # another pair, both with relu1: the ghost goes
    assert not studio.scene.ghosts and ghost.scene() is None
    assert not any(isinstance(item, GhostItem) for item in studio.scene.items())
    panel.select(["tiny", newer.folder])
    assert "relu1" in studio.scene.ghosts
    panel.tree.clearSelection()
    assert not any(isinstance(item, GhostItem) for item in studio.scene.items())


def test_a_worker_process_that_dies_before_training_leaves_a_failed_record(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from cnnstudio.core.designfile import to_dict
    from cnnstudio.gui.training.runner import TrainingRunner
    from cnnstudio.gui.training.worker import Job
    from cnnstudio.runs.manifest import Manifest
    from cnnstudio.training.settings import parse_settings
    from fault_helpers import die_at_once

    folder = tmp_path / "runs" / "tiny" / "2026-12-01_00-00-00"
    folder.mkdir(parents=True)
    runner = TrainingRunner("process")
    seen: list[object] = []
    runner.event.connect(seen.append)
    with qtbot.waitSignal(runner.running_changed, timeout=60_000, check_params_cb=lambda running: not running):
        runner.start_job(Job(to_dict(classifier()), parse_settings(dict(TINY)), str(folder)), die_at_once)
    manifest = Manifest.load(folder)
    assert manifest.status == "failed" and manifest.message == "the training process ended unexpectedly (exit code 3)"
    assert {"design.json", "settings.json"} <= {p.name for p in folder.iterdir()}
    assert [run.manifest.status for run in list_runs(folder.parent)] == ["failed"]
    assert isinstance(seen[-1], events.Finished) and seen[-1].status == "failed"
    runner.shutdown(10)


def test_a_worker_process_that_dies_mid_training_leaves_its_run_failed_not_running(qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    from cnnstudio.core.designfile import to_dict
    from cnnstudio.gui.training.runner import TrainingRunner
    from cnnstudio.gui.training.worker import Job
    from cnnstudio.runs.manifest import Manifest
    from cnnstudio.training.settings import parse_settings
    from fault_helpers import die_mid_training

    folder = tmp_path / "runs" / "tiny" / "2026-12-01_00-00-00"
    folder.mkdir(parents=True)
    runner = TrainingRunner("process")
    with qtbot.waitSignal(runner.running_changed, timeout=90_000, check_params_cb=lambda running: not running):
        runner.start_job(Job(to_dict(classifier()), parse_settings(dict(TINY)), str(folder)), die_mid_training)
    manifest = Manifest.load(folder)
    assert (folder / "last.pt").is_file() and manifest.checkpoint["epoch"] == 1  # it died while training
    assert manifest.status == "failed" and manifest.message == "the training process ended unexpectedly (exit code 9)"
    runner.shutdown(10)


def test_an_interrupted_run_shows_so_and_resumes_in_place(studio: MainWindow, qtbot) -> None:  # noqa: ANN001
    """A run whose process was killed (its run.json still "running", naming a process that is gone)."""
    import subprocess
    import sys

    from cnnstudio.runs.manifest import Manifest

    train(qtbot, studio)
    panel = studio.training.runs
    (run,) = panel.runs
    manifest = Manifest.load(run.path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    manifest.status, manifest.owner = "running", {**manifest.owner, "pid": gone.pid, "process_start": None}
    manifest.save(run.path)
    panel.refresh()
    item = panel.tree.topLevelItem(0)
    assert item.text(2) == "interrupted" and "is gone; its last checkpoint is" in item.toolTip(2)
    assert not panel.buttons["resume"].isEnabled()
    assert not panel.buttons["resume"].isVisibleTo(panel)
    panel.select([run.folder])
    assert panel.buttons["resume"].isEnabled() and panel.buttons["resume"].isVisibleTo(panel)
    assert panel.summary.text().startswith(f"{run.name} is interrupted: its process ({gone.pid} on ")
    assert panel.summary.text().endswith(f"{run.path / 'last.pt'}, after epoch 2 (step 8 of the run). Resume continues it from there.")
    studio.training.dock.form.rows["epochs"].editor.setValue(3)
    with qtbot.waitSignal(studio.training_runner.running_changed, timeout=RUN_S,
                          check_params_cb=lambda running: not running):
        panel.buttons["resume"].click()
    (resumed,) = panel.runs  # continued in its own folder
    assert resumed.path == run.path and panel.tree.topLevelItem(0).text(2) == "completed"
    assert not panel.buttons["resume"].isEnabled()
    assert (resumed.manifest.epochs, resumed.manifest.resumed, resumed.manifest.status) == (3, 1, "completed")
    assert [record["epoch"] for record in resumed.metrics()] == [1, 2, 3]


def test_a_view_opened_after_the_run_shows_what_was_captured_while_hidden(studio: MainWindow, qtbot) -> None:  # noqa: ANN001
    views = studio.views.build()
    views.probe.timeline.every.setValue(2)
    assert views.gradients not in views.visible_views() and views.filters not in views.visible_views()
    train(qtbot, studio)
    assert len(views.timeline) >= 3
    assert all(s.grad_norms and s.filters and s.prediction is not None for s in views.timeline.snapshots)
    assert len(views.gradients.steps) == len(views.timeline)
    run = studio.training.runs.runs[-1]
    on_disk = snapshots.stored(run.path)
    assert len(on_disk) == len(views.timeline)
    assert snapshots.load(on_disk[-1]).grad_norms.keys() == views.timeline[-1].grad_norms.keys()
    last = views.timeline[-1]
    end = run.manifest.global_step
    assert (last.step, last.epoch) == (end, 2) and end > 0  # the epoch-end capture, epochs counted from 1
    studio.workspace = "inspect"
    views.view_docks[3].raise_()  # the Gradients tab
    qtbot.waitUntil(lambda: views.gradients in views.visible_views())
    qtbot.waitUntil(lambda: "step" in views.gradients.status.text(), timeout=30_000)
    assert f"{len(views.timeline)} measurements" in views.gradients.status.text()
    qtbot.waitUntil(lambda: f"Trained weights: step {end} · epoch 2" in views.probe.timeline.where.text(), timeout=30_000)
    views.probe.timeline.slider.setValue(0)  # pinned to the past: it says so
    qtbot.waitUntil(lambda: "Pinned" in views.probe.timeline.where.text())
    assert "step 2 " in views.probe.timeline.where.text() and not views.probe.timeline.live.isChecked()


def test_loading_a_run_shows_its_weights_curves_and_timeline(studio: MainWindow, qtbot) -> None:  # noqa: ANN001
    views = studio.views.build()
    views.probe.timeline.every.setValue(3)
    train(qtbot, studio)
    run = studio.training.runs.runs[-1]
    studio.show_design(Design(), None)
    assert len(views.timeline) == 0
    with qtbot.waitSignal(studio.training.weights_loaded, timeout=30_000) as loaded:
        studio.open_path(run.path.parents[2] / "tiny.json", ask=False)  # its latest run is loaded
    assert loaded.args[0].path == str(run.path / "best.pt")
    with qtbot.waitSignal(studio.training.weights_loaded, timeout=30_000) as loaded:
        studio.training.load_run(studio.training.runs.runs[-1], "last")
    assert loaded.args[0].path == str(run.path / "last.pt")
    qtbot.waitUntil(lambda: len(views.timeline) == len(snapshots.stored(run.path)), timeout=30_000)
    assert studio.training.curves.curves.overlays


def test_opening_another_design_resets_every_dock(studio: MainWindow, qtbot, answers) -> None:  # noqa: ANN001, F811
    studio.views.build()
    studio.views.probe.timeline.every.setValue(2)
    train(qtbot, studio)
    training, views = studio.training, studio.views
    assert training.log.entries and len(views.timeline) and training.curves.curves.series["val"].y
    assert training.runs.runs
    other = classifier()
    other.name = "other"
    studio.show_design(other, None)
    curves = training.curves.curves
    assert not training.log.entries and not curves.series["val"].y and not curves.series["step"].x
    assert training.dock.status.text() == "Ready" and training.dock.progress.value() == 0
    assert len(views.timeline) == 0 and views.shown is None and views.gradients.steps == []
    assert views.probe.timeline.where.text() == "no snapshots yet"
    assert training.runs.runs == [] and training.checkpoints.tree.topLevelItemCount() == 0


def test_a_failed_run_stops_the_bar_and_says_why(studio: MainWindow, qtbot) -> None:  # noqa: ANN001
    studio.doc.design.training = {**TINY, "data": "idx:/nonexistent"}
    seen: list[object] = []
    studio.training_runner.event.connect(seen.append)
    train(qtbot, studio)
    dock = studio.training.dock
    assert dock.progress.maximum() > 0  # no longer the busy animation
    assert dock.status.text().startswith("Failed:") and "nonexistent" in dock.status.text()
    assert "Failed" in dock.progress.format()
    assert studio.training.runs.runs[-1].manifest.status == "failed"


def test_pause_and_resume_are_in_the_log_and_the_stop_message_agrees_with_the_dock(studio: MainWindow, qtbot) -> None:  # noqa: ANN001
    studio.doc.design.training = {**TINY, "data_options": {"count": 4000}, "batch_size": 8, "epochs": 3}
    seen: list[object] = []
    studio.training_runner.event.connect(seen.append)
    dock = studio.training.dock
    assert studio.training.start()
    qtbot.waitUntil(lambda: any(isinstance(e, events.StepMetrics) for e in seen), timeout=RUN_S)
    dock.pause.click()
    qtbot.waitUntil(lambda: any(isinstance(e, events.Paused) for e in seen), timeout=RUN_S)
    qtbot.wait(300)
    dock.pause.click()
    qtbot.waitUntil(lambda: any(isinstance(e, events.Resumed) for e in seen), timeout=RUN_S)
    messages = [entry.message for entry in studio.training.log.entries]
    assert any(m.startswith("Paused at epoch 1, step") for m in messages)
    assert any(m.startswith("Resumed after a pause") for m in messages)
    with qtbot.waitSignal(studio.training_runner.running_changed, timeout=RUN_S):
        dock.stop.click()
    finished = seen[-1]
    last = [e for e in seen if isinstance(e, events.StepMetrics)][-1]
    assert f"epoch {last.epoch}, step {finished.step}/{last.steps_per_epoch}" in dock.status.text()
    assert finished.where() in studio.training.log.entries[-1].message
    resumed = next(e for e in seen if isinstance(e, events.Resumed))
    assert resumed.paused_s >= 0.25
