"""The studio stays smooth while it trains: event-loop lateness and throughput, thread vs process.

Run: ``.venv/bin/python bench/bench_studio_training.py`` (CPU; about five minutes on 2 cores).

The real main window is built offscreen in the train workspace (the curves, progress and settings),
in an application made as the studio makes it (``gui.app.application``: its theme, Qt's GUI thread
pool off). The Figure 21 template trains 4 epochs at batch 64 on ../shared/data/mnist (8,000 training images;
synthetic-shapes when absent) these ways, interleaved, three times:

* headless: ``Trainer.run()`` in a process of its own with all usable cores, as ``cnnstudio train``;
* thread: the studio's runner in thread mode (the engine in a Python thread of the studio);
* process: the runner in process mode (a spawned worker, events pickled back);
* thumbnails: process mode with View › Card Thumbnails on, so the probe captures every layer's
  output every N steps and the canvas draws a picture under each card (the live canvas).
* thumbnails-untimed: the same without the lateness timer below. Its 100 wake-ups a second cost
  the studio CPU of its own (each run prints the studio's share of a core: 7.4-7.9% without the
  timer, 8.1-9.9% with it in one bench of six rounds), which the training beside it pays for; a
  user's studio has no such timer. Any mode takes ``-untimed``.

For the studio runs a 10 ms timer measures its own lateness while training runs (from Started to
Finished): p50 and p99 (goal p99 < 30 ms). Throughput is the engine's own images/s from its step
events (median, the first events left out). The machine's own speed drifts by more than the
window costs (headless runs a minute apart differ by up to 15% on a 2-core VM), so each studio run
is compared with the headless runs just before and after it (a closing headless run ends the
bench): the median of those paired ratios, and their range, are printed side by side with the
lateness (goal >= 0.9, thumbnails on included). ``ROUNDS=1 EPOCHS=1 MODES=headless,process,thumbnails``
for a quicker look; ``QT_GUI_POOL=1`` paints as the studio did before it turned Qt's GUI thread
pool off (for a comparison, in turn with a run without it).

First, the cost on the GUI thread of one redraw of the Curves dock (900x420) as a run trains
(five step events, then the redraw and its paint; CPU time of this process, so the machine's load
moves it less than wall time): the redraws are most of what the window does while a run trains.
``CURVES_ONLY=1`` prints only that. Then, in the studio's window, the GUI thread's CPU for one
refresh of the card thumbnails (the pictures and the canvas's repaint; 200 refreshes).
``REDRAWS_ONLY=1`` prints these two and runs no training.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from PySide6.QtCore import QElapsedTimer, QEventLoop, QSettings, Qt, QTimer  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from cnnstudio.core.designfile import load_design  # noqa: E402
from cnnstudio.gui.app import application  # noqa: E402
from cnnstudio.gui.main_window import MainWindow  # noqa: E402
from cnnstudio.gui.settings import Settings  # noqa: E402
from cnnstudio.training.settings import TrainingSettings, parse_settings  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist"
TEMPLATE = ROOT / "resources" / "templates" / "figure21.json"
TICK_MS = 10
SKIP_EVENTS = 3  # the first step events include warm-up
ROUNDS = int(os.environ.get("ROUNDS", 3))
EPOCHS = int(os.environ.get("EPOCHS", "4"))
UNTIMED = "-untimed"  # a mode run without the lateness timer: the throughput a user gets
MODES = os.environ.get("MODES", f"headless,thread,process,thumbnails,thumbnails{UNTIMED}").split(",")  # headless: the base


@dataclass
class Run:
    rates: list[float] = field(default_factory=list)  # the engine's images/s per step event
    lateness_ms: list[float] = field(default_factory=list)
    studio_cpu: float = float("nan")  # CPU time of this process (GUI thread and all) / wall time, while training

    @property
    def rate(self) -> float:
        return statistics.median(self.rates[SKIP_EVENTS:] or self.rates)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.lateness_ms)
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))] if ordered else float("nan")


def settings() -> TrainingSettings:
    data = f"idx:{MNIST}" if MNIST.is_dir() else "synthetic-shapes"
    options = {} if MNIST.is_dir() else {"count": 10_000}
    design = load_design(TEMPLATE)
    return parse_settings(design.training, {"data": data, "data_options": options, "epochs": EPOCHS, "batch_size": 64,
                                            "device": "cpu", "val_split": 0.2})


HEADLESS = """
import json, sys
sys.path.insert(0, {bench!r})
from bench_studio_training import TEMPLATE, load_design, settings
from cnnstudio.training import threads
from pathlib import Path
from cnnstudio.runs.recorder import run_listeners
from cnnstudio.training.engine import Trainer
threads.configure()
rates = []
def on_event(event):
    if type(event).__name__ == "StepMetrics":
        rates.append(event.samples_per_s)
