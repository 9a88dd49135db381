"""Workspaces: a dock layout per task, chosen from a row of tabs under the menu.

Each :class:`Workspace` says, as data, which docks it shows, in which area, in which tab groups, and
how much of the window each column or row takes: ``design`` gives the canvas the room (the palette
left; the inspector, settings and probe, then the summary, curves and runs, as tabs right); ``train``
the curves, the settings and progress, and the runs, with a small canvas; ``inspect`` the
activations, filters, predictions and embeddings; ``data`` the settings form (the data source) and
the probe; ``experiments`` the runs and curves (and the docks others register for it: sweeps).
The user's own arrangement of each workspace is kept per screen size (QMainWindow.saveState in
QSettings); View › Reset Workspace puts the workspace's default back. A double-click on a dock's tab
maximises that dock, and a second one restores the workspace as it was.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar

from cnnstudio.gui.settings import Settings

AREAS = {"left": Qt.DockWidgetArea.LeftDockWidgetArea, "right": Qt.DockWidgetArea.RightDockWidgetArea,
         "bottom": Qt.DockWidgetArea.BottomDockWidgetArea, "top": Qt.DockWidgetArea.TopDockWidgetArea}


@dataclass(frozen=True)
class Column:
    """Docks in one area: ``groups`` of tabs, one after another along the area (one under the other
    on the left and right, side by side at the bottom and top); ``size``: the area's share of the
    window's width (left, right) or height (bottom, top), or pixels when above 1; ``splits``: each
    group's share along the area."""

    area: str
    groups: tuple[tuple[str, ...], ...]
    size: float
    splits: tuple[float, ...] = ()


@dataclass(frozen=True)
class Workspace:
    name: str
    title: str
    tip: str
    columns: tuple[Column, ...]

    def names(self) -> list[str]:
        return [name for column in self.columns for group in column.groups for name in group]


VIEWS = ("activations", "filters", "predictions", "gradients", "embeddings")
WORKSPACES = (
    Workspace("design", "Design", "Edit the design: the canvas gets the room", (
        Column("left", (("palette",),), 0),  # 0: the palette's own width (every layer name whole)
        Column("right", (("inspector", "training", "probe"), ("summary", "curves", "run-log", "runs")), 285, (0.5, 0.5)),
    )),
    Workspace("train", "Train", "Watch a run: curves, progress and settings large, the canvas small", (
        Column("right", (("training",), ("runs", "run-log")), 0.36, (0.56, 0.44)),
        Column("bottom", (("curves",),), 0.68),
    )),
    Workspace("inspect", "Inspect", "Look inside: activations, filters, predictions and embeddings large", (
        Column("right", (("probe", "inspector"), ("filters",)), 0.3, (0.56, 0.44)),
        Column("bottom", (("activations", "predictions", "embeddings", "gradients"),), 0.76),
    )),
    Workspace("data", "Data", "The data source and its settings, the probe and the layers' shapes", (
        Column("right", (("training",), ("probe",)), 0.36, (0.6, 0.4)),
        Column("bottom", (("summary",),), 0.5),
    )),
    Workspace("experiments", "Experiments", "Compare runs and sweeps: the sweep, the runs table and their curves", (
        Column("right", (("sweep",),), 0.42),
        Column("bottom", (("runs",), ("curves",)), 0.6, (0.5, 0.5)),
    )),
)
BY_NAME = {w.name: w for w in WORKSPACES}


def docks(window: QMainWindow) -> dict[str, QDockWidget]:
    return {dock.objectName().removeprefix("dock-"): dock for dock in window.findChildren(QDockWidget)}


