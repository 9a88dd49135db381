"""The studio worker's thread tuner: times each candidate count on the step events, keeps the
fastest for a while, measures again, and never counts an interval with other work in it, the
run's first steps or one unlucky window."""

from __future__ import annotations

from cnnstudio.training import events
from cnnstudio.training.thread_tuner import ThreadTuner


class Machine:
    """A fake clock on which a step takes ``seconds[threads]``: the tuner's threads decide the pace."""

    def __init__(self, seconds: dict[int, float]) -> None:
        self.seconds, self.now, self.threads, self.step, self.history = seconds, 0.0, 0, 0, []

    def set_threads(self, count: int) -> None:
        self.threads = count
        self.history.append(count)

    def clock(self) -> float:
        return self.now

    def steps(self, tuner: ThreadTuner, count: int) -> None:
        for _ in range(count):
            self.now += self.seconds[self.threads]
            self.step += 1
            tuner(events.StepMetrics(1, self.step, 10**6, self.step, 10**6, 0.5, 0.1, 100.0, 1.0))


def test_the_faster_count_is_chosen_kept_and_measured_again_when_the_machine_changes():
    machine = Machine({1: 0.10, 2: 0.06})  # an idle window: both cores are faster
    tuner = ThreadTuner((1, 2), machine.set_threads, window_s=1.0, hold_s=30.0, clock=machine.clock)
    machine.steps(tuner, 80)
    assert tuner.chosen == 2 and machine.threads == 2
    assert round(tuner.rates[1], 6) == 10.0 and round(tuner.rates[2], 6) == round(1 / 0.06, 6)
    machine.seconds = {1: 0.10, 2: 0.25}  # another program now keeps a core busy
    machine.steps(tuner, 300)  # the hold passes, both are measured again
    assert tuner.chosen == 1 and machine.threads == 1
    assert machine.history[:4] == [1, 2, 1, 2]  # each timed twice, in turn


def test_an_interval_with_other_work_in_it_is_not_counted():
    machine = Machine({1: 0.10, 2: 0.06})
    tuner = ThreadTuner((1, 2), machine.set_threads, window_s=1.0, hold_s=30.0, clock=machine.clock)
    for _ in range(30):
        machine.steps(tuner, 1)
        if machine.threads == 2:  # a long validation after every step while 2 threads are timed
            machine.now += 5.0
            tuner(events.EpochMetrics(1, 0.5, 0.5, {}, 0.1, 1.0))
    machine.steps(tuner, 80)
    assert tuner.chosen == 2


def test_a_single_candidate_is_set_once_and_never_measured():
    machine = Machine({2: 0.1})
    tuner = ThreadTuner((2, 2), machine.set_threads, window_s=1.0, clock=machine.clock)
    machine.steps(tuner, 100)
    assert machine.history == [2] and tuner.rates == {}


def test_one_disturbed_window_does_not_decide_the_run():
    """The first window of two threads runs while the window draws its first curves (20 times slower):
    the second window of two threads shows their real speed, and two threads are kept."""
    machine = Machine({1: 0.10, 2: 0.07})
    tuner = ThreadTuner((2, 1), machine.set_threads, window_s=1.0, warmup_s=0.5, clock=machine.clock)
    machine.steps(tuner, 6)  # the warm-up
    machine.seconds = {1: 0.10, 2: 1.4}
    machine.steps(tuner, 2)
    machine.seconds = {1: 0.10, 2: 0.07}
    machine.steps(tuner, 80)
    assert tuner.rates[2] > tuner.rates[1] and tuner.chosen == 2 and machine.threads == 2


def test_the_first_steps_are_not_timed():
    machine = Machine({1: 0.10, 2: 1.0})  # the first steps are slow whatever the count (allocations, caches)
    tuner = ThreadTuner((2, 1), machine.set_threads, window_s=1.0, warmup_s=3.0, clock=machine.clock)
    machine.steps(tuner, 3)
    assert machine.history == [2] and tuner.rates == {}  # still warming up: nothing timed, nothing changed
    machine.seconds = {1: 0.10, 2: 0.07}
    machine.steps(tuner, 80)
    assert tuner.chosen == 2


def test_the_first_count_stays_unless_another_is_clearly_faster():
    machine = Machine({1: 0.097, 2: 0.10})  # one thread 3% faster: within the measurement's noise
    tuner = ThreadTuner((2, 1), machine.set_threads, window_s=1.0, margin=0.05, clock=machine.clock)
    machine.steps(tuner, 80)
    assert tuner.rates[1] > tuner.rates[2] and tuner.chosen == 2 and machine.threads == 2
    machine.seconds = {1: 0.08, 2: 0.10}  # 25% faster: chosen at the next measurement
    machine.steps(tuner, 800)
    assert tuner.chosen == 1 and machine.threads == 1
