"""Screenshots of the studio for the docs, from a real window on an X display (Xvfb works).

    Xvfb :99 -screen 0 1600x1000x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_screenshots.py

Each shot builds the window as ``cnnstudio`` does (fresh settings, nothing restored), opens a
template, selects a layer, waits for the device probe, and grabs the window from the screen.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QPointF, QSettings, QTimer
from PySide6.QtWidgets import QApplication

from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

OUT = Path(__file__).resolve().parent
SIZE = (1600, 1000)


def figure21_error(win: MainWindow) -> None:
    win.editor.set_param("conv3", "kernel_size", 11)


def fit(win: MainWindow) -> None:
    win.view.fit()


def inception_close_up(win: MainWindow) -> None:
    """The block itself at a readable zoom (the head continues off to the right)."""
    win.view.set_zoom(0.8)
    win.view.centerOn(QPointF(820, 110))


@dataclass(frozen=True)
class Shot:
    file: str
    template: str
    select: str
    dark: bool = False
    edit: Callable[[MainWindow], None] | None = None
    frame: Callable[[MainWindow], None] = fit


SHOTS = [
    Shot("studio-figure21.png", "figure21.json", "conv2"),
    Shot("studio-branching.png", "inception.json", "concat", frame=inception_close_up),
    Shot("studio-error.png", "figure21.json", "conv3", edit=figure21_error),
    Shot("studio-residual-dark.png", "residual.json", "block", dark=True),
]


def shoot(app: QApplication, shot: Shot) -> None:
    theme.apply(app, dark=shot.dark)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery")
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(TEMPLATES_DIR / shot.template, ask=False)
        if shot.edit is not None:
            shot.edit(win)
        win.select_node(shot.select)
        shot.frame(win)

        def grab() -> None:
            if win.device_label.text().endswith("…"):
                QTimer.singleShot(200, grab)  # the device probe imports torch in the background
                return
            app.primaryScreen().grabWindow(win.winId()).save(str(OUT / shot.file))
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        QTimer.singleShot(800, grab)
        app.exec()


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    for shot in SHOTS:
        shoot(app, shot)
        print("wrote", OUT / shot.file)


if __name__ == "__main__":
    main()
