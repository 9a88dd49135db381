"""Pause and stop for a synthesis run, callable from any thread (the studio's runner, Ctrl-C)."""

from __future__ import annotations

import threading


class Stopped(Exception):
    """Raised inside the optimisation loop when a stop was asked for; the run ends cleanly."""


class RunControl:
    """The same controls as the Trainer's (``pause``, ``resume``, ``stop``), so the studio's
    runner and worker drive a synthesis exactly as they drive training."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()

    def stop(self) -> None:
        self._stop.set()
        self._running.set()

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def check(self) -> None:
        """Wait while paused; raise :class:`Stopped` once a stop was asked for."""
        while not self._running.wait(0.1):
            pass
        if self._stop.is_set():
            raise Stopped
