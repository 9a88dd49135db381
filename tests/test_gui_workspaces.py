"""Workspaces through the scripting entry: at 1280x800 each workspace gives its task the room (the
largest view at least 30% of the window in train and inspect, no visible plot under 280x180, dock
tabs and titles whole); Reset Workspace restores a moved dock; a double-click on a dock's tab
maximises it and a second one restores; each workspace's layout is kept when switching."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDockWidget, QTabBar

import cnnstudio.gui
from cnnstudio.core.design import Design
from cnnstudio.gui.views.hub import dock_of
from cnnstudio.gui.workspaces import BY_NAME, WORKSPACES, docks
from gui_fixtures import answers, recovery_dir, settings  # noqa: F401
from test_gui_views import run
from training_helpers import classifier

SIZE = (1280, 800)
MIN_PLOT = (280, 180)


@pytest.fixture(scope="module")
def played() -> tuple[Design, list]:
    """A tiny run's events, every view's capture on (played into the studio as its runner would)."""
    design = classifier()
    return design, run(design)


@pytest.fixture
def studio(qtbot, settings, recovery_dir, answers, played):  # noqa: ANN001, ANN201, F811
    design, events = played
    studio = cnnstudio.gui.open(design.copy(), settings=settings, recovery_dir=recovery_dir)
    qtbot.addWidget(studio.window)
    studio.window.resize(*SIZE)
    qtbot.waitExposed(studio.window)
    views = studio.window.views.build()
    studio.window.training.curves.build()
    for event in events:
        studio.state.runner.event.emit(event)
    qtbot.waitUntil(lambda: views.shown is not None)
    yield studio
    studio.close()


def settle() -> None:
    for _ in range(6):
        QApplication.processEvents()


def shown_docks(window) -> list[QDockWidget]:  # noqa: ANN001
    return [d for d in docks(window).values() if d.isVisible() and not d.visibleRegion().isEmpty()]


def visible_plots(window) -> list[pg.GraphicsView]:  # noqa: ANN001
    """The plots shown in a dock on show (a dock behind another's tab is visible, out of sight)."""
    shown = shown_docks(window)
    return [p for p in window.findChildren(pg.GraphicsView) if p.isVisible() and dock_of(p) in shown]


@pytest.mark.parametrize("name", [w.name for w in WORKSPACES])
def test_each_workspace_at_1280x800_gives_its_task_the_room(studio, name: str) -> None:  # noqa: ANN001
    window = studio.window
    studio.workspace = name
    window.reset_layout()
    settle()
    window.views._draw()  # the views on show draw the snapshot now, not after their timer
    settle()
    assert window.size().toTuple() == SIZE
    shown = {d.objectName().removeprefix("dock-"): d for d in shown_docks(window)}
    assert set(shown) >= {n for n in (g[0] for c in BY_NAME[name].columns for g in c.groups) if n in docks(window)}
    area = SIZE[0] * SIZE[1]
    largest = max(shown.values(), key=lambda d: d.width() * d.height())
    if name in ("train", "inspect"):
        assert largest.width() * largest.height() >= 0.3 * area, (largest.objectName(), largest.size())
        for tab in BY_NAME[name].names():  # each dock of the workspace brought to the front of its tabs
            docks(window)[tab].raise_()
            settle()
            window.views._draw()
            settle()
            plots = visible_plots(window)
            assert plots
            for plot in plots:
                assert plot.width() >= MIN_PLOT[0] and plot.height() >= MIN_PLOT[1], (dock_of(plot).objectName(), plot.size())
    if name == "design":
        assert window.view.width() * window.view.height() >= 0.45 * area  # the canvas gets the room
    for dock in shown.values():  # a dock title drawn whole
        assert dock.width() >= dock.fontMetrics().horizontalAdvance(dock.windowTitle()) + 8, dock.windowTitle()
    assert_whole_tabs(window)


def assert_whole_tabs(window) -> None:  # noqa: ANN001
    for tabs in window.findChildren(QTabBar):
        if tabs.isVisible():
            assert tabs.elideMode() == Qt.TextElideMode.ElideNone or tabs.objectName() == "workspaces"
            for i in range(tabs.count()):  # no "S…": every tab's text fits its tab
                assert tabs.tabRect(i).width() >= tabs.fontMetrics().horizontalAdvance(tabs.tabText(i)), tabs.tabText(i)


def test_dock_tabs_stay_whole_in_a_layout_restored_from_the_settings(studio) -> None:  # noqa: ANN001
    """A workspace met again comes back from its saved state, whose dock tab bars Qt makes anew."""
    names = [w.name for w in WORKSPACES]
    for name in names[1:] + names:
        studio.workspace = name
        settle()
        assert_whole_tabs(studio.window)


def test_the_train_and_inspect_workspaces_show_their_views(studio) -> None:  # noqa: ANN001
    window = studio.window
    studio.workspace = "train"
    settle()
    names = {d.objectName().removeprefix("dock-") for d in shown_docks(window)}
    assert {"curves", "training", "runs"} <= names and "palette" not in names
    studio.workspace = "inspect"
    settle()
    names = {d.objectName().removeprefix("dock-") for d in shown_docks(window)}
    assert {"activations", "filters", "probe"} <= names
    assert docks(window)["predictions"] in window.tabifiedDockWidgets(docks(window)["activations"])
    with pytest.raises(ValueError, match="no workspace 'nope'"):
        studio.workspace = "nope"


def test_a_rearranged_workspace_is_kept_and_reset_restores_it(studio) -> None:  # noqa: ANN001
    window = studio.window
    studio.workspace = "train"
    settle()
    curves = docks(window)["curves"]
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, curves)
    settle()
    studio.workspace = "inspect"
    settle()
    assert not curves.isVisible()
    studio.workspace = "train"
    settle()
    assert window.dockWidgetArea(curves) == Qt.DockWidgetArea.LeftDockWidgetArea  # as the user left it
    reset = next(a for a in window.menuBar().actions()[2].menu().actions()
                                if a.text().replace("&", "") == "Reset Workspace")
    reset.trigger()
    settle()
    assert window.dockWidgetArea(curves) == Qt.DockWidgetArea.BottomDockWidgetArea


