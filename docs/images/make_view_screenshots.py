"""Screenshots of the views inside the network, from a real window on an X display (Xvfb works).

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_view_screenshots.py

Each shot opens a template in the studio, trains it briefly (Figure 21 on the real MNIST digits of
../shared/data/mnist, the others on generated shapes) with the views' own capture request, plays
the run's events into the views, and grabs one view's dock as the window draws it.
"""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer
from PySide6.QtWidgets import QApplication

from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings
from cnnstudio.gui.views.hub import dock_of
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings

OUT = Path(__file__).resolve().parent
MNIST = OUT.parents[2] / "shared" / "data" / "mnist"
SIZE = (1600, 1000)


@dataclass(frozen=True)
class Shot:
    file: str
    template: str
    view: str  # the Views attribute shown
    select: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    sample: int = 0
    height: int = 520
    every: int = 20  # steps between snapshots


DIGITS = {"data": f"idx:{MNIST}", "epochs": 2, "schedule": "none"}
SHOTS = [
    Shot("view-activations.png", "figure21.json", "activations", "conv2", DIGITS, sample=3),
    Shot("view-filters.png", "figure21.json", "filters", "conv2", DIGITS, height=560),
    Shot("view-predictions.png", "figure21.json", "predictions", None, DIGITS, sample=3, height=600),
    Shot("view-gradients.png", "resnet_small.json", "gradients", None, {"epochs": 3}, every=4),
    Shot("view-embeddings.png", "triplet.json", "embeddings", None, {"epochs": 4}, height=600),
    Shot("view-segmentation.png", "unet_small.json", "predictions", None, {"epochs": 4}, sample=1, height=420),
    Shot("view-detection.png", "yolo_grid.json", "predictions", None, {"epochs": 6}, sample=2, height=420),
    Shot("view-autoencoder.png", "ae_denoising.json", "predictions", None, {"epochs": 4}, sample=2, height=400),
    Shot("view-probe.png", "figure21.json", "probe", None, DIGITS, sample=3),
]


def train(win: MainWindow, shot: Shot) -> None:
    """Train the design briefly with the views' request and play every event into the views."""
    views = win.views
    design = win.doc.design
    settings = parse_settings(design.training, {"device": "cpu", **shot.training})
    played: list[Any] = []
    trainer = Trainer(design, settings, on_event=played.append, step_rate=None)
    request = views.request()
    trainer.set_probe(replace(request, every=shot.every, sample=shot.sample, grad_norms=True))
    trainer.run()
    views.running = True
    for event in played:
        if type(event).__name__ != "Finished":
            views.on_event(event)
    views.running = False


def arrange(win: MainWindow, shot: Shot) -> Any:
    """Only the shot's view open, large, under the canvas; returns its dock."""
    views = win.views.build()
    if shot.view == "probe":
        target = views.probe_dock
    else:
        target = dock_of(getattr(views, shot.view))
    for dock in views.view_docks:  # the probe's shot keeps Activations open: some view must ask for captures
        dock.setVisible(dock is target or (shot.view == "probe" and dock is views.view_docks[0]))
    if target is not views.probe_dock:
        win.removeDockWidget(target)
        win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, target)
        target.show()
        target.setMinimumHeight(shot.height)
    views.probe.sample.setValue(shot.sample)
    return target


def shoot(app: QApplication, shot: Shot) -> None:
    theme.apply(app, dark=False)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery", probe_device=False)
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.show_design(load_design(TEMPLATES_DIR / shot.template), None)
        for name in ("summary", "curves", "run-log"):
            dock = win.findChild(type(win.views.probe_dock), f"dock-{name}")
            if dock is not None:
                dock.hide()
        target = arrange(win, shot)
        if shot.select:
            win.select_node(shot.select)

        def run() -> None:
            train(win, shot)
            QTimer.singleShot(900, grab)

        def grab() -> None:
            target.grab().save(str(OUT / shot.file))
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        QTimer.singleShot(600, run)
        app.exec()


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    chosen = sys.argv[1:]
    for shot in SHOTS:
        if not chosen or shot.file in chosen:
            shoot(app, shot)
            print("wrote", OUT / shot.file)


if __name__ == "__main__":
    main()
