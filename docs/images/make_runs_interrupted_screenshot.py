"""An interrupted run in the Runs panel, in one real studio window: docs/images/studio-runs-interrupted.png.

    Xvfb :99 -screen 0 1440x900x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_runs_interrupted_screenshot.py    # from the repository root

Into a temporary copy of Figure 21 (nothing is left behind), on the template's generated data: one
run trained to its end, then a real ``cnnstudio train`` process killed with SIGKILL after its first
checkpoints, so its run.json still says "running". The studio opens the design and selects the
killed run: its status reads "interrupted", the line under the table says where its last
checkpoint stands, and Resume is on.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings
from cnnstudio.runs import runs_dir

OUT = Path(__file__).resolve().parent / "studio-runs-interrupted.png"
SIZE = (1440, 900)


def train(path: Path, *args: str, kill_after_epochs: int | None = None) -> None:
    """``cnnstudio train`` in its own process; killed (SIGKILL) once its checkpoint holds that many epochs."""
    from cnnstudio.runs import list_runs

    command = [sys.executable, "-m", "cnnstudio", "train", str(path), "--device", "cpu", *args]
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL, env={**os.environ, "OMP_NUM_THREADS": "1"})
    if kill_after_epochs is None:
        process.wait()
        return
    runs = runs_dir(path, load_design(path).name)
    while process.poll() is None:
        latest = list_runs(runs)[-1:] if runs.is_dir() else []
        checkpoint = latest[0].manifest.checkpoint if latest else None
        if checkpoint and checkpoint["epoch"] >= kill_after_epochs:
            process.send_signal(signal.SIGKILL)
        time.sleep(0.05)
    process.wait()


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figure21.json"
        shutil.copy(TEMPLATES_DIR / "figure21.json", path)
        train(path, "--epochs", "2", "--lr", "0.005")
        time.sleep(1.1)  # run folders are named by the second
        train(path, "--epochs", "8", kill_after_epochs=3)
        win = MainWindow(Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat)),
                         recovery_dir=Path(tmp) / "recovery")
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(path, ask=False)
        panels = win.training
        shown = (panels.runs_dock, panels.training_dock)
        for dock in win.findChildren(QDockWidget):
            if dock not in shown and dock.objectName() != "dock-palette":
                dock.hide()
        panels.curves_dock.hide()
        win.removeDockWidget(panels.runs_dock)  # below the canvas, full width: every column shows
        win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, panels.runs_dock)
        panels.runs_dock.show()
        runs = panels.runs
        runs.refresh()
        win.resizeDocks([panels.runs_dock], [250], Qt.Orientation.Vertical)
        win.resizeDocks([panels.training_dock], [300], Qt.Orientation.Horizontal)

        def select() -> None:
            runs.select([run.folder for run in runs.runs if run.state.status == "interrupted"])
            win.view.fit()
            app.processEvents()
            QTimer.singleShot(800, grab)

        def grab() -> None:
            app.processEvents()
            app.primaryScreen().grabWindow(win.winId()).save(str(OUT))
            print("wrote", OUT, [(run.folder, run.state.status) for run in runs.runs])
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        QTimer.singleShot(2500, select)
        app.exec()


if __name__ == "__main__":
    main()
