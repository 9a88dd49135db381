"""Where the window and its docks go: the first window fits the screen, the canvas gets the room.

The default arrangement keeps one column of docks on the right (the Inspector, Training and Probe
as tabs above; the Summary, Curves, Run Log and views as tabs below) and the layer palette on
the left, so on a 1440x900 laptop screen the canvas gets over 60% of the window. The arrangement
the user makes is saved per screen size: a laptop used with and without its external monitor
keeps one layout for each. View › Reset Layout puts the default back.
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize, Qt
from PySide6.QtWidgets import QDockWidget, QMainWindow, QTabBar

LARGEST = QSize(1600, 1000)  # a first window no larger than this, centred, on bigger screens
TITLE_BAR = 32  # the window manager's frame is not known before the window is shown: assumed
RIGHT_WIDTH = 300
RIGHT_TOP_SHARE = 0.5  # the Inspector group's share of the right column (Training is there too)
# The docks of the right column, by name (``add_dock``'s); names not in the window are skipped.
RIGHT_TOP = ("inspector", "training", "probe", "style", "sweep")
HIDDEN_AT_START = ("style", "sweep")  # opened on demand (View › Style Transfer…, Sweep… on a parameter)
RIGHT_BOTTOM = ("summary", "curves", "run-log", "runs", "activations", "filters", "predictions", "gradients",
                "embeddings")


def first_geometry(available: QRect, frame: QMargins | None = None) -> QRect:
    """The first window's geometry (without its frame): inside ``available`` frame included,
    filling a laptop screen, centred and at most :data:`LARGEST` on a larger one. ``frame``:
    the window manager's frame, None while it is not known (a title bar is assumed)."""
    if frame is None:
        frame = QMargins(0, TITLE_BAR, 0, 0)
    room = available.marginsRemoved(frame)
    size = room.size().boundedTo(LARGEST)
    left = room.left() + (room.width() - size.width()) // 2
    top = room.top() + (room.height() - size.height()) // 2
    return QRect(left, top, size.width(), size.height())


def screen_key(available: QRect) -> str:
    """The settings key of a screen size ("1440x900")."""
    return f"{available.width()}x{available.height()}"


def docks(window: QMainWindow) -> dict[str, QDockWidget]:
    return {dock.objectName().removeprefix("dock-"): dock for dock in window.findChildren(QDockWidget)}


def arrange_default(window: QMainWindow, palette_width: int) -> None:
    """Put the studio's docks where a fresh studio has them (docks others add keep their area)."""
    found = docks(window)
    right = Qt.DockWidgetArea.RightDockWidgetArea
    ours = [found[n] for n in ("palette", *RIGHT_TOP, *RIGHT_BOTTOM) if n in found]
    size = window.size()
    for dock in ours:  # hidden while they move: docks stacked for a moment would add up their heights
        dock.hide()
        dock.setFloating(False)
    if "palette" in found:
        window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, found["palette"])
    top = [found[n] for n in RIGHT_TOP if n in found]
    bottom = [found[n] for n in RIGHT_BOTTOM if n in found]
    if top and bottom:
        window.addDockWidget(right, top[0])
        window.splitDockWidget(top[0], bottom[0], Qt.Orientation.Vertical)
        for group in (top, bottom):
            for dock in group[1:]:
                window.tabifyDockWidget(group[0], dock)
    for dock in ours:
        dock.setVisible(dock.objectName().removeprefix("dock-") not in HIDDEN_AT_START)
    for group in (top, bottom):
        if group:
            group[0].raise_()
    window.resize(size)
    if not top or not bottom:
        return
    height = size.height()
    window.resizeDocks([top[0], bottom[0]], [int(height * RIGHT_TOP_SHARE), int(height * (1 - RIGHT_TOP_SHARE))],
                       Qt.Orientation.Vertical)
    sides = [d for d in (found.get("palette"), top[0]) if d is not None]
    window.resizeDocks(sides, [palette_width, RIGHT_WIDTH][-len(sides):], Qt.Orientation.Horizontal)
    whole_tab_titles(window)


def whole_tab_titles(window: QMainWindow) -> None:
    """Dock tabs keep their whole titles and scroll, instead of eliding them to "S…"."""
    for tabs in window.findChildren(QTabBar):
        tabs.setElideMode(Qt.TextElideMode.ElideNone)
        tabs.setUsesScrollButtons(True)
