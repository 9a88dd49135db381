"""The dataset browser's screenshots for the docs, from a real window on a real screen.

    Xvfb :99 -screen 0 1440x900x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_dataset_screenshots.py    # from the repository root

Figure 21 on MNIST (../shared/data/mnist) with augmentation on, and the YOLO template on generated
shapes with its boxes; each time the browser window is grabbed from the screen once its grid,
histogram and augmentation preview are drawn.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

HERE = Path(__file__).resolve().parent
SHOTS = [
    ("dataset-browser-mnist.png", "figure21", {"data": "idx:../shared/data/mnist",
                                               "augment": {"rotation": 15, "shift": 0.1, "zoom": 0.1}}, 5),
    ("dataset-browser-detection.png", "yolo_grid", {"augment": {"rotation": 10, "hflip": 0.5, "zoom": 0.15}}, 2),
]


def wait(app: QApplication, ready, seconds: float = 60) -> None:  # noqa: ANN001
    end = time.monotonic() + seconds
    while not ready() and time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app)
    with tempfile.TemporaryDirectory() as tmp:
        win = MainWindow(Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat)),
                         recovery_dir=Path(tmp) / "recovery", probe_device=False)
        win.show()
        for name, template, training, row in SHOTS:
            win.open_path(TEMPLATES / f"{template}.json", ask=False)
            win.doc.design.training = {**win.doc.design.training, **training}
            win.show_dataset_browser()
            browser = win.dataset_browser
            browser.move(0, 0)
            browser.resize(1280, 800)
            browser.refresh(force=True)
            wait(app, lambda browser=browser, row=row: browser.grid.count() > row)
            browser.grid.setCurrentRow(row)  # a sample whose augmented copies show the changes well
            wait(app, lambda browser=browser: not browser.tiles[-1].pixmap().isNull())
            for _ in range(30):
                app.processEvents()
                time.sleep(0.02)
            app.primaryScreen().grabWindow(browser.winId()).save(str(HERE / name))
            with Image.open(HERE / name) as image:  # a palette PNG: a fraction of the size, the same look
                small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
            small.save(HERE / name, optimize=True)
            print("wrote", HERE / name)
            wait(app, lambda browser=browser: not browser.jobs)
        win.doc.undo_stack.setClean()
        win.close()


if __name__ == "__main__":
    main()
