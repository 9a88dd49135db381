"""The Training, Curves and Run Log docks: runs in thread and process mode, controls, the settings
form (undoable, saved), snapshots, closing while training, checkpoints and weights."""

from __future__ import annotations

import builtins
import json
import math
import multiprocessing
import pickle
import queue
import threading
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.training.curves import Curves
from cnnstudio.gui.training.runner import TrainingRunner, _ProcessBackend
from cnnstudio.training import events
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401
from training_helpers import classifier

TINY = {"data_options": {"count": 240}, "epochs": 2, "batch_size": 32, "device": "cpu"}
RUN_S = 90_000  # generous: a spawned worker imports torch first


@pytest.fixture
def studio(window: MainWindow, tmp_path: Path) -> MainWindow:  # noqa: F811
    design = classifier()
    design.training = dict(TINY)
    window.show_design(design, None)
    window.training.dock.custom_folder = tmp_path / "run"
    yield window
    window.training_runner.shutdown(60)
    assert not multiprocessing.active_children()


def record(win: MainWindow) -> list[object]:
    seen: list[object] = []
    win.training_runner.event.connect(seen.append)
    return seen


def kinds(seen: list[object]) -> list[str]:
    return [type(event).__name__ for event in seen]


def choose_mode(win: MainWindow, mode: str) -> None:
    win.training.dock.mode.setCurrentIndex(win.training.dock.mode.findData(mode))


def run_to_end(qtbot, win: MainWindow) -> None:  # noqa: ANN001
    with qtbot.waitSignal(win.training_runner.running_changed, timeout=RUN_S, check_params_cb=lambda running: not running):
        assert win.training.start()


def wait_for_steps(qtbot, seen: list[object], count: int = 1) -> None:  # noqa: ANN001
    qtbot.waitUntil(lambda: kinds(seen).count("StepMetrics") >= count, timeout=RUN_S)


@pytest.mark.parametrize("mode", ["thread", "process"])
def test_a_run_reports_fills_the_curves_and_moves_the_progress_bar(studio: MainWindow, qtbot, mode: str) -> None:  # noqa: ANN001
    choose_mode(studio, mode)
    seen = record(studio)
    run_to_end(qtbot, studio)
    order = kinds(seen)
    assert order[0] in ("Started", "Warning") and order[-1] == "Finished" and seen[-1].status == "completed"
    assert order.count("EpochMetrics") == 2 and "StepMetrics" in order
    assert order.index("Started") < order.index("StepMetrics") < order.index("EpochMetrics")
    assert studio.training_runner.mode == mode
    curves = studio.training.curves.curves
    curves.redraw()
    assert len(curves.series["step"].x) >= 2 and curves.series["val"].y and len(curves.series["val"].x) == 2
    assert "metric:val_accuracy" in curves.series
    dock = studio.training.dock
    assert dock.progress.value() == dock.progress.maximum() > 0
    assert dock.start.isEnabled() and not dock.stop.isEnabled()
    assert studio.training.log.entries[-1].message.startswith("Training completed")
    tree = studio.training.checkpoints.tree
    assert tree.topLevelItem(0).text(0) == "last.pt" and tree.topLevelItem(0).text(1) == "2"
    run = studio.training.runs.runs[-1]
    assert (run.path / "metrics.jsonl").read_text().count("\n") == 2 and run.manifest.status == "completed"
    assert studio.training.runs.tree.topLevelItemCount() == len(studio.training.runs.runs)


def test_pause_resume_stop_and_resume_from_the_checkpoint(studio: MainWindow, qtbot) -> None:  # noqa: ANN001
    choose_mode(studio, "thread")
    studio.doc.design.training = {**TINY, "data_options": {"count": 4000}, "batch_size": 8, "epochs": 3}
    seen = record(studio)
    dock = studio.training.dock
    assert studio.training.start()
    wait_for_steps(qtbot, seen)
    dock.pause.click()
    qtbot.wait(400)  # the step under way finishes; then nothing moves
    paused_at = [e for e in seen if isinstance(e, events.StepMetrics)][-1].global_step
    qtbot.wait(400)
    assert [e for e in seen if isinstance(e, events.StepMetrics)][-1].global_step == paused_at
    assert dock.status.text().startswith("Paused") and dock.pause.text() == "Resume"
    dock.pause.click()
    wait_for_steps(qtbot, seen, kinds(seen).count("StepMetrics") + 2)
    with qtbot.waitSignal(studio.training_runner.running_changed, timeout=RUN_S):
        dock.stop.click()
    finished = seen[-1]
    assert finished.status == "stopped" and finished.checkpoint
    written = [e for e in seen if isinstance(e, events.CheckpointWritten)][-1]
    assert Path(written.path).is_file() and written.global_step == finished.global_step
    seen.clear()
    with qtbot.waitSignal(studio.training_runner.running_changed, timeout=RUN_S):
        studio.training.checkpoints.resume.click()  # last.pt is selected
    wait_for_steps(qtbot, seen)
    started = next(e for e in seen if isinstance(e, events.Started))
    assert started.start_step == finished.global_step
    assert studio.training_runner.shutdown(60)


