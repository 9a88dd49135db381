"""Screenshots of every workspace, from a real window on an X display (Xvfb works).

    Xvfb :99 -screen 0 1280x800x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_workspace_screenshots.py

The studio is opened through the scripting entry (``cnnstudio.gui.open``) with fresh settings, so
the first window fits the display; Figure 21 is trained for one epoch on the MNIST digits (its
events played into the studio as its runner delivers them: curves, log, progress, views and the
card thumbnails) and recorded as a run beside a temporary copy of the design, whose best
weights the studio then loads (the Runs table lists the run, the status bar names it); then each
workspace is shown at its default layout and the whole screen is saved as
``workspace-NAME-WxH.png``. Run it once per screen size (1280x800 and 1440x900).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

import cnnstudio.gui
from cnnstudio.core.designfile import to_dict
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui.app import Studio
from cnnstudio.gui.settings import Settings
from cnnstudio.gui.state import Weights
from cnnstudio.gui.workspaces import WORKSPACES
from cnnstudio.runs.folders import run_folder
from cnnstudio.runs.recorder import run_listeners
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings

OUT = Path(__file__).resolve().parent
sys.path[:0] = [str(OUT), str(OUT.parents[1])]
from make_view_screenshots import DIGITS  # noqa: E402

from bench.gallery_screenshots import shrink  # noqa: E402


def trained(studio: Studio) -> None:
    """One epoch of Figure 21 on the digits, with every view's capture, played into the studio,
    recorded as a run in the design's runs folder, whose best weights the studio loads."""
    window = studio.window
    views = window.views.build()
    window.training.curves.build()
    design = studio.state.design
    settings = parse_settings(design.training, {"device": "cpu", **DIGITS, "epochs": 1})
    played: list[Any] = []
    folder = run_folder(window.training.dock.runs_directory(), settings.to_dict(), design=to_dict(design))
    trainer = Trainer(design, settings, out_dir=str(folder), callbacks=run_listeners(folder), on_event=played.append,
                      step_rate=None)
    window.live_canvas.act_thumbnails.setChecked(True)  # the cards' outputs, as they show while training
    views.running = True  # every view's needs, visible or not
    trainer.set_probe(replace(views.request(), every=20, sample=3, grad_norms=True))
    trainer.run()
    for event in played:
        if type(event).__name__ != "Finished":
            studio.state.runner.event.emit(event)
    views.running = False
    window.training.runs.set_directory(folder.parent)
    run = next(run for run in window.training.runs.runs if run.path == folder)
    best = str(run.weights("best"))
    window.training.load_weights(best, Weights.of_run(run, "best", best))
    views.probe.sample.setValue(3)
    conv = "conv2" if "conv2" in design else next(iter(design.graph))
    studio.state.select([conv])


def settle(seconds: float) -> None:
    """Let the window lay out and paint (queued redraws, the views' timers)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QApplication.processEvents()
        time.sleep(0.02)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        design = Path(tmp) / "figure21.json"  # a copy: its runs go beside it, in the temporary folder
        shutil.copy(TEMPLATES / "figure21.json", design)
        studio = cnnstudio.gui.open(design, settings=settings, recovery_dir=Path(tmp) / "r")
        app = QApplication.instance()
        screen = app.primaryScreen().geometry()
        settle(1.5)
        trained(studio)
        for workspace in WORKSPACES:
            studio.workspace = workspace.name
            studio.window.reset_layout()
            studio.window.views._draw()
            settle(1.2)
            studio.window.views._draw()
            settle(0.4)
            out = OUT / f"workspace-{workspace.name}-{screen.width()}x{screen.height()}.png"
            app.primaryScreen().grabWindow(0).save(str(out))
            shrink(out)
            print("wrote", out)
        studio.close()


if __name__ == "__main__":
    main()
