"""Pause and stop for a run (training or a synthesis), callable from any thread (the studio's
runner, Ctrl-C, SIGTERM)."""

from __future__ import annotations

import threading


class Stopped(Exception):
    """Raised inside a synthesis's optimisation loop when a stop was asked for; it ends cleanly."""


class RunControl:
    """``pause``, ``resume`` and ``stop``: the Trainer has them, and so does a synthesis, so the
    studio's runner and worker drive both alike."""

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
