"""The Runs screenshots for the docs: three runs of Figure 21 on MNIST in a real studio window.

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_runs_screenshots.py    # from the repository root

Three runs are trained first (headless, 3 epochs each on ../shared/data/mnist, into a temporary
copy of the template so nothing is left behind): the template's settings, a lower learning rate,
then a wider conv2 with a Dropout added. The studio then opens the design and is grabbed from the
screen twice: the Runs panel with the last two runs' design diff on the canvas
(studio-runs.png), and the three runs' curves overlaid (studio-runs-curves.png).
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

OUT = Path(__file__).resolve().parent
SIZE = (1600, 1000)
DATA = "idx:../shared/data/mnist"


def train_three(path: Path) -> None:
    for change in ("template", "lower lr", "wider conv2 + dropout"):
        design = load_design(path)
        if change == "lower lr":
            design.training = {**design.training, "lr": 0.003}
        elif change.startswith("wider"):
            design.set_param("conv2", "out_channels", 16)
            dropout = design.add_node("Dropout", {"p": 0.25}, "dropout")
            design.disconnect("relu4", "fc2")
            design.connect("relu4", dropout.id)
            design.connect(dropout.id, "fc2")
            design.node("dropout").pos = design.node("fc2").pos
        design.training = {**design.training, "data": DATA}
        save_design(design, path)
        settings = parse_settings(design.training, {"epochs": 3, "device": "cpu"})
        folder = run_folder(runs_dir(path, design.name), settings.to_dict(), design=to_dict(design))
        print(change, "->", Trainer(design, settings, out_dir=folder).run().status, folder.name)


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "figure21.json"
        shutil.copy(TEMPLATES_DIR / "figure21.json", path)
        train_three(path)
        win = MainWindow(Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat)), recovery_dir=Path(tmp) / "recovery")
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(path, ask=False)
        panels = win.training
        shown = (panels.runs_dock, panels.curves_dock, panels.training_dock)
        for dock in win.findChildren(QDockWidget):
            if dock not in shown and dock.objectName() != "dock-palette":
                dock.hide()
        panels.curves_dock.hide()
        runs = panels.runs
        runs.refresh()
        from cnnstudio.runs import store

        store.rename(runs.runs[0], "baseline")
        store.set_note(runs.runs[2], "wider conv2, dropout")
        runs.refresh()
        win.resizeDocks([panels.runs_dock], [330], Qt.Orientation.Vertical)
        win.resizeDocks([panels.training_dock], [330], Qt.Orientation.Horizontal)

        def first() -> None:
            runs.select([run.folder for run in runs.runs[1:]])  # the last two: the diff on the canvas
            win.view.fit()
            app.processEvents()
            QTimer.singleShot(800, lambda: grab("studio-runs.png", second))

        def second() -> None:
            for dock in (panels.runs_dock, panels.curves_dock):  # out of their tab groups, side by side
                win.removeDockWidget(dock)
            win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, panels.runs_dock)
            win.splitDockWidget(panels.runs_dock, panels.curves_dock, Qt.Orientation.Horizontal)
            for dock in (panels.runs_dock, panels.curves_dock):
                dock.show()
            win.resizeDocks([panels.runs_dock, panels.curves_dock], [700, 900], Qt.Orientation.Horizontal)
            win.resizeDocks([panels.runs_dock], [420], Qt.Orientation.Vertical)
            runs.select([run.folder for run in runs.runs])  # all three: curves overlaid
            QTimer.singleShot(1500, lambda: grab("studio-runs-curves.png", finish))

        def grab(name: str, then) -> None:  # noqa: ANN001
            app.processEvents()
            app.primaryScreen().grabWindow(win.winId()).save(str(OUT / name))
            print("wrote", OUT / name)
            then()

        def finish() -> None:
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        QTimer.singleShot(2500, first)
        app.exec()


if __name__ == "__main__":
    main()
