"""The training screenshot for the docs: Figure 21 trained on MNIST in a real studio window.

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_training_screenshot.py    # from the repository root

As make_screenshots.py: fresh settings, the template opened, the window grabbed from the screen,
here once the run (3 epochs on ../shared/data/mnist, in a worker process) has finished.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

OUT = Path(__file__).resolve().parent / "studio-training.png"
SIZE = (1600, 1000)
DATA = "idx:../shared/data/mnist"


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app)
    with tempfile.TemporaryDirectory() as tmp:
        win = MainWindow(Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat)), recovery_dir=Path(tmp) / "recovery")
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(TEMPLATES_DIR / "figure21.json", ask=False)
        panels = win.training
        for dock in win.findChildren(QDockWidget):  # the training docks and the palette, nothing else
            if dock not in (panels.training_dock, panels.curves_dock, panels.log_dock) and dock.objectName() != "dock-palette":
                dock.hide()
        win.doc.design.training = {**win.doc.design.training, "data": DATA, "epochs": 3}
        panels.dock.form.refresh()
        panels.dock.custom_folder = Path("runs/figure-21")  # ignored by git, as cnnstudio train's default
        panels.dock.folder.setText(str(panels.dock.custom_folder))
        win.resizeDocks([panels.curves_dock], [380], Qt.Orientation.Vertical)
        win.resizeDocks([panels.training_dock], [400], Qt.Orientation.Horizontal)
        win.resizeDocks([panels.curves_dock, panels.log_dock], [1000, 560], Qt.Orientation.Horizontal)
        win.view.fit()

        def grab() -> None:
            win.view.fit()  # the docks have their final sizes now
            app.processEvents()
            app.primaryScreen().grabWindow(win.winId()).save(str(OUT))
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        win.training_runner.running_changed.connect(lambda running: running or QTimer.singleShot(600, grab))
        QTimer.singleShot(1500, panels.start)
        app.exec()
    print("wrote", OUT)


if __name__ == "__main__":
    main()
