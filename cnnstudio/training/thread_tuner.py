"""The studio's worker measures which torch thread count trains fastest, instead of guessing.

Which count wins depends on what else the machine does, and that changes while the studio runs.
Measured on 2 cores (``bench/bench_views.py``, ``bench/bench_cli.py`` part 3): beside an idle
window, both cores train Figure 21 1.4 times as fast as one; beside a busy program, one thread is
2.5 times as fast as two, whose threads wait for each other at every operation. So the worker
tries each candidate count for short windows, keeps the fastest for a while, and measures again.

A :class:`ThreadTuner` is a training listener: it times the engine's step events and ignores any
interval with something else in it (validation, a pause, a view's capture). One unlucky window
must not decide a whole run (``bench/bench_studio_training.py`` saw a run start while the window
drew its first curves, time two threads at a twentieth of their speed and keep one thread): the
first steps (warm-up, the window's start) are not timed, the candidates are timed in turn more
than once and each keeps its best window (a disturbance only ever slows a window down), and the
first candidate stays unless another is clearly faster. Results may differ in the last bits
between thread counts, as with any change of thread count; the command line keeps one fixed count
(and an explicit ``OMP_NUM_THREADS`` leaves a single candidate here too).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from cnnstudio.training import events


@dataclass
class ThreadTuner:
    counts: Sequence[int]  # the candidates, the default first, e.g. (2, 1): all cores, and all but the window's
    set_threads: Callable[[int], None]
    window_s: float = 0.5  # each candidate is timed over windows at least this long (10 step events)
    rounds: int = 2  # windows per candidate and measurement, interleaved; the best of them counts
    warmup_s: float = 1.0  # the run's first steps are not timed (allocations, caches, the window starting)
    margin: float = 0.05  # another count is chosen only if it is this much faster than the first
    hold_s: float = 60.0  # then the chosen count is kept this long before measuring again
    clock: Callable[[], float] = time.perf_counter
    chosen: int = field(init=False)
    rates: dict[int, float] = field(init=False, default_factory=dict)  # steps/s: each count's best window
    _plan: list[int] = field(init=False, default_factory=list)  # the counts still to time, in order
    _current: int = field(init=False)  # the count torch uses now
    _last: tuple[float, int] | None = field(init=False, default=None)  # (time, global step) of the last event
    _steps: int = field(init=False, default=0)
    _seconds: float = field(init=False, default=0.0)
    _wait_until: float | None = field(init=False, default=None)  # no timing before this (None: not yet known)

    def __post_init__(self) -> None:
        self.counts = tuple(dict.fromkeys(self.counts))
        self.chosen = self._current = self.counts[0]
        self.set_threads(self.chosen)
        if len(self.counts) == 1:
            self._wait_until = float("inf")

    def __call__(self, event: events.Event) -> None:
        if not isinstance(event, events.StepMetrics):
            self._last = None  # the next interval holds this event's work (validation, capture, pause)
            return
        now = self.clock()
        if not self._plan:
            if self._wait_until is None:
                self._wait_until = now + self.warmup_s  # the first step event: the run has begun
            elif now >= self._wait_until:
                self.rates = {}
                self._plan = list(self.counts) * self.rounds
                self._time(self._plan[0])
            return
        if self._last is not None and event.global_step > self._last[1]:
            self._steps += event.global_step - self._last[1]
            self._seconds += now - self._last[0]
        self._last = (now, event.global_step)
        if self._seconds >= self.window_s:
            count = self._plan.pop(0)
            self.rates[count] = max(self.rates.get(count, 0.0), self._steps / self._seconds)
            if self._plan:
                self._time(self._plan[0])
            else:
                self._hold(now)

    def _use(self, count: int) -> None:
        if count != self._current:
            self._current = count
            self.set_threads(count)

    def _time(self, count: int) -> None:
        """Time ``count`` from the next interval on (the current one ran with the old count)."""
        self._steps, self._seconds, self._last = 0, 0.0, None
        self._use(count)

    def _hold(self, now: float) -> None:
        first = self.counts[0]
        best = max(self.rates, key=self.rates.__getitem__)
        self.chosen = best if self.rates[best] > self.rates[first] * (1 + self.margin) else first
        self._use(self.chosen)
        self._wait_until, self._last = now + self.hold_s, None