def test_an_invalid_design_shows_its_errors_in_the_log_and_does_not_start(studio: MainWindow) -> None:
    studio.editor.set_param("max_pool2d1", "kernel_size", 32)  # larger than its 16x16 input
    assert not studio.training.start()
    assert not studio.training_runner.is_running()
    entry = studio.training.log.entries[-1]
    assert entry.kind == "error" and entry.message.startswith("The design cannot be trained yet")
    assert "max_pool2d1" in entry.message and "Traceback" not in entry.message


def test_settings_edits_are_checked_undoable_and_saved_with_the_design(studio: MainWindow, tmp_path: Path) -> None:
    form = studio.training.dock.form
    form.rows["epochs"].editor.setValue(7)
    assert studio.doc.design.training["epochs"] == 7 and studio.doc.modified
    form.rows["optimizer"].editor.setCurrentText("sgd")
    assert form.rows["momentum"].editor.isEnabled()
    lr = form.rows["lr"].editor
    lr.setText("-1")
    lr.editingFinished.emit()
    assert "lr" not in studio.doc.design.training and lr.text() == "-1"  # refused, in view, never silently reverted
    assert "Not applied: the design keeps 0.001" in form.rows["lr"].problem and form.rows["lr"].reason.isVisibleTo(form)
    assert "'lr' must be greater than 0" in studio.training.log.entries[-1].message
    form.rows["task"].editor.setCurrentText("metric")
    assert "margin" in form.rows
    form.rows["margin"].editor.setText("0.5")
    form.rows["margin"].editor.editingFinished.emit()
    form.rows["task"].editor.setCurrentText("classification")  # the metric keys go with the task
    assert "margin" not in studio.doc.design.training and "margin" not in form.rows
    stack = studio.doc.undo_stack
    stack.undo()
    assert studio.doc.design.training["margin"] == 0.5 and form.rows["margin"].editor.text() == "0.5"
    while stack.canUndo():
        stack.undo()
    assert studio.doc.design.training == TINY and form.rows["epochs"].editor.value() == 2
    stack.redo()
    assert studio.save_to(tmp_path / "tiny.json")
    assert json.loads((tmp_path / "tiny.json").read_text())["training"]["epochs"] == 7


def test_editing_the_design_while_it_trains_does_not_change_the_run(studio: MainWindow, qtbot) -> None:  # noqa: ANN001
    choose_mode(studio, "thread")
    seen = record(studio)
    with qtbot.waitSignal(studio.training_runner.running_changed, timeout=RUN_S, check_params_cb=lambda running: not running):
        assert studio.training.start()
        studio.editor.set_param("conv2d1", "out_channels", 4)
        studio.training.dock.form.rows["epochs"].editor.setValue(5)
        assert studio.training.dock.snapshot_note.isVisible()
    assert kinds(seen).count("EpochMetrics") == 2  # the epochs set at Start
    assert studio.training_runner.snapshot.node("conv2d1").params["out_channels"] == 8
    import torch

    state = torch.load(seen[-1].checkpoint, weights_only=True)
    assert state["model"]["conv2d1.weight"].shape[0] == 8
    assert not studio.training.dock.snapshot_note.isVisible()


def test_closing_the_window_while_training_asks_and_stops_cleanly(studio: MainWindow, qtbot, answers) -> None:  # noqa: ANN001, F811
    choose_mode(studio, "process")
    studio.doc.design.training = {**TINY, "data_options": {"count": 4000}, "batch_size": 8, "epochs": 3}
    seen = record(studio)
    assert studio.training.start()
    wait_for_steps(qtbot, seen)
    answers.queue = [QMessageBox.StandardButton.Cancel]
    studio.doc.undo_stack.setClean()
    assert not studio.close() and studio.training_runner.is_running()
    answers.queue = [QMessageBox.StandardButton.Yes]
    assert studio.close()
    assert "A training run is in progress" in answers.shown[-1]
    assert seen[-1].status == "stopped" and Path(seen[-1].checkpoint).is_file()
    assert not studio.training_runner.is_running() and not multiprocessing.active_children()


