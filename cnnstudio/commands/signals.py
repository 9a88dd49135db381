"""Ctrl-C and SIGTERM during a long command: a first one asks for a stop that keeps a checkpoint.

``cnnstudio train`` and a sweep's worker stop what they run (:class:`StopOnSignals`); ``cnnstudio
sweep --jobs K`` also passes the signal on to its other worker processes (:class:`StopAndForward`).
"""

from __future__ import annotations

import signal
import subprocess
import sys
from abc import ABC, abstractmethod
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class _SignalScope(ABC):
    """Inside ``with``, SIGINT and SIGTERM call :meth:`handle`; the handlers before are put back after."""

    def __enter__(self) -> None:
        self.previous = {sig: signal.signal(sig, self.handle) for sig in STOP_SIGNALS}

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)

    @abstractmethod
    def handle(self, signum: int, frame: object) -> None:
        """What a signal does inside the scope."""


class StopOnSignals(_SignalScope):
    """Ask ``target`` (anything with ``stop()``) to stop, saying ``message``; a second Ctrl-C is immediate."""

    def __init__(self, target: Any, message: str):
        self.target, self.message = target, message

    def handle(self, signum: int, frame: object) -> None:
        print(f"\n{self.message} (Ctrl-C again to quit now)", file=sys.stderr)
        self.target.stop()
        signal.signal(signal.SIGINT, signal.default_int_handler)


class StopAndForward(StopOnSignals):
    """``sweep --jobs K``: stop this process's own worker, and pass the signal on to the other
    workers. They share the terminal, so Ctrl-C reaches them itself; a SIGTERM or a Ctrl-C sent to
    this process alone is passed on as SIGTERM, which each worker takes as its first stop."""

    def __init__(self, target: Any, message: str, procs: list[subprocess.Popen]):
        super().__init__(target, message)
        self.procs = procs

    def handle(self, signum: int, frame: object) -> None:
        super().handle(signum, frame)
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
