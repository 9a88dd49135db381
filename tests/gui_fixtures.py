"""Fixtures for the studio's GUI tests: an offscreen Qt, throwaway settings and recovery folders.

Import the fixtures into a test module (``from gui_fixtures import window, ...``). Nothing here
touches the user's real settings or autosave folder.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from collections.abc import Iterator  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from PySide6.QtCore import QMimeData, QPoint, QPointF, QSettings, QStandardPaths, Qt  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent, QDropEvent  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication, QMessageBox  # noqa: E402

from cnnstudio.core.designfile import dumps  # noqa: E402
from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR  # noqa: E402
from cnnstudio.gui.canvas.view import LAYER_MIME  # noqa: E402
from cnnstudio.gui.main_window import MainWindow  # noqa: E402
from cnnstudio.gui.settings import Settings  # noqa: E402

FIGURE21 = TEMPLATES_DIR / "figure21.json"

QStandardPaths.setTestModeEnabled(True)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))


@pytest.fixture
def recovery_dir(tmp_path: Path) -> Path:
    return tmp_path / "recovery"


@dataclass
class Answers:
    """Message boxes answered without showing them: ``queue`` the buttons to press, in turn;
    ``shown`` the texts that were asked or warned about."""

    queue: list[QMessageBox.StandardButton] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)


@pytest.fixture
def answers(monkeypatch: pytest.MonkeyPatch) -> Answers:
    recorded = Answers()

    def question(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202 - QMessageBox's signature
        recorded.shown.append(text)
        return recorded.queue.pop(0) if recorded.queue else QMessageBox.StandardButton.Cancel

    def warning(parent, title, text, *args, **kwargs):  # noqa: ANN001, ANN202
        recorded.shown.append(text)
        return QMessageBox.StandardButton.Ok

    monkeypatch.setattr(QMessageBox, "question", question)
    monkeypatch.setattr(QMessageBox, "warning", warning)
    return recorded


@pytest.fixture
def window(qtbot, settings: Settings, recovery_dir: Path, answers) -> Iterator[MainWindow]:  # noqa: ANN001
    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    win.resize(1400, 900)
    win.show()
    qtbot.waitExposed(win)
    yield win
    win.doc.undo_stack.setClean()  # closing must not ask
    win.close()


@pytest.fixture
def figure21(window: MainWindow) -> MainWindow:
    assert window.open_path(FIGURE21, ask=False)
    return window


def snapshot(win: MainWindow) -> str:
    """The design as its file text: equal snapshots mean equal designs (ids, params, edges, order)."""
    return dumps(win.doc.design)


def view_point(win: MainWindow, scene_pos: QPointF) -> QPoint:
    return win.view.mapFromScene(scene_pos)


def drag(win: MainWindow, start: QPointF, end: QPointF) -> None:
    """Press at ``start`` and release at ``end`` (scene coordinates) with the left button."""
    hover_drag(win, start, end)
    release(win, end)


def hover_drag(win: MainWindow, start: QPointF, end: QPointF) -> None:
    """Press at ``start`` and move to ``end`` without releasing (scene coordinates)."""
    viewport = win.view.viewport()
    a, b = view_point(win, start), view_point(win, end)
    QTest.mousePress(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    for i in range(1, 6):
        QTest.mouseMove(viewport, a + (b - a) * (i / 5))


def release(win: MainWindow, at: QPointF) -> None:
    QTest.mouseRelease(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point(win, at))


def drop_layer(win: MainWindow, type_name: str, scene_pos: QPointF) -> None:
    """What a drag from the palette delivers to the canvas: enter, move, drop."""
    mime = QMimeData()
    mime.setData(LAYER_MIME, type_name.encode())
    point = view_point(win, scene_pos)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    for event in (QDragEnterEvent(point, *args), QDragMoveEvent(point, *args), QDropEvent(QPointF(point), *args)):
        QApplication.sendEvent(win.view.viewport(), event)
        assert event.isAccepted()
