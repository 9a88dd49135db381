"""The Sweep dock with a finished sweep in the Experiments workspace, and the Runs panel with its
trials, in a real studio window at 1440x900:

    Xvfb :99 -screen 0 1440x900x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_sweep_screenshot.py [DESIGN.json]

Without DESIGN, it makes a small classifier in a temporary folder, trains it once with a real
``cnnstudio train`` and sweeps its learning rate and first convolution's width with a real
``cnnstudio sweep`` (6 trials of 2 epochs on generated shapes); with DESIGN, it shows that design's
saved sweep as it stands. Writes ``studio-sweep-1440x900.png`` beside this script, then
``studio-runs-sweep-1440x900.png``: the Runs panel below the canvas, the sweep's row opened on its
trials (pruned ones grey) beside the ordinary run, its best trial selected.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import save_design
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings
from cnnstudio.runs.table import best_trial, sweep_of

HERE = Path(__file__).resolve().parent
SWEEP = {"name": "demo", "params": {"training.lr": "float:0.0003:0.03:log", "nodes.conv1.out_channels": "int:2:12"},
         "trials": 6, "jobs": 1, "metric": None, "sampler": "random", "pruner": "median"}


def make_sweep(folder: Path) -> Path:
    design = Design(name="shapes")
    previous = design.add_node("Input", {"shape": [1, 16, 16]}, "x").id
    for node_id, type_name, params in [("conv1", "Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": "same"}),
                                       ("relu1", "ReLU", {}), ("pool1", "MaxPool2d", {"kernel_size": 2}),
                                       ("flatten", "Flatten", {}), ("fc", "Linear", {"out_features": 6})]:
        design.add_node(type_name, params, node_id)
        design.connect(previous, node_id)
        previous = node_id
    design.training = {"epochs": 2, "batch_size": 32, "data_options": {"count": 300}, "device": "cpu"}
    design.sweep = SWEEP
    path = folder / "shapes.json"
    save_design(design, path)
    subprocess.run([sys.executable, "-m", "cnnstudio", "train", str(path)], check=True)  # an ordinary run
    params = [f"--param={key}={spec}" for key, spec in SWEEP["params"].items()]
    subprocess.run([sys.executable, "-m", "cnnstudio", "sweep", str(path), *params, "--trials", "6", "--sweep", "demo",
                    "--sampler", "random", "--seed", "3"], check=True)
    return path


def shoot(path: Path) -> None:
    app = QApplication.instance() or QApplication([])
    theme.apply(app)
    with tempfile.TemporaryDirectory() as settings_dir:
        window = MainWindow(Settings(QSettings(f"{settings_dir}/s.ini", QSettings.Format.IniFormat)), probe_device=False)
        window.resize(1440, 900)
        window.show()
        window.open_path(path, ask=False)
        window.workspace = "experiments"  # the sweep on the right, the runs and their curves below
        dock = window.findChild(QDockWidget, "dock-sweep")
        window.view.fit()

        def done() -> bool:
            return window.sweep.table.rowCount() > 0 and window.sweep.weighing is None and window.sweep.importance_of > 0

        def grab() -> None:
            if not done():
                QTimer.singleShot(500, grab)
                return
            window.grab().save(str(HERE / "studio-sweep-1440x900.png"))
            show_runs()

        def show_runs() -> None:
            runs_dock, runs = window.findChild(QDockWidget, "dock-runs"), window.training.runs
            dock.hide()
            window.removeDockWidget(runs_dock)  # below the canvas, full width: every column shows
            window.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, runs_dock)
            runs_dock.show()
            window.resizeDocks([runs_dock], [330], Qt.Orientation.Vertical)
            runs.refresh()
            best = best_trial([run for run in runs.runs if sweep_of(run) == (window.doc.design.sweep or {}).get("name")])
            runs.select([best.folder] if best else [])  # opens the sweep's row on its trials
            window.view.fit()
            QTimer.singleShot(800, lambda: (window.grab().save(str(HERE / "studio-runs-sweep-1440x900.png")), app.quit()))

        QTimer.singleShot(1000, grab)
        app.exec()


if __name__ == "__main__":
    if len(sys.argv) > 1:
        shoot(Path(sys.argv[1]).resolve())
    else:
        with tempfile.TemporaryDirectory() as folder:
            shoot(make_sweep(Path(folder)))
