"""Python's cycle collector runs only on the GUI thread while the studio is open.

The collector runs in whichever thread happens to allocate when a threshold is crossed. In a
background job (importing timm for the import dialog, torch for the device probe) it may then
free a dead window's Qt objects off the GUI thread: their destructors wait for the GIL the GUI
thread needs, and the studio hangs (seen in the test suite). So automatic collection is turned off
and a timer on the GUI thread collects each generation whose threshold was crossed, as
pyqtgraph's ``GarbageCollector`` does; importing that one would load all of pyqtgraph before the
window's first paint, which the start-up budget does not allow.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 1000


class MainThreadCollector(QObject):
    """Create it on the GUI thread; it collects there until it is deleted (then gc is re-enabled)."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(interval_ms)
        self.destroyed.connect(gc.enable)

    def collect(self) -> None:
        """Collect each generation whose count passed its threshold, youngest first."""
        for generation in range(3):
            if gc.get_count()[generation] <= self.thresholds[generation]:
                break
            gc.collect(generation)