def arrange(window: QMainWindow, workspace: Workspace, extra: dict[str, str], palette_width: int) -> None:
    """Put the docks where ``workspace`` has them; the others are closed (View › Panels opens them).
    ``extra``: docks added by others (name -> workspace), placed in a tab group of their area."""

    found = docks(window)
    size = window.size()
    areas = {name: window.dockWidgetArea(dock) for name, dock in found.items()}
    for name, dock in found.items():  # out of their tab groups, placeholders too (a hidden dock's place
        dock.setFloating(False)        # would keep its old group's tab bar on show), then back, closed
        window.removeDockWidget(dock)
        window.addDockWidget(areas[name] if areas[name] != Qt.DockWidgetArea.NoDockWidgetArea else AREAS["right"], dock)
        dock.hide()
    placed: list[tuple[Column, list[QDockWidget]]] = []
    for column in workspace.columns:
        groups = [[found[n] for n in group if n in found] for group in column.groups]
        groups = [g for g in groups if g]
        if not groups:
            continue
        area = AREAS[column.area]
        orientation = Qt.Orientation.Vertical if column.area in ("left", "right") else Qt.Orientation.Horizontal
        window.addDockWidget(area, groups[0][0])
        for previous, group in pairwise(groups):
            window.splitDockWidget(previous[0], group[0], orientation)
        for group in groups:
            for dock in group[1:]:
                window.tabifyDockWidget(group[0], dock)
            for dock in group:
                dock.show()
            group[0].raise_()
        placed.append((column, [g[0] for g in groups]))
    for name, where in extra.items():
        if where == workspace.name and name in found and placed:
            window.tabifyDockWidget(placed[-1][1][-1], found[name])
            found[name].show()
    window.resize(size)
    for column, firsts in placed:
        vertical = column.area in ("left", "right")
        whole = size.width() if vertical else size.height()
        room = palette_width if column.size == 0 else int(column.size if column.size > 1 else column.size * whole)
        window.resizeDocks([firsts[0]], [room], Qt.Orientation.Horizontal if vertical else Qt.Orientation.Vertical)
        if len(firsts) > 1 and column.splits:
            along = size.height() if vertical else size.width()
            window.resizeDocks(firsts, [int(share * along) for share in column.splits],
                               Qt.Orientation.Vertical if vertical else Qt.Orientation.Horizontal)


def hide_stale_tab_bars(window: QMainWindow) -> None:
    """Qt leaves the tab bar of a dissolved tab group on show after docks move (a Qt 6 quirk): a bar
    is kept only where its tabs are the titles of docks on show and it sits right under them."""
    shown = [d for d in docks(window).values() if d.isVisible() and not d.isFloating()]
    for tabs in dock_tab_bars(window):
        if not tabs.isVisible():
            continue
        titles = {tabs.tabText(i).replace("&", "") for i in range(tabs.count())}
        group = [d for d in shown if d.windowTitle() in titles]
        bar = tabs.geometry()
        under = any(abs(d.geometry().bottom() - bar.top()) <= 8 and d.geometry().left() <= bar.left() + 8
                    and bar.left() < d.geometry().right() for d in group)
        if len(group) != len(titles) or not under:
            tabs.hide()


def whole_tab_titles(window: QMainWindow) -> None:
    """Dock tabs keep their whole titles and scroll, instead of eliding them to "S…"."""
    for tabs in dock_tab_bars(window):
        tabs.setElideMode(Qt.TextElideMode.ElideNone)
        tabs.setUsesScrollButtons(True)


def dock_tab_bars(window: QMainWindow) -> list[QTabBar]:
    """The tab bars of the window's tabbed docks, its own children: not the workspaces' row, nor the
    tabs of a tab widget inside a dock (the Sweep dock's plots, the run log's), which the checks
    above would take for stale dock tabs and hide."""
    return window.findChildren(QTabBar, options=Qt.FindChildOption.FindDirectChildrenOnly)