def test_loading_checkpoint_weights_into_the_design_reports_the_match(studio: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    choose_mode(studio, "thread")
    studio.doc.design.training = {**TINY, "epochs": 1}
    run_to_end(qtbot, studio)
    panels = studio.training
    with qtbot.waitSignal(panels.weights_loaded, timeout=RUN_S) as loaded:
        panels.checkpoints.load.click()
    weights = loaded.args[0]
    assert weights is panels.loaded_weights and "conv2d1.weight" in weights.report.loaded
    assert weights.state["conv2d1.weight"].shape[0] == 8
    assert panels.log.entries[-1].message.startswith("Weights from")
    with qtbot.waitSignal(panels.log.list.model().rowsInserted, timeout=RUN_S):
        panels.load_weights(str(tmp_path / "missing.pt"))
    qtbot.waitUntil(lambda: panels.log.entries[-1].kind == "error")
    assert "no such file" in panels.log.entries[-1].message


def test_a_long_curve_is_downsampled_and_clipped_to_the_view(qtbot) -> None:  # noqa: ANN001
    curves = Curves()
    qtbot.addWidget(curves)
    curves.on_event(events.Started("cpu", 1000, 100, 1000, 100_000, 0, [], ["out"]))
    for step in range(1, 100_001):
        curves.on_event(events.StepMetrics(1, step, 1000, step, 100_000, 1.0 / step, 0.001, 1000.0, 0.0))
    curves.redraw()
    for name in ("step", "smooth"):
        item = curves.series[name].item
        assert len(item.xData) == 100_000
        assert item.opts["autoDownsample"] and item.opts["downsampleMethod"] == "peak" and item.opts["clipToView"]
    curves.log_scale.setChecked(True)
    assert curves.loss_plot.getPlotItem().ctrl.logYCheck.isChecked()
    curves.smoothing.setValue(0)
    curves.redraw()
    assert curves.series["smooth"].y[-1] == curves.series["step"].y[-1]


@pytest.mark.parametrize(("steps_per_epoch", "total_steps", "start_step"), [(10, 30, 0), (7, 70, 35), (1000, 1000, 0)])
def test_a_run_spans_the_x_axis_and_the_axes_are_drawn_from_a_cache(qtbot, steps_per_epoch: int, total_steps: int,  # noqa: ANN001
                                                                    start_step: int) -> None:
    """While a run trains the x axis is the whole run (0 to its last epoch), so growing curves do not
    redraw it; overlaid runs are fitted, and the live run's span comes back with it."""
    from PySide6.QtWidgets import QGraphicsItem

    curves = Curves()
    qtbot.addWidget(curves)
    curves.on_event(events.Started("cpu", 1000, 100, steps_per_epoch, total_steps, start_step, [], ["out"]))
    epochs = total_steps / steps_per_epoch
    for step in range(start_step + 1, start_step + 4):
        curves.on_event(events.StepMetrics(1, step, steps_per_epoch, step, total_steps, 1.0 / step, 0.01, 10.0, 0.0))
    curves.redraw()
    for plot in (curves.loss_plot, curves.metric_plot):
        item = plot.getPlotItem()
        low, high = item.vb.viewRange()[0]
        assert low < 0 < epochs < high < epochs * 1.1 and not item.vb.autoRangeEnabled()[0]
        assert all(item.getAxis(side).cacheMode() == QGraphicsItem.CacheMode.DeviceCoordinateCache for side in ("left", "bottom"))
    records = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1 / e, "val_accuracy": 0.5} for e in range(1, 41)]
    curves.overlay([("long run", "#2f63c8", records, "val_accuracy")])
    assert curves.loss_plot.getPlotItem().vb.autoRangeEnabled()[0]
    curves.overlay([])
    assert curves.loss_plot.getPlotItem().vb.viewRange()[0][1] < epochs * 1.1


def test_the_log_says_when_a_stop_kept_an_older_checkpoint() -> None:
    from cnnstudio.gui.training.log import describe

    plain = events.Finished("stopped", 1, 10, "run/last.pt", 2, 8)
    assert describe(plain) == ("info", f"Training stopped at {plain.where()}; the checkpoint lets it resume")
    full = events.Finished("stopped", 1, 10, "run/last.pt", 2, 8, "the checkpoint last.pt was not written: the disk "
                           "holding run is full. The last good checkpoint is kept: run/last.pt, saved at epoch 1")
    kind, text = describe(full)
    assert kind == "warning" and text.startswith(f"Training stopped at {full.where()}, but the checkpoint last.pt was not")
    assert "The last good checkpoint is kept" in text


def _finishes_then_lingers(job: threading.Event, emit, controls) -> None:  # noqa: ANN001
    """A worker that reports its end at once but takes its time to go (as a process tears torch down)."""
    emit(events.Finished("completed", 1, 1, None))
    job.wait(30)


