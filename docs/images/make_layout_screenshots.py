"""Screenshots of the studio on laptop screens, from a real window on an X display (Xvfb works).

    Xvfb :99 -screen 0 1440x900x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_layout_screenshots.py

The window is built as ``cnnstudio`` builds it (fresh settings, the first window fitted to the
screen), so each shot shows the default layout at the display's size; run it once per screen size
(1280x800 and 1440x900). Shots: Figure 21 just opened, the Predictions dock at its default size
after a short training on MNIST digits, a layer dragged over a connection (the connection lights
up), a connection refused because it would make a cycle (the reason beside the port), a
connection held over a taken input (the note says the drop replaces its connection), one held over
a closed group's card (the note names the free input inside), the menu a drop on a card with two
free inputs opens, and the First Steps page of Help.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QMimeData, QPointF, QSettings, Qt, QTimer
from PySide6.QtGui import QCursor, QDragEnterEvent, QDragMoveEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.app import name_application
from cnnstudio.gui.canvas.view import LAYER_MIME
from cnnstudio.gui.commands import Delete
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

OUT = Path(__file__).resolve().parent
sys.path[:0] = [str(OUT), str(OUT.parents[1])]
from make_view_screenshots import DIGITS, Shot, train  # noqa: E402

from bench.gallery_screenshots import shrink  # noqa: E402


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


def hold_connection(win: MainWindow, start: QPointF, end: QPointF) -> None:
    """Press on ``start`` and move to ``end`` (scene coordinates), holding the button there."""
    viewport = win.view.viewport()
    a, b = win.view.mapFromScene(start), win.view.mapFromScene(end)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, 9):
        QTest.mouseMove(viewport, a + (b - a) * (i / 8))


def refused_cycle(win: MainWindow) -> None:
    """A connection dragged from pool's output back to concat's input, held there."""
    win.open_path(TEMPLATES_DIR / "inception.json", ask=False)
    win.view.set_zoom(0.75)
    win.view.centerOn(win.scene.nodes["concat"])
    hold_connection(win, win.scene.nodes["pool"].output_port.scenePos(), win.scene.nodes["concat"].input_port.scenePos())
    win.statusBar().showMessage(win.scene.hint.text, 60_000)


def replace(win: MainWindow) -> None:
    """A connection dragged from x's output to conv2's taken input, held there."""
    figure21(win)
    hold_connection(win, win.scene.nodes["x"].output_port.scenePos(), win.scene.nodes["conv2"].input_port.scenePos())


def closed_stage(win: MainWindow, deleted: list[tuple[str, str]]) -> QPointF:
    """Figure 21's first four layers in a closed group "Stage 1", laid out again, with the
    ``deleted`` connections gone; returns the middle of its card."""
    figure21(win)
    win.scene.select_nodes(["conv1", "relu1", "conv2", "relu2"])
    win.editor.groups.group_selection()
    (group_id,) = win.doc.design.groups
    win.editor.groups.rename_group(group_id, "Stage 1")
    win.editor.groups.set_collapsed(group_id, True)
    win.editor.auto_layout()
    win.doc.push(Delete(win.doc, [], deleted, "Delete"))
    card = win.scene.groups[group_id]
    return card.mapToScene(card.boundingRect().center())


def group_connect(win: MainWindow) -> None:
    """x's output dragged onto the card of a closed stage whose input was deleted."""
    middle = closed_stage(win, [("x", "conv1")])
    hold_connection(win, win.scene.nodes["x"].output_port.scenePos(), middle)


def group_choice(win: MainWindow) -> None:
    """x's output dropped on a closed stage with two free inputs: the menu to pick one."""
    middle = closed_stage(win, [("x", "conv1"), ("relu1", "conv2")])
    hold_connection(win, win.scene.nodes["x"].output_port.scenePos(), middle)
    point = win.view.mapFromScene(middle)
    QCursor.setPos(win.view.viewport().mapToGlobal(point))  # the menu opens at the mouse
    QTest.mouseRelease(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)


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
    "replace": replace,
    "group-connect": group_connect,
    "group-choice": group_choice,
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
