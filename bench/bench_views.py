"""The views' budget: training with every view open costs little, and the window stays responsive.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python bench/bench_views.py [--studio-only] [--repeats N]``
(CPU; about two minutes on 2 cores; a real display works too). ``--repeats`` sets how many times
each studio case runs (default 2): on a busy machine more runs make the medians mean more.

1. Capture alone, Qt-free: the Figure 21 template trains 3 epochs of MNIST (8,000 images, or
   synthetic shapes when ../shared/data/mnist is absent) with the views' default request set on the
   Trainer (every layer's activations, filters, gradient norms, prediction and saliency, every
   ``probes.DEFAULT_EVERY`` steps) and without, interleaved, three times each: images/s and ratio.
2. The studio: the same run through ``window.training_runner`` (its default mode) with every view
   dock open side by side, with every view closed (they still record in the background: every
   snapshot holds what every view needs, kept in the timeline and written to the run folder), and
   headless (``Trainer.run`` with no window involved, writing its checkpoints to a run folder too)
   with all cores (as the command line runs) and with the count the studio's worker starts with (a
   core left to the window, before its thread tuner measures), interleaved, twice each. A 10 ms timer on the GUI thread measures event-loop lateness.
   Goals (issues 4 and 14): views open / headless and views recording hidden / headless >= 0.9,
   lateness p99 < 50 ms in both.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer  # noqa: E402

from cnnstudio.core.designfile import load_design  # noqa: E402
from cnnstudio.gui.app import application  # noqa: E402
from cnnstudio.gui.main_window import MainWindow  # noqa: E402
from cnnstudio.gui.settings import Settings  # noqa: E402
from cnnstudio.gui.training.worker import GUI_CORES  # noqa: E402
from cnnstudio.training import events, probes, threads  # noqa: E402
from cnnstudio.training.engine import Trainer  # noqa: E402
from cnnstudio.training.settings import parse_settings  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist"
TEMPLATE = ROOT / "resources" / "templates" / "figure21.json"
LAYERS = ("conv1", "relu1", "conv2", "relu2", "pool1", "conv3", "relu3", "pool2", "flatten", "fc1", "relu4", "fc2")


def settings(design):  # noqa: ANN001, ANN201
    spec = f"idx:{MNIST}" if MNIST.is_dir() else "synthetic-shapes"
    options = {} if MNIST.is_dir() else {"count": 10_000}
    return parse_settings(design.training, {"data": spec, "data_options": options, "epochs": 3, "device": "cpu",
                                            "schedule": "none"})


class Steps:
    """Images/s from the first to the last step event (setup and validation left out)."""

    def __init__(self, batch: int):
        self.batch = batch
        self.seen: list[tuple[float, int]] = []
        self.snapshots = 0

    def __call__(self, event: object) -> None:
        if isinstance(event, events.StepMetrics):
            self.seen.append((time.perf_counter(), event.global_step))
        elif isinstance(event, events.Snapshot):
            self.snapshots += 1

    @property
    def rate(self) -> float:
        (t0, s0), (t1, s1) = self.seen[0], self.seen[-1]
        return (s1 - s0) * self.batch / (t1 - t0)


def capture_alone() -> None:
    design = load_design(TEMPLATE)
    s = settings(design)
    request = probes.ProbeRequest(activations=LAYERS, filters=True, grad_norms=True, predictions=True, saliency=True)
    rates: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):
        for probed in (False, True):
            steps = Steps(s.batch_size)
            trainer = Trainer(design, s, on_event=steps)
            trainer.set_probe(request if probed else None)
            trainer.run()
            rates[probed].append(steps.rate)
    plain, probed = statistics.median(rates[False]), statistics.median(rates[True])
    print(f"1. capture alone (every {request.every} steps): {plain:.0f} images/s without, {probed:.0f} with, "
          f"ratio {probed / plain:.3f}")


def studio(repeats: int = 2) -> None:
    app = application()  # as the studio makes it (see its docstring)
    with tempfile.TemporaryDirectory() as tmp:
        win = MainWindow(Settings(QSettings(str(Path(tmp) / "s.ini"), QSettings.Format.IniFormat)),
                         recovery_dir=Path(tmp) / "recovery", probe_device=False)
        win.resize(1600, 1000)
        win.show()
        design = load_design(TEMPLATE)
        win.show_design(design, None)
        views = win.views.build()
        for dock in views.view_docks:  # every view open at once, side by side under the canvas
            win.removeDockWidget(dock)
            win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock, Qt.Orientation.Horizontal)
        runner = win.training_runner
        lateness: list[float] = []
        clock = QElapsedTimer()
        timer = QTimer(interval=10)

        def tick() -> None:
            elapsed = clock.restart()
            lateness.append(max(0.0, elapsed - 10))

        timer.timeout.connect(tick)

        def one_run(open_views: bool) -> tuple[float, int]:
            for dock in views.view_docks:
                dock.setVisible(open_views)
            steps = Steps(64)
            runner.event.connect(steps)
            loop = QEventLoop()
            runner.running_changed.connect(loop.quit)
            runner.start(design, settings(design), str(Path(tmp) / f"run-{len(rates[open_views])}-{open_views}"))
            clock.start()
            timer.start()
            loop.exec()
            timer.stop()
            runner.running_changed.disconnect(loop.quit)
            runner.event.disconnect(steps)
            while views.offline.busy:  # after a run the views look at its checkpoint; let that finish
                app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)
            return steps.rate, steps.snapshots

        def headless(count: int) -> float:
            steps = Steps(64)
            before = torch.get_num_threads()
            torch.set_num_threads(count)
            try:
                Trainer(design, settings(design), on_event=steps, out_dir=Path(tmp) / f"headless-{len(alone)}").run()
            finally:
                torch.set_num_threads(before)
            return steps.rate

        # The studio's worker starts with GUI_CORES left to the window and its ThreadTuner then takes
        # whichever count trains faster; the command line uses all cores. Both are baselines here.
        worker_threads, all_threads = threads.plan(reserve=GUI_CORES), threads.plan()
        rates: dict[bool, list[float]] = {False: [], True: []}
        alone: list[float] = []
        cli: list[float] = []
        measured: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(repeats):
            alone.append(headless(worker_threads))
            cli.append(headless(all_threads))
            for open_views in (False, True):
                start = len(lateness)
                rate, snapshots = one_run(open_views)
                rates[open_views].append(rate)
                measured[open_views] += lateness[start:]
                print(f"   run with views {'open' if open_views else 'hidden, recording'}: {rate:.0f} images/s, "
                      f"{snapshots} snapshots, {len(views.timeline)} in the timeline")
        closed, opened = statistics.median(rates[False]), statistics.median(rates[True])
        base, full = statistics.median(alone), statistics.median(cli)
        p99 = {key: sorted(late)[int(len(late) * 0.99)] for key, late in measured.items()}
        p50 = {key: sorted(late)[len(late) // 2] for key, late in measured.items()}
        print(f"2. studio ({runner.mode} mode): views hidden but recording {closed:.0f} images/s, all views open "
              f"{opened:.0f}; GUI lateness hidden p50 {p50[False]:.0f} ms p99 {p99[False]:.0f} ms, open p50 "
              f"{p50[True]:.0f} ms p99 {p99[True]:.0f} ms (goal p99 < 50 ms)")
        for label, rate in ((f"headless with all {all_threads} thread(s), as the command line runs", full),
                            (f"headless with {worker_threads} thread(s), as the studio's worker starts", base)):
            print(f"   {label}: {rate:.0f} images/s; hidden / that {closed / rate:.3f}, open / that "
                  f"{opened / rate:.3f} (goal >= 0.9)")
        win.doc.undo_stack.setClean()
        win.close()


if __name__ == "__main__":
    arguments = sys.argv[1:]
    if "--studio-only" not in arguments:
        capture_alone()
    studio(int(arguments[arguments.index("--repeats") + 1]) if "--repeats" in arguments else 2)