class Workspaces(QObject):
    """The row of workspace tabs and the layouts behind them. ``changed(name)`` after a switch."""

    changed = Signal(str)

    def __init__(self, window: QMainWindow, settings: Settings, screen_key: str, palette_width: int):
        super().__init__(window)
        self.window, self.settings, self.screen_key = window, settings, screen_key
        self.palette_width = palette_width
        self.extra: dict[str, str] = {}  # docks added with add_dock: name -> workspace
        self.current = str(settings.store.value("workspace/current", "design"))
        if self.current not in BY_NAME:
            self.current = "design"
        self.maximised: QByteArray | None = None
        self.tabs = QTabBar()
        self.tabs.setObjectName("workspaces")
        self.tabs.setDocumentMode(True)
        self.tabs.setExpanding(False)
        self.tabs.setDrawBase(False)
        for index, workspace in enumerate(WORKSPACES):
            self.tabs.addTab(workspace.name)
            self.tabs.setTabToolTip(index, workspace.tip)
        self.tabs.setCurrentIndex(list(BY_NAME).index(self.current))
        self.tabs.currentChanged.connect(lambda index: self.switch(WORKSPACES[index].name))

    def _key(self, name: str) -> str:
        return f"workspace/{name}/{self.screen_key}"

    def restore(self) -> None:
        """The current workspace as the user left it on this screen size, else its default."""
        saved = self.settings.store.value(self._key(self.current))
        if not isinstance(saved, QByteArray) or not self.window.restoreState(saved):
            self.reset()
        self._watch_tabs()

    def save(self) -> None:
        if self.maximised is not None:
            self.window.restoreState(self.maximised)
            self.maximised = None
        self.settings.store.setValue(self._key(self.current), self.window.saveState())
        self.settings.store.setValue("workspace/current", self.current)

    def switch(self, name: str) -> None:
        if name not in BY_NAME:
            raise ValueError(f"no workspace {name!r}: the workspaces are {', '.join(BY_NAME)}")
        if name == self.current:
            return
        self.save()
        self.current = name
        if self.tabs.currentIndex() != list(BY_NAME).index(name):
            self.tabs.setCurrentIndex(list(BY_NAME).index(name))  # calls back here, now a no-op
        self.restore()
        self.changed.emit(name)

    def reset(self) -> None:
        """The current workspace's default arrangement (View › Reset Workspace)."""
        self.maximised = None
        arrange(self.window, BY_NAME[self.current], self.extra, self.palette_width)
        self._watch_tabs()

    # -- maximising a dock -----------------------------------------------------------------------
    def _watch_tabs(self) -> None:
        """Dock tab bars come and go as docks are tabbed: each new one is watched for double-clicks
        and keeps whole titles once the layout has settled."""
        QTimer.singleShot(0, self._install)

    def _install(self) -> None:
        hide_stale_tab_bars(self.window)
        whole_tab_titles(self.window)  # a restored state's tab bars are new ones, eliding by default
        for tabs in dock_tab_bars(self.window):
            tabs.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.MouseButtonDblClick and isinstance(watched, QTabBar):
            index = watched.tabAt(event.position().toPoint())
            title = watched.tabText(index).replace("&", "") if index >= 0 else ""
            dock = next((d for d in docks(self.window).values() if d.windowTitle() == title and d.isVisible()), None)
            if dock is not None:
                self.toggle_maximised(dock)
                return True
        return super().eventFilter(watched, event)

    def toggle_maximised(self, dock: QDockWidget) -> None:
        """The dock alone beside a minimal canvas; again: the workspace as it was."""
        if self.maximised is not None:
            self.window.restoreState(self.maximised)
            self.maximised = None
            self._watch_tabs()
            return
        self.maximised = self.window.saveState()
        for other in docks(self.window).values():
            if other is not dock:
                other.hide()
        dock.show()
        dock.raise_()
        area = self.window.dockWidgetArea(dock)
        vertical = area in (Qt.DockWidgetArea.LeftDockWidgetArea, Qt.DockWidgetArea.RightDockWidgetArea)
        size = self.window.size()
        self.window.resizeDocks([dock], [size.width() if vertical else size.height()],
                                Qt.Orientation.Horizontal if vertical else Qt.Orientation.Vertical)
