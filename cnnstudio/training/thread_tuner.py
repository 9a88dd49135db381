"""The studio's worker measures which torch thread count trains fastest, instead of guessing.

Which count wins depends on what else the machine does, and that changes while the studio runs.
Measured on 2 cores (``bench/bench_views.py``, ``bench/bench_cli.py`` part 3): beside an idle
window, both cores train Figure 21 1.4 times as fast as one; beside a busy program, one thread is
2.5 times as fast as two, whose threads wait for each other at every operation. So the worker
tries each candidate count for a short window, keeps the fastest for a while, and measures again.

A :class:`ThreadTuner` is a training listener: it times the engine's step events and ignores any
interval with something else in it (validation, a pause, a view's capture). Results may differ in
the last bits between thread counts, as with any change of thread count; the command line keeps
one fixed count (and an explicit ``OMP_NUM_THREADS`` leaves a single candidate here too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cnnstudio.training import events


@dataclass
class ThreadTuner:
    counts: Sequence[int]  # the candidates, e.g. (1, 2): all cores but the window's, and all cores
    set_threads: Callable[[int], None]
    window_s: float = 0.5  # each candidate is timed over at least this long (10 step events)
    hold_s: float = 60.0  # then the fastest is kept this long before measuring again
    clock: Callable[[], float] = time.perf_counter
    chosen: int = field(init=False)
    rates: dict[int, float] = field(init=False, default_factory=dict)  # steps/s of the last measurement
    _trying: int | None = field(init=False, default=0)  # index into counts; None while holding
    _last: tuple[float, int] | None = field(init=False, default=None)  # (time, global step) of the last event
    _steps: int = field(init=False, default=0)
    _seconds: float = field(init=False, default=0.0)
    _held_since: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.counts = tuple(dict.fromkeys(self.counts))
        self.chosen = self.counts[0]
        self.set_threads(self.chosen)
        if len(self.counts) == 1:
            self._trying = None
            self._held_since = float("inf")

    def __call__(self, event: events.Event) -> None:
        if not isinstance(event, events.StepMetrics):
            self._last = None  # the next interval holds this event's work (validation, capture, pause)
            return
        now = self.clock()
        if self._trying is None:
            if now - self._held_since >= self.hold_s:
                self._try(0)
            return
        if self._last is not None and event.global_step > self._last[1]:
            self._steps += event.global_step - self._last[1]
            self._seconds += now - self._last[0]
        self._last = (now, event.global_step)
        if self._seconds >= self.window_s:
            self.rates[self.counts[self._trying]] = self._steps / self._seconds
            if self._trying + 1 < len(self.counts):
                self._try(self._trying + 1)
            else:
                self._hold(now)

    def _try(self, index: int) -> None:
        """Time ``counts[index]`` from the next interval on (the current one ran with the old count)."""
        self._trying, self._steps, self._seconds, self._last = index, 0, 0.0, None
        self.set_threads(self.counts[index])

    def _hold(self, now: float) -> None:
        self.chosen = max(self.rates, key=self.rates.__getitem__)
        self.set_threads(self.chosen)
        self._trying, self._held_since, self._last = None, now, None
