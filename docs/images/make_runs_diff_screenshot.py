"""The Runs panel's limits removed, in one real studio window: docs/images/studio-runs-diff-removed.png.

    Xvfb :99 -screen 0 1440x900x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_runs_diff_screenshot.py    # from the repository root

Into a temporary copy of Figure 21 (nothing is left behind), headless and on the template's
generated data: a run in the layout from before the run store (``runs/figure21/last.pt`` and
``metrics.jsonl`` only), a run with the template as it is, a start that fails at once (a data
folder that does not exist), and a run with ``relu3`` removed and a wider ``conv2``. The studio
opens the design (as the last run left it) and the two run-store runs are selected: ``conv2`` is
outlined as changed and ``relu3`` is drawn as a ghost card where it stood.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.designfile import load_design, save_design, to_dict
from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings
from cnnstudio.runs import run_folder, runs_dir
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings

OUT = Path(__file__).resolve().parent / "studio-runs-diff-removed.png"
SIZE = (1440, 900)


def train(path: Path, overrides: dict, older: bool = False) -> None:
    design = load_design(path)
    settings = parse_settings(design.training, {"epochs": 2, "device": "cpu", **overrides})
    runs = runs_dir(path, design.name)
    folder = runs if older else run_folder(runs, settings.to_dict(), design=to_dict(design))
    finished = Trainer(design, settings, out_dir=folder).run()
    print(folder.name, finished.status, finished.message or "")
    if older:  # what a start wrote before the run store: the checkpoint and the metrics, nothing else
        for name in ("run.json", "design.json", "settings.json", "best.pt"):
            (folder / name).unlink()


def make_runs(path: Path) -> None:
    train(path, {}, older=True)
    train(path, {"lr": 0.005})
    train(path, {"data": f"folder:{path.parent / 'no-such-data'}", "data_options": {}})
    design = load_design(path)
    design.remove_node("relu3")
    design.connect("conv3", "pool2")
    design.set_param("conv2", "out_channels", 16)
    save_design(design, path)
    train(path, {"lr": 0.005})


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app)
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
        win.resizeDocks([panels.runs_dock], [270], Qt.Orientation.Vertical)
        win.resizeDocks([panels.training_dock], [300], Qt.Orientation.Horizontal)

        def select() -> None:
            kept = [run for run in runs.runs if not run.older and run.manifest.status == "completed"]
            runs.select([run.folder for run in kept])  # the template's run against the last one
            win.view.fit()
            app.processEvents()
            QTimer.singleShot(800, grab)

        def grab() -> None:
            app.processEvents()
            app.primaryScreen().grabWindow(win.winId()).save(str(OUT))
            print("wrote", OUT)
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        QTimer.singleShot(2500, select)
        app.exec()


if __name__ == "__main__":
    main()
