"""What the Runs panel shows of a run's state, in real studio windows at 1440x900:

    Xvfb :99 -screen 0 1440x900x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_runs_state_screenshots.py [diff] [interrupted]

Each shot works in a temporary copy of Figure 21 (nothing is left behind), on the template's
generated data:

- ``studio-runs-diff-removed.png``: a run in the layout from before the run store
  (``runs/figure21/last.pt`` and ``metrics.jsonl`` only), a run with the template as it is, a start
  that fails at once (a data folder that does not exist), and a run with ``relu3`` removed and a
  wider ``conv2``. The two run-store runs are selected: ``conv2`` is outlined as changed and
  ``relu3`` is drawn as a ghost card where it stood.
- ``studio-runs-interrupted.png``: one run trained to its end, then a real ``cnnstudio train``
  process killed with SIGKILL after its first checkpoints, so its run.json still says "running".
  The killed run is selected: its status reads "interrupted", the line under the table says where
  its last checkpoint stands, and Resume is on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.designfile import load_design, save_design, to_dict
from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings
from cnnstudio.runs import list_runs, run_folder, runs_dir
from cnnstudio.runs.store import Run
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings

HERE = Path(__file__).resolve().parent
SIZE = (1440, 900)


def train_here(path: Path, overrides: dict, older: bool = False) -> None:
    """Two epochs in this process; ``older``: leave only what a start wrote before the run store."""
    design = load_design(path)
    settings = parse_settings(design.training, {"epochs": 2, "device": "cpu", **overrides})
    runs = runs_dir(path, design.name)
    folder = runs if older else run_folder(runs, settings.to_dict(), design=to_dict(design))
    finished = Trainer(design, settings, out_dir=folder).run()
    print(folder.name, finished.status, finished.message or "")
    if older:
        for name in ("run.json", "design.json", "settings.json", "best.pt"):
            (folder / name).unlink()


def train_killed(path: Path, epochs: int, kill_after_epochs: int) -> None:
    """``cnnstudio train`` in its own process, killed (SIGKILL) once its checkpoint holds that many epochs."""
    command = [sys.executable, "-m", "cnnstudio", "train", str(path), "--device", "cpu", "--epochs", str(epochs)]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    runs = runs_dir(path, load_design(path).name)
    while process.poll() is None:
        latest = list_runs(runs)[-1:] if runs.is_dir() else []
        checkpoint = latest[0].manifest.checkpoint if latest else None
        if checkpoint and checkpoint["epoch"] >= kill_after_epochs:
            process.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    process.wait()


def diff_runs(path: Path) -> None:
    train_here(path, {}, older=True)
    train_here(path, {"lr": 0.005})
    train_here(path, {"data": f"folder:{path.parent / 'no-such-data'}", "data_options": {}})
    design = load_design(path)
    design.remove_node("relu3")
    design.connect("conv3", "pool2")
    design.set_param("conv2", "out_channels", 16)
    save_design(design, path)
    train_here(path, {"lr": 0.005})


def interrupted_runs(path: Path) -> None:
    train_here(path, {"lr": 0.005})
    time.sleep(1.1)  # run folders are named by the second
    train_killed(path, epochs=8, kill_after_epochs=3)


def completed_in_run_store(run: Run) -> bool:
    return not run.older and run.manifest.status == "completed"


def interrupted(run: Run) -> bool:
    return run.state.status == "interrupted"


# name: (the picture, the runs it needs, which runs it selects, the Runs dock's height)
SHOTS: dict[str, tuple[str, Callable[[Path], None], Callable[[Run], bool], int]] = {
    "diff": ("studio-runs-diff-removed.png", diff_runs, completed_in_run_store, 270),
    "interrupted": ("studio-runs-interrupted.png", interrupted_runs, interrupted, 250),
}


def shoot(app: QApplication, name: str) -> None:
    picture, make_runs, selected, height = SHOTS[name]
    out = HERE / picture
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figure21.json"
        shutil.copy(TEMPLATES_DIR / "figure21.json", path)
        make_runs(path)
        win = MainWindow(Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat)),
                         recovery_dir=Path(tmp) / "recovery")
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(path, ask=False)
        panels = win.training
        for dock in win.findChildren(QDockWidget):
            if dock not in (panels.runs_dock, panels.training_dock) and dock.objectName() != "dock-palette":
                dock.hide()
        win.removeDockWidget(panels.runs_dock)  # below the canvas, full width: every column shows
        win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, panels.runs_dock)
        panels.runs_dock.show()
        runs = panels.runs
        runs.refresh()
        win.resizeDocks([panels.runs_dock], [height], Qt.Orientation.Vertical)
        win.resizeDocks([panels.training_dock], [300], Qt.Orientation.Horizontal)

        def select() -> None:
            runs.select([run.folder for run in runs.runs if selected(run)])
            win.view.fit()
            app.processEvents()
            QTimer.singleShot(800, grab)

        def grab() -> None:
            app.processEvents()
            app.primaryScreen().grabWindow(win.winId()).save(str(out))
            print("wrote", out, [(run.folder, run.state.status) for run in runs.runs])
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        QTimer.singleShot(2500, select)
        app.exec()


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app)
    for name in sys.argv[1:] or list(SHOTS):
        shoot(app, name)


if __name__ == "__main__":
    main()
