"""The window on a laptop screen: the first window fits the screen, the canvas gets the room,
every dock is readable at its default size, Figure 21 fits at >= 80%, Reset Layout, and a
layout saved per screen size."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QMargins, QRect, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QDockWidget

from cnnstudio.gui import window_layout
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.window_layout import first_geometry
from cnnstudio.gui.workspaces import BY_NAME, docks
from gui_fixtures import FIGURE21, answers, recovery_dir, settings, window  # noqa: F401

RIGHT = BY_NAME["design"].columns[1]  # the design workspace's right column
RIGHT_WIDTH = int(RIGHT.size)

SCREENS = [(1280, 800), (1440, 900), (1920, 1080)]
PANEL = 28  # a desktop's top bar, outside the available geometry


@pytest.mark.parametrize("size", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("frame", [None, QMargins(0, 0, 0, 0), QMargins(4, 30, 4, 4)], ids=["unknown", "none", "decorated"])
def test_the_first_window_with_its_frame_fits_the_available_screen(size, frame) -> None:  # noqa: ANN001
    available = QRect(0, PANEL, size[0], size[1] - PANEL)
    geometry = first_geometry(available, frame)
    with_frame = geometry.marginsAdded(frame if frame is not None else QMargins(0, window_layout.TITLE_BAR, 0, 0))
    assert available.contains(with_frame)
    assert geometry.width() >= min(size[0], 1600) - 8  # and uses the screen, up to 1600x1000
    if size == (1920, 1080):
        assert geometry.size().width() == 1600 and geometry.center().x() == available.center().x()


def test_a_fresh_window_is_on_screen_with_its_status_bar(qtbot, settings, recovery_dir) -> None:  # noqa: ANN001, F811
    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    qtbot.wait(20)
    available = win.screen().availableGeometry()
    assert available.contains(win.frameGeometry())
    bar = win.statusBar()
    assert bar.isVisible() and available.contains(QRect(bar.mapToGlobal(bar.rect().topLeft()), bar.size()))
    win.close()


def at_laptop_size(win: MainWindow, size: tuple[int, int] = (1440, 900)) -> MainWindow:
    win.resize(*size)
    win.reset_layout()
    qtbot_wait(win)
    return win


def qtbot_wait(win: MainWindow) -> None:
    from PySide6.QtWidgets import QApplication

    for _ in range(5):
        QApplication.processEvents()


def test_the_canvas_gets_60_percent_at_1440x900(window: MainWindow) -> None:  # noqa: F811
    win = at_laptop_size(window)
    canvas = win.view.width() * win.view.height()
    assert canvas / (win.width() * win.height()) >= 0.6


@pytest.mark.parametrize("size", SCREENS[:2], ids=lambda s: f"{s[0]}x{s[1]}")
def test_figure21_opens_and_auto_lays_out_at_80_percent_or_more(window: MainWindow, size) -> None:  # noqa: ANN001, F811
    """The canvas the docks leave is almost square (780x735 at 1280x800): Figure 21 and the
    auto-layout fold its chain into rows of four, not a wide band of five rows fitted by width."""
    win = at_laptop_size(window, size)
    win.open_path(FIGURE21, ask=False)
    assert win.view.zoom >= 0.8
    win.editor.auto_layout()
    assert win.view.zoom >= 0.8


def test_every_dock_is_at_least_its_minimum_and_tabs_keep_whole_titles(window: MainWindow) -> None:  # noqa: F811
    win = at_laptop_size(window)
    win.views.build()
    win.training.curves.build()
    win.reset_layout()
    qtbot_wait(win)
    found = docks(win)
    for name in [n for group in RIGHT.groups for n in group if n in found]:
        dock = found[name]
        assert win.dockWidgetArea(dock) == Qt.DockWidgetArea.RightDockWidgetArea
        assert dock.minimumSizeHint().width() <= RIGHT_WIDTH, name
    assert win.findChild(QDockWidget, "dock-inspector").width() <= RIGHT_WIDTH + 8


def test_palette_names_are_whole(window: MainWindow) -> None:  # noqa: F811
    win = at_laptop_size(window)
    tree = win.palette.tree
    metrics = tree.fontMetrics()
    for i in range(tree.topLevelItemCount()):
        group = tree.topLevelItem(i)
        for j in range(group.childCount()):
            item = group.child(j)
            rect = tree.visualItemRect(item)
            needed = metrics.horizontalAdvance(item.text(0)) + tree.iconSize().width()
            assert rect.width() >= needed, item.text(0)
            assert rect.right() <= tree.viewport().width()


def test_reset_layout_puts_moved_docks_back(window: MainWindow) -> None:  # noqa: F811
    win = at_laptop_size(window)
    summary = win.findChild(QDockWidget, "dock-summary")
    win.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, summary)
    win.findChild(QDockWidget, "dock-palette").hide()
    win.act_reset_layout.trigger()
    assert win.dockWidgetArea(summary) == Qt.DockWidgetArea.RightDockWidgetArea
    assert win.findChild(QDockWidget, "dock-palette").isVisible()
    assert "Reset Workspace" in [a.text().replace("&", "") for a in win.menuBar().actions()[2].menu().actions()]


def test_the_layout_is_saved_per_screen_size(qtbot, settings, recovery_dir) -> None:  # noqa: ANN001, F811
    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    win.show()
    key = window_layout.screen_key(win.screen().availableGeometry())
    win.findChild(QDockWidget, "dock-palette").hide()
    win.close()
    assert settings.window_state(key)[1] is not None
    assert settings.window_state("99x99") == (None, None)
    again = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(again)
    again.show()
    assert not again.findChild(QDockWidget, "dock-palette").isVisible()
    again.close()


def test_predictions_labels_never_overlap_at_the_default_size(window, qtbot) -> None:  # noqa: ANN001, F811
    from test_gui_views import run, shown
    from training_helpers import classifier

    design = classifier()
    played = run(design)
    win = at_laptop_size(window)
    views = shown(win, design, played, qtbot)
    win.workspace = "inspect"
    win.reset_layout()  # where the inspect workspace has it, at its default size
    dock = win.findChild(QDockWidget, "dock-predictions")
    dock.raise_()
    qtbot.waitUntil(lambda: dock.widget().isVisible())
    view = views.predictions
    qtbot.waitUntil(lambda: view.probabilities is not None)
    for _ in range(5):
        qtbot.wait(20)
    for texts in (view.bar_text, view.matrix_text):
        shown_rects = [t.mapRectToScene(t.boundingRect()) for t in texts if t.isVisible()]
        for a, b in itertools.combinations(shown_rects, 2):
            assert not a.intersects(b)
    assert any(t.isVisible() for t in view.bar_text)  # thinned, not all gone
    metrics = QFontMetrics(view.font())
    for plot, _ in view.pictures:  # titles elided to their picture, whole in the tooltip
        if plot.isVisible():
            assert metrics.horizontalAdvance(plot.getPlotItem().titleLabel.text) <= plot.width()
            assert plot.toolTip() == plot.property("full_title")
