"""Screenshots of the studio on laptop screens, from a real window on an X display (Xvfb works).

    Xvfb :99 -screen 0 1440x900x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_layout_screenshots.py

The window is built as ``cnnstudio`` builds it (fresh settings, the first window fitted to the
screen), so each shot shows the default layout at the display's size; run it once per screen size
(1280x800 and 1440x900). Shots: Figure 21 just opened, the Predictions dock at its default size
after a short training on MNIST digits, a layer dragged over a connection (the connection lights
up), a connection refused because it would make a cycle (the reason beside the port), and the
First Steps page of Help.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QSettings, Qt, QTimer
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.app import name_application
from cnnstudio.gui.canvas.view import LAYER_MIME
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

OUT = Path(__file__).resolve().parent
sys.path[:0] = [str(OUT), str(OUT.parents[1])]
from bench.gallery_screenshots import shrink  # noqa: E402
from make_view_screenshots import DIGITS, Shot, train  # noqa: E402


def figure21(win: MainWindow) -> None:
    win.open_path(TEMPLATES_DIR / "figure21.json", ask=False)


def predictions(win: MainWindow) -> None:
    figure21(win)
    win.views.build()
    win.reset_layout()
    win.findChild(QDockWidget, "dock-predictions").raise_()
    win.views.probe.sample.setValue(3)
    train(win, Shot("", "figure21.json", "predictions", None, {**DIGITS, "epochs": 1}, sample=3))


def insert_on_edge(win: MainWindow) -> None:
    """A Dropout dragged from the palette, held over fc1 → relu4 (not dropped yet)."""
    figure21(win)
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"Dropout")
    point = win.view.mapFromScene(win.scene.edges[("fc1", "relu4")].path.pointAtPercent(0.5))
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    for event in (QDragEnterEvent(point, *args), QDragMoveEvent(point, *args)):
        QApplication.sendEvent(win.view.viewport(), event)
    win.statusBar().showMessage("Drop a layer on a connection to insert it there", 60_000)


def refused_cycle(win: MainWindow) -> None:
    """A connection dragged from pool's output back to concat's input, held there."""
    win.open_path(TEMPLATES_DIR / "inception.json", ask=False)
    win.view.set_zoom(0.75)
    win.view.centerOn(win.scene.nodes["concat"])
    viewport = win.view.viewport()
    start = win.view.mapFromScene(win.scene.nodes["pool"].output_port.scenePos())
    end = win.view.mapFromScene(win.scene.nodes["concat"].input_port.scenePos())
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for i in range(1, 9):
        QTest.mouseMove(viewport, start + (end - start) * (i / 8))
    win.statusBar().showMessage(win.scene.hint.text, 60_000)


def help_page(win: MainWindow) -> None:
    figure21(win)
    viewer = win.show_help("First steps")
    geometry = win.geometry()
    viewer.setGeometry(geometry.adjusted(geometry.width() // 8, geometry.height() // 10,
                                         -geometry.width() // 8, -geometry.height() // 10))


SHOTS: dict[str, Callable[[MainWindow], None]] = {
    "figure21": figure21,
    "predictions": predictions,
    "insert-on-edge": insert_on_edge,
    "refused-cycle": refused_cycle,
    "help": help_page,
}


def shoot(app: QApplication, name: str, prepare: Callable[[MainWindow], None]) -> Path:
    screen = app.primaryScreen().geometry()
    out = OUT / f"layout-{name}-{screen.width()}x{screen.height()}.png"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery")
        win.show()

        def prepared() -> None:
            prepare(win)
            QTimer.singleShot(900, grab)

        def grab() -> None:
            if win.device_label.text().endswith("…"):
                QTimer.singleShot(200, grab)  # the device probe imports torch in the background
                return
            app.primaryScreen().grabWindow(0).save(str(out))  # the whole screen: the window fits it
            win.doc.undo_stack.setClean()
            for widget in app.topLevelWidgets():
                if widget is not win:
                    widget.close()
            win.close()
            app.quit()

        QTimer.singleShot(700, prepared)
        app.exec()
    shrink(out)
    return out


def main() -> None:
    app = QApplication(sys.argv[:1])
    name_application(app)
    theme.apply(app)
    chosen = sys.argv[1:] or list(SHOTS)
    for name in chosen:
        print("wrote", shoot(app, name, SHOTS[name]))


if __name__ == "__main__":
    main()
