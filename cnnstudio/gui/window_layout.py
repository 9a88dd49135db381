"""Where the first window goes: it fits the available screen, its frame included, so the title
bar and the status bar are both on screen. The geometry the user leaves is saved per screen size
(a laptop used with and without its external monitor keeps one for each); the docks' arrangement
is the workspace's (``workspaces.py``).
"""

from __future__ import annotations

from PySide6.QtCore import QMargins, QRect, QSize

LARGEST = QSize(1600, 1000)  # a first window no larger than this, centred, on bigger screens
TITLE_BAR = 32  # the window manager's frame is not known before the window is shown: assumed


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
