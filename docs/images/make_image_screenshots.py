"""Screenshots of the images the network makes, from a real window on an X display (Xvfb works).

    Xvfb :18 -screen 0 1440x900x24 &
    DISPLAY=:18 .venv/bin/python docs/images/make_image_screenshots.py

* ``images-style-transfer.png``: the VGG-style template trained briefly on generated shapes, its
  content and style layers marked on the canvas, a style transfer in progress in its dock;
* ``view-filters-look-for.png``: Figure 21 trained on the MNIST digits of ../shared/data/mnist, the
  Filters view with each conv2 filter's weights and, beside them, what it looks for.

The whole screen is captured (``import -window root``), as the window draws it.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
from cnnstudio.training.synthesis.images import write_png

OUT = Path(__file__).resolve().parent
MNIST = OUT.parents[2] / "shared" / "data" / "mnist"
SIZE = (1440, 900)


def pictures(folder: Path) -> tuple[Path, Path]:
    """A content picture (sun, hills and sky) and a style picture (bold coloured waves), 128 px."""
    y, x = np.mgrid[0:128, 0:128] / 127.0
    sky = np.stack([0.45 + 0.3 * y, 0.65 + 0.2 * y, np.full_like(y, 0.95)])
    hills = y > 0.62 + 0.12 * np.sin(x * 5.0)
    content = np.where(hills, np.stack([0.2 + 0.2 * x, 0.55 - 0.2 * y, 0.2 + 0 * x]), sky)
    sun = (x - 0.72) ** 2 + (y - 0.28) ** 2 < 0.018
    content[:, sun] = np.array([[1.0], [0.85], [0.2]])
    waves = np.sin(18 * x + 6 * np.sin(7 * y)) * np.cos(11 * y - 3 * x)
    style = np.stack([0.5 + 0.5 * waves, 0.3 + 0.3 * np.sin(9 * x * y * math.pi), 0.5 - 0.5 * waves])
    paths = folder / "content.png", folder / "style.png"
    import torch

    for image, path in zip((content, style), paths):
        write_png(torch.tensor(image, dtype=torch.float32).clamp(0, 1), path)
    return paths


def trained(template: str, folder: Path, overrides: dict) -> str:
    design = load_design(TEMPLATES / template)
    settings = parse_settings(design.training, {"device": "cpu", **overrides})
    finished = Trainer(design, settings, out_dir=folder, step_rate=None).run()
    assert finished.status == "completed", finished
    return str(finished.checkpoint)


def window(app: QApplication, folder: Path, template: str, data: str | None = None) -> MainWindow:
    theme.apply(app, dark=False)
    settings = Settings(QSettings(str(folder / f"{template}.ini"), QSettings.Format.IniFormat))  # a fresh layout
    win = MainWindow(settings, recovery_dir=folder / "recovery", probe_device=False)
    win.move(0, 0)
    win.resize(*SIZE)
    win.show()
    design = load_design(TEMPLATES / template)
    if data:
        design.training["data"] = data
    win.show_design(design, None)
    return win


def capture(name: str) -> None:
    """The whole screen, saved as a 256-colour PNG (a fraction of the size, and it looks the same)."""
    from PIL import Image

    subprocess.run(["import", "-window", "root", "-display", os.environ["DISPLAY"], str(OUT / name)], check=True)
    with Image.open(OUT / name) as image:
        small = image.convert("RGB").quantize(256, method=Image.Quantize.MEDIANCUT)
    small.save(OUT / name, optimize=True)
    print("wrote", OUT / name)


def style_shot(app: QApplication, folder: Path) -> None:
    checkpoint = trained("vgg_small.json", folder / "vgg", {"epochs": 2, "data_options": {"count": 1200}})
    content, style = pictures(folder)
    win = window(app, folder, "vgg_small.json")
    win.views.look_at(checkpoint)
    for name in ("summary", "curves", "run-log"):
        win.findChild(QDockWidget, f"dock-{name}").hide()
    for view_dock in win.views.view_docks:
        view_dock.hide()
    dock = win.findChild(QDockWidget, "dock-style")
    dock.show()
    dock.raise_()
    panel = win.parts["style"].panel
    panel.fields["content"].setText("conv3_1")
    panel.pick_buttons["style"].setChecked(True)
    panel.fields["style"].setText("")
    for node in ("conv1_1", "conv2_1", "conv3_1"):  # picked by clicking the cards, as a user does
        win.scene.clearSelection()
        win.select_node(node)
    panel.pick_buttons["style"].setChecked(False)
    win.view.fitInView(win.scene.itemsBoundingRect(), Qt.AspectRatioMode.KeepAspectRatio)
    panel.open_image("content", content)
    panel.open_image("style", style)
    panel.steps.setValue(3000)
    panel.size.setValue(160)
    panel.style_weight.setValue(1000)

    def grab() -> None:
        capture("images-style-transfer.png")
        panel.runner.stop()
        QTimer.singleShot(1500, finish)

    def finish() -> None:
        panel.shutdown()
        win.doc.undo_stack.setClean()
        win.close()
        app.quit()

    def progress(event: object) -> None:  # in progress: grabbed at step 80 of 3000
        if type(event).__name__ == "SynthesisProgress" and event.step == 80:
            QTimer.singleShot(300, grab)

    panel.runner.event.connect(progress)
    QTimer.singleShot(800, panel.start)
    app.exec()


def filters_shot(app: QApplication, folder: Path) -> None:
    checkpoint = trained("figure21.json", folder / "f21", {"data": f"idx:{MNIST}", "epochs": 2, "schedule": "none"})
    win = window(app, folder, "figure21.json", f"idx:{MNIST}")
    for name in ("summary", "curves", "run-log", "training", "runs"):
        win.findChild(QDockWidget, f"dock-{name}").hide()
    views = win.views.build()
    for dock in views.view_docks:
        dock.setVisible(dock is views.docks[views.filters])
    target = views.docks[views.filters]
    win.removeDockWidget(target)
    win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, target)
    target.show()
    target.setMinimumHeight(470)
    win.select_node("conv2")
    views.look_at(checkpoint)

    def look() -> None:
        views.filters.set_layer("conv2")
        views.look_for.runner.running_changed.connect(lambda running: running or QTimer.singleShot(1200, grab))
        views.look_for.start("conv2")

    def grab() -> None:
        capture("view-filters-look-for.png")
        views.filters.export_png(folder / "filters.png")
        win.doc.undo_stack.setClean()
        win.close()
        app.quit()

    QTimer.singleShot(2500, look)
    app.exec()


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    chosen = sys.argv[1:]
    with tempfile.TemporaryDirectory() as tmp:
        if not chosen or "style" in chosen:
            style_shot(app, Path(tmp))
        if not chosen or "filters" in chosen:
            filters_shot(app, Path(tmp))


if __name__ == "__main__":
    main()