def test_double_click_on_a_dock_tab_maximises_it_and_again_restores(studio, qtbot) -> None:  # noqa: ANN001
    window = studio.window
    studio.workspace = "inspect"
    settle()
    qtbot.wait(20)  # the tab bars are watched once the layout has settled
    predictions = docks(window)["predictions"]
    tabs = next(t for t in window.findChildren(QTabBar)
                if t.isVisible() and "Predictions" in [t.tabText(i) for i in range(t.count())])
    index = [tabs.tabText(i) for i in range(tabs.count())].index("Predictions")
    predictions.raise_()
    settle()
    before, canvas = predictions.size(), window.view.size()
    QTest.mouseDClick(tabs, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, tabs.tabRect(index).center())
    settle()
    assert [d for d in shown_docks(window)] == [predictions]
    assert predictions.height() > before.height() and predictions.width() >= before.width()
    assert docks(window)["activations"].isHidden()
    studio.window.workspaces.toggle_maximised(predictions)  # the second double-click
    settle()
    assert docks(window)["filters"].isVisible() and docks(window)["probe"].isVisible()
    assert predictions.size() == before and window.view.size() == canvas


@pytest.mark.parametrize("name", ["train", "inspect", "experiments"])
def test_the_canvas_strip_maps_the_whole_design_and_design_gets_its_view_back(studio, qtbot, name: str) -> None:  # noqa: ANN001
    """Outside the design workspace the canvas is a strip: it shows every card (not the tops of a
    row, or empty grid); back in design, the zoom and centre the user left there."""
    window = studio.window
    view = window.view
    view.set_zoom(1.5)
    view.centerOn(window.scene.nodes_rect().topLeft())
    settle()
    left = (view.zoom, view.mapToScene(view.viewport().rect().center()))
    studio.workspace = name
    cards = window.scene.nodes_rect()

    def mapped() -> bool:
        shown = view.mapToScene(view.viewport().rect()).boundingRect()
        return shown.contains(cards)

    qtbot.waitUntil(mapped, timeout=5000)
    studio.workspace = "design"
    settle()
    back = view.mapToScene(view.viewport().rect().center())
    assert view.zoom == pytest.approx(left[0])
    assert abs(back.x() - left[1].x()) < 40 and abs(back.y() - left[1].y()) < 40
