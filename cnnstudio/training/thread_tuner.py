"""The studio's worker measures which torch thread count trains fastest, instead of guessing.

Which count wins depends on what else the machine does, and that changes while the studio runs.
Measured on 2 cores (``bench/bench_views.py``, ``bench/bench_cli.py`` part 3): beside an idle
window, both cores train Figure 21 1.4 times as fast as one; beside a busy program, one thread is
2.5 times as fast as two, whose threads wait for each other at every operation.

A :class:`ThreadTuner` is a training listener on the step events. Timing the other count costs
its slower windows, so it times only when there is a reason to: while the process gets the cores
its threads ask for (its CPU time keeps up with the wall clock times its thread count: 0.99 of it
alone, 0.6 beside a busy program, measured on 2 cores), all cores are kept untimed; when it falls
short for a second (two windows in a row: a burst of another program passes; at most once a
minute), or a while after fewer threads were chosen, each candidate is timed in turn, twice, over
half-second windows that leave out any interval with something else in it (validation, a pause, a
view's capture), each keeping its best window (a disturbance only ever slows a window down); the
first candidate stays unless another is clearly faster. Fewer threads are timed against all cores
again 5 s after they win, then 10, 20, 40 s, up to a minute while they keep winning: a burst that
soon passes (the window importing torch for 3 s mid-run, measured) costs seconds at one thread,
not a minute, and a lasting one a measurement a minute. The run's first second is not looked at
(warm-up, the window drawing its first curves). Results may differ in the last bits between thread
counts, as with any change of thread count; the command line keeps one fixed count (and an
explicit ``OMP_NUM_THREADS`` leaves a single candidate here too).
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
    warmup_s: float = 1.0  # the run's first steps are not looked at (allocations, caches, the window starting)
    margin: float = 0.05  # another count is chosen only if it is this much faster than the first
    busy_share: float = 0.85  # the first count is timed against the others when its CPU share falls below this
    busy_windows: int = 2  # in this many windows in a row (a second: not a passing burst of another program)
    hold_s: float = 60.0  # after a measurement, the count chosen is kept at least this long...
    recheck_s: float = 5.0  # ...but fewer threads only this long at first, twice as long each time they win again
    clock: Callable[[], float] = time.perf_counter
    cpu_clock: Callable[[], float] = time.process_time  # this process's CPU time, all its threads
    chosen: int = field(init=False)
    rates: dict[int, float] = field(init=False, default_factory=dict)  # steps/s: each count's best window
    share: float | None = field(init=False, default=None)  # the first count's last CPU share
    _plan: list[int] = field(init=False, default_factory=list)  # the counts still to time, in order
    _current: int = field(init=False)  # the count torch uses now
    _last: tuple[float, int] | None = field(init=False, default=None)  # (time, global step) of the last event
    _steps: int = field(init=False, default=0)
    _seconds: float = field(init=False, default=0.0)
    _wait_until: float | None = field(init=False, default=None)  # nothing before this (None: not started)
    _mark: tuple[float, float] | None = field(init=False, default=None)  # (time, CPU time) the share is counted from
    _short: int = field(init=False, default=0)  # windows in a row short of cores
    _recheck: float = field(init=False)  # how long fewer threads are kept if they win the next measurement

    def __post_init__(self) -> None:
        self.counts = tuple(dict.fromkeys(self.counts))
        self.chosen = self._current = self.counts[0]
        self._recheck = self.recheck_s
        self.set_threads(self.chosen)
        if len(self.counts) == 1:
            self._wait_until = float("inf")

    def __call__(self, event: events.Event) -> None:
        if not isinstance(event, events.StepMetrics):
            self._last = self._mark = None  # the next interval holds this event's work (validation, capture, pause)
            return
        now = self.clock()
        if self._plan:
            self._timing(now, event.global_step)
        elif self._wait_until is None:
            self._wait_until = now + self.warmup_s  # the first step event: the run has begun
        elif now >= self._wait_until and (self.chosen != self.counts[0] or self._short_of_cores(now)):
            self.rates = {}
            self._plan = list(self.counts) * self.rounds
            self._time(self._plan[0])

    def _short_of_cores(self, now: float) -> bool:
        """Whether the first count's threads got less CPU than they ask for, window after window."""
        cpu = self.cpu_clock()
        if self._mark is None or now - self._mark[0] < self.window_s:
            if self._mark is None:
                self._mark = (now, cpu)
            return False
        self.share = (cpu - self._mark[1]) / ((now - self._mark[0]) * self.chosen)
        self._mark = (now, cpu)
        self._short = self._short + 1 if self.share < self.busy_share else 0
        return self._short >= self.busy_windows

    def _timing(self, now: float, step: int) -> None:
        if self._last is not None and step > self._last[1]:
            self._steps += step - self._last[1]
            self._seconds += now - self._last[0]
        self._last = (now, step)
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
        if self.chosen == first:
            kept, self._recheck = self.hold_s, self.recheck_s
        else:
            kept, self._recheck = self._recheck, min(2 * self._recheck, self.hold_s)
        self._wait_until, self._last, self._mark, self._short = now + kept, None, None, 0
