"""Slow work (torch imports, exports, reading weights) off the GUI thread, with its result or a
plain-language error delivered back on the GUI thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, Signal


class BackgroundJob(QObject):
    """``done(result)`` or ``failed(message)``, once. Exceptions of the ``expected`` types are shown
    by their message; any other is named as an internal error, never as a traceback."""

    done = Signal(object)
    failed = Signal(str)

    def __init__(self, work: Callable[[], Any], expected: tuple[type[BaseException], ...] = (), parent: QObject | None = None):
        super().__init__(parent)
        self.work, self.expected = work, expected
        self.thread = threading.Thread(target=self._run, name="background-job", daemon=True)

    def start(self) -> BackgroundJob:
        self.thread.start()
        return self

    def _run(self) -> None:
        try:
            result = self.work()
        except self.expected as error:
            self._emit(self.failed, str(error))
        except Exception as error:  # noqa: BLE001 - shown to the user as a sentence
            self._emit(self.failed, f"internal error: {type(error).__name__}: {error}")
        else:
            self._emit(self.done, result)

    def _emit(self, signal: Signal, value: object) -> None:
        if shiboken6.isValid(self):  # its parent (a closed dialog or window) may be gone by now
            signal.emit(value)