def test_a_new_run_starts_without_waiting_for_the_last_worker_to_go(qtbot) -> None:  # noqa: ANN001
    runner = TrainingRunner(mode="thread")
    first, second = threading.Event(), threading.Event()
    with qtbot.waitSignal(runner.running_changed, check_params_cb=lambda running: not running):
        runner.start_job(first, _finishes_then_lingers)
    with qtbot.waitSignal(runner.running_changed, check_params_cb=lambda running: not running):
        runner.start_job(second, _finishes_then_lingers)  # returned while the first worker is still there
        assert not first.is_set()
    lingering = [t for t in threading.enumerate() if t.name == "training"]
    assert len(lingering) == 2  # both workers still going: nothing on the GUI thread waited for them
    first.set(), second.set()
    assert runner.shutdown(10)  # and shutdown does wait for the last one
    assert not lingering[-1].is_alive()
    qtbot.waitUntil(lambda: not any(t.name in ("training", "training-join") for t in threading.enumerate()))


def test_a_held_range_changes_only_when_the_curves_leave_it_or_shrink_inside_it() -> None:
    from cnnstudio.gui.training.curves import HOLD_FILL, held_range

    assert held_range(None, 0.2, 2.3, floor=0.0) == (0.0, pytest.approx(2.3 * 1.25))  # a loss: from 0
    shown = held_range(None, 0.90, 0.95)
    assert shown[0] < 0.90 and 0.95 < shown[1]
    for low, high in [(0.91, 0.94), (0.90, 0.95), (shown[0], shown[1])]:  # inside and filling it: kept
        assert held_range(shown, low, high) is None
    for low, high in [(0.80, 0.95), (0.90, 0.99)]:  # out of it: a new range around the curves
        again = held_range(shown, low, high)
        assert again is not None and again[0] <= low and high <= again[1]
    wide = held_range(None, 0.0, 10.0)
    small = (4.0, 4.0 + 0.9 * HOLD_FILL * (wide[1] - wide[0]) - 0.01)
    assert held_range(wide, 4.0, 4.0 + HOLD_FILL * (wide[1] - wide[0])) is None
    assert held_range(wide, *small) is not None  # too small in it: fitted again
    flat = held_range(None, 1.0, 1.0)
    assert flat[0] < 1.0 < flat[1] and flat[1] - flat[0] > 0.01  # one point still gets a readable range
    assert held_range(None, -3.0, -1.0, floor=0.0)[0] < -3.0  # below the floor: not clipped to it


def test_a_falling_loss_keeps_the_live_y_axis_still(qtbot) -> None:  # noqa: ANN001
    """Each change of a y range redraws the axis and its grid: a falling loss must not change it."""
    curves = Curves()
    qtbot.addWidget(curves)
    curves.on_event(events.Started("cpu", 1000, 100, 100, 1000, 0, [], ["out"]))
    ranges = set()
    for step in range(1, 1001):
        curves.on_event(events.StepMetrics(1 + (step - 1) // 100, (step - 1) % 100 + 1, 100, step, 1000,
                                           2.3 / step**0.5, 0.01, 1000.0, 0.0))
        if step % 10 == 0:
            curves.redraw()
            ranges.add(tuple(curves.loss_plot.getPlotItem().vb.viewRange()[1]))
    assert len(ranges) == 1 and ranges.pop()[0] == 0.0
    curves.log_scale.setChecked(True)  # another scale: a range in its units, held as well
    curves.redraw()
    low, high = curves.loss_plot.getPlotItem().vb.viewRange()[1]
    assert low <= math.log10(2.3 / 1000**0.5) and math.log10(2.3) <= high


def test_a_torch_that_fails_to_load_in_the_window_leaves_the_events_to_be_read(monkeypatch) -> None:  # noqa: ANN001
    """The events' thread imports torch first (see ``_import_torch``); a broken install raises more
    than ImportError (a CUDA library that does not load), and the run's events are read all the same."""
    real_import = builtins.__import__

    def broken(name: str, *args: object, **kwargs: object) -> object:
        if name == "torch":
            raise OSError("libcudnn.so.9: cannot open shared object file")
        return real_import(name, *args, **kwargs)

    sent = [events.Warning("torch did not load"), events.Finished("failed", 0, 0, None)]
    backend = _ProcessBackend()
    backend.queue = queue.Queue()
    for event in sent:
        backend.queue.put(pickle.dumps(event))
    backend.process = type("Alive", (), {"is_alive": lambda self: True})()
    read: list[object] = []
    monkeypatch.setattr(builtins, "__import__", broken)
    backend._read(read.append)
    assert read == sent