Trainer(load_design(TEMPLATE), settings(), out_dir={out!r}, on_event=on_event, callbacks=run_listeners(Path({out!r}))).run()
print(json.dumps(rates))
"""


def headless(out: str) -> Run:
    """As ``cnnstudio train`` runs: a process of its own with all usable cores (in this process the
    window's objects would slow the garbage collector, and the thread mode's worker changes the
    thread count)."""
    code = HEADLESS.format(bench=str(ROOT / "bench"), out=out)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return Run(rates=json.loads(result.stdout.splitlines()[-1]))


def in_studio(window: MainWindow, mode: str, out: str) -> Run:
    untimed = mode.endswith(UNTIMED)
    mode = mode.removesuffix(UNTIMED)
    thumbnails = mode == "thumbnails"
    mode = "process" if thumbnails else mode
    window.live_canvas.act_thumbnails.setChecked(thumbnails)
    run = Run()
    runner = window.training_runner
    clock = QElapsedTimer()
    timer = QTimer(timerType=Qt.TimerType.PreciseTimer, interval=TICK_MS)
    measuring = False

    def tick() -> None:
        if measuring:
            run.lateness_ms.append(max(0.0, clock.nsecsElapsed() / 1e6 - TICK_MS))
        clock.restart()

    cpu_wall = [0.0, 0.0]

    def on_event(event: object) -> None:
        nonlocal measuring
        kind = type(event).__name__
        if kind == "Started":
            measuring = True
            cpu_wall[:] = [time.process_time(), time.perf_counter()]
        elif kind == "StepMetrics":
            run.rates.append(event.samples_per_s)  # type: ignore[attr-defined]
        elif kind == "Finished":
            measuring = False
            run.studio_cpu = (time.process_time() - cpu_wall[0]) / (time.perf_counter() - cpu_wall[1])
        elif kind == "Error":
            raise SystemExit(f"training failed: {event.message}")  # type: ignore[attr-defined]

    timer.timeout.connect(tick)
    runner.event.connect(on_event)
    loop = QEventLoop()
    runner.running_changed.connect(lambda running: running or loop.quit())
    window.training.dock.mode.setCurrentIndex(window.training.dock.mode.findData(mode))
    window.training.dock.custom_folder = Path(out)
    window.doc.design.training = settings().to_dict()
    clock.start()
    if not untimed:
        timer.start()
    assert window.training.start(), [entry.message for entry in window.training.log.entries]
    loop.exec()
    timer.stop()
    runner.event.disconnect(on_event)
    runner.shutdown(60)  # the worker process ends (torch's teardown) before the next run of the bench starts
    return run


def curves_redraw_ms(app: QApplication, redraws: int = 75) -> list[float]:
    """CPU milliseconds of each Curves redraw (and its paint) while a 4-epoch run's steps arrive."""
    from cnnstudio.gui.training.curves import Curves
    from cnnstudio.training import events

    curves = Curves()
    curves.resize(900, 420)
    curves.show()
    steps, total = 100, 400
    curves.on_event(events.Started("cpu", 6400, 1600, steps, total, 0, [], ["fc2"]))
    app.processEvents()
    costs = []
    for redraw in range(redraws):
        for step in range(5 * redraw + 1, 5 * redraw + 6):  # 20 step events a second, a redraw every 250 ms
            curves.on_event(events.StepMetrics(1 + (step - 1) // steps, (step - 1) % steps + 1, steps, step, total,
                                               2.0 / step**0.5, 0.01, 900.0, 0.0))
            if step % steps == 0:
                curves.on_event(events.EpochMetrics(step // steps, 1 / step, 1.1 / step, {"val_accuracy": 0.9}, 0.01, 1.0))
        started = time.process_time()
        curves.redraw()
        app.processEvents()  # the scene's change, then the paint
        app.processEvents()
        costs.append((time.process_time() - started) * 1000)
    curves.close()
    return sorted(costs)


def thumbnails_refresh_ms(app: QApplication, window: MainWindow, refreshes: int = 200) -> list[float]:
    """CPU milliseconds on the GUI thread of each refresh of the card thumbnails (the pictures and the
    canvas's repaint), every layer's output in the snapshot as a run's probe captures it (random values
    of each layer's real shape, capped as ``events.Activation`` caps them)."""
    import torch

    from cnnstudio.training import events

    live = window.live_canvas
    live.act_thumbnails.setChecked(True)
    analysis = window.doc.analysis
    shapes = {node: info.shape for node, info in analysis.nodes.items() if node not in analysis.inputs and info.shape}
    costs = []
    for refresh in range(refreshes + 5):  # the first five fill the caches
        values = {node: events.Activation(torch.rand(*(min(side, 64) for side in shape)), tuple(shape))
                  for node, shape in shapes.items()}
        live.snapshot = events.Snapshot(refresh, 1, [], None, values)
        started = time.thread_time()
        live.refresh()
        app.processEvents()  # the canvas's repaint
        app.processEvents()
        if refresh >= 5:
            costs.append((time.thread_time() - started) * 1000)
    live.snapshot = None
    live.act_thumbnails.setChecked(False)
    return sorted(costs)


def main() -> None:
    app = application()  # as the studio makes it (see its docstring)
    if os.environ.get("QT_GUI_POOL") == "1":  # the studio before a233e6f: Qt reads the switch at its first large fill
        os.environ.pop("QT_NO_GUI_THREADPOOL", None)
    costs = curves_redraw_ms(app)
    print(f"Curves redraw on the GUI thread, CPU: median {costs[len(costs) // 2]:.1f} ms, "
          f"p90 {costs[int(len(costs) * 0.9)]:.1f} ms (load average {os.getloadavg()[0]:.1f})")
    if os.environ.get("CURVES_ONLY"):
        return
    tmp = tempfile.mkdtemp(prefix="bench-studio-")
    window = MainWindow(Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat)),
                        recovery_dir=Path(tmp) / "recovery", probe_device=False)
    window.resize(1600, 1000)
    window.show()
    window.open_path(TEMPLATE, ask=False)
    window.workspace = "train"  # what a user watches training in: the curves, progress and settings large
    window.training.curves.build()
    window.views.build()  # the probe's request, and so the card thumbnails, need the views
    app.processEvents()
    costs = thumbnails_refresh_ms(app, window)
    print(f"Card thumbnails refresh on the GUI thread, CPU: median {costs[len(costs) // 2]:.1f} ms, "
          f"p90 {costs[int(len(costs) * 0.9)]:.1f} ms (Figure 21, train workspace)")
    if os.environ.get("REDRAWS_ONLY"):
        window.doc.undo_stack.setClean()
        window.close()
        return
    spec = settings()
    print(f"Figure 21, {spec.data}, {spec.epochs} epochs, batch 64, CPU; {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}")
    runs: dict[str, list[Run]] = {mode: [] for mode in MODES}

    def measure(mode: str, label: str) -> None:
        out = f"{tmp}/{mode}-{len(runs[mode])}"
        started = time.perf_counter()
        run = headless(out) if mode == "headless" else in_studio(window, mode, out)
        runs[mode].append(run)
        late = f", lateness p50 {run.percentile(0.5):.1f} ms p99 {run.percentile(0.99):.1f} ms" if run.lateness_ms else ""
        cpu = f", studio process CPU {run.studio_cpu:.1%}" if mode != "headless" else ""
        print(f"  {label} {mode:<18}: {run.rate:7,.0f} images/s{late}{cpu} ({time.perf_counter() - started:.1f} s)")

    for round_ in range(ROUNDS):
        for mode in runs:
            measure(mode, f"round {round_ + 1}")
    measure("headless", "closing")  # each round's studio runs are compared with the headless runs either side
    headless_runs = [r.rate for r in runs["headless"]]
    print(f"\nload average {os.getloadavg()[0]:.1f}")
    print("mode                images/s  / headless (paired: median, range)  lateness p50   p99"
          "   (goals: ratio >= 0.9, p99 < 30 ms)")
    for mode, results in runs.items():
        rate = statistics.median(r.rate for r in results)
        ratios = [r.rate / statistics.mean(headless_runs[i:i + 2]) for i, r in enumerate(results[:ROUNDS])]
        paired = (f"{statistics.median(ratios):9.2f}  ({min(ratios):.2f}-{max(ratios):.2f})" if mode != "headless"
                  else f"the base, {min(headless_runs):,.0f}-{max(headless_runs):,.0f}")
        lateness = [x for r in results for x in r.lateness_ms]
        merged = Run(lateness_ms=lateness)
        late = f"{merged.percentile(0.5):8.1f} ms {merged.percentile(0.99):6.1f} ms" if lateness else ""
        print(f"{mode:<19} {rate:8,.0f}  {paired:<27} {late}")
    window.doc.undo_stack.setClean()
    window.close()


if __name__ == "__main__":
    main()
