"""The studio worker's thread tuner: keeps all cores untimed while the process gets them, times
each candidate count when it does not (or a while after choosing fewer), keeps the fastest for a
while, and never counts an interval with other work in it, the run's first steps or one unlucky
window."""

from __future__ import annotations

from cnnstudio.training import events
from cnnstudio.training.thread_tuner import ThreadTuner

QUIET = {1: 1.0, 2: 1.0}  # the share of the cores each thread count gets: all of them
BUSY = {1: 1.0, 2: 0.6}  # another program keeps a core busy: two threads get 0.6 of two cores


class Machine:
    """A fake clock on which a step takes ``seconds[threads]`` and the process's threads get
    ``share[threads]`` of the cores they ask for: the tuner's threads decide the pace."""

    def __init__(self, seconds: dict[int, float], share: dict[int, float] = QUIET) -> None:
        self.seconds, self.share = seconds, share
        self.now = self.cpu = 0.0
        self.threads, self.step, self.history = 0, 0, []

    def set_threads(self, count: int) -> None:
        self.threads = count
        self.history.append(count)

    def tuner(self, counts: tuple[int, ...], **options: float) -> ThreadTuner:
        return ThreadTuner(counts, self.set_threads, clock=lambda: self.now, cpu_clock=lambda: self.cpu, **options)

    def steps(self, tuner: ThreadTuner, count: int) -> None:
        for _ in range(count):
            seconds = self.seconds[self.threads]
            self.now += seconds
            self.cpu += seconds * self.threads * self.share[self.threads]
            self.step += 1
            tuner(events.StepMetrics(1, self.step, 10**6, self.step, 10**6, 0.5, 0.1, 100.0, 1.0))


def test_a_process_that_gets_its_cores_keeps_them_and_times_nothing():
    machine = Machine({1: 0.10, 2: 0.07})
    tuner = machine.tuner((2, 1), window_s=1.0, hold_s=30.0)
    machine.steps(tuner, 2000)  # 140 s
    assert machine.history == [2] and tuner.rates == {} and tuner.share is not None and tuner.share > 0.99


def test_a_passing_burst_of_another_program_times_nothing():
    machine = Machine({1: 0.25, 2: 0.125})  # steps on exact binary times: windows of 8 steps
    tuner = machine.tuner((2, 1), window_s=1.0, warmup_s=0.5)
    machine.steps(tuner, 13)  # the warm-up, and the first window, from step 5 to 13
    machine.share = BUSY  # for exactly the next window (another process ending, say)
    machine.steps(tuner, 8)
    assert round(tuner.share, 9) == 0.6
    machine.share = QUIET
    machine.steps(tuner, 300)
    assert machine.history == [2] and tuner.rates == {} and round(tuner.share, 9) == 1.0


def test_short_of_cores_the_faster_count_is_chosen_kept_and_measured_again_when_the_machine_changes():
    machine = Machine({1: 0.10, 2: 0.25}, BUSY)  # another program keeps a core busy
    tuner = machine.tuner((2, 1), window_s=1.0, hold_s=30.0)
    machine.steps(tuner, 60)
    assert tuner.chosen == 1 and machine.threads == 1 and tuner.share < 0.85
    assert round(tuner.rates[1], 6) == 10.0 and round(tuner.rates[2], 6) == 4.0
    assert machine.history[:4] == [2, 1, 2, 1]  # each timed twice, in turn
    machine.seconds, machine.share = {1: 0.10, 2: 0.06}, QUIET  # the other program ends
    machine.steps(tuner, 400)  # the hold passes, both are measured again
    assert tuner.chosen == 2 and machine.threads == 2


def test_an_interval_with_other_work_in_it_is_not_counted():
    machine = Machine({1: 0.10, 2: 0.06}, {1: 1.0, 2: 0.8})
    tuner = machine.tuner((2, 1), window_s=1.0, hold_s=30.0, busy_share=0.9)
    machine.steps(tuner, 45)  # the warm-up, and two windows short of cores: two threads are being timed
    for _ in range(30):
        machine.steps(tuner, 1)
        if machine.threads == 2:  # a long validation after every step while 2 threads are timed
            machine.now += 5.0
            tuner(events.EpochMetrics(1, 0.5, 0.5, {}, 0.1, 1.0))
    machine.steps(tuner, 400)
    assert tuner.chosen == 2


def test_a_single_candidate_is_set_once_and_never_measured():
    machine = Machine({2: 0.1}, {2: 0.5})
    tuner = machine.tuner((2, 2), window_s=1.0)
    machine.steps(tuner, 100)
    assert machine.history == [2] and tuner.rates == {}


def test_one_disturbed_window_does_not_decide_the_run():
    """The first window of two threads runs while the window draws its first curves (20 times slower):
    the second window of two threads shows their real speed, and two threads are kept."""
    machine = Machine({1: 0.10, 2: 0.07}, {1: 1.0, 2: 0.8})
    tuner = machine.tuner((2, 1), window_s=1.0, warmup_s=0.5)
    machine.steps(tuner, 45)  # the warm-up, then two windows short of cores: the timing starts
    assert tuner.share is not None and machine.history == [2] and tuner._plan
    machine.seconds = {1: 0.10, 2: 1.4}
    machine.steps(tuner, 2)
    machine.seconds = {1: 0.10, 2: 0.07}
    machine.steps(tuner, 80)
    assert tuner.rates[2] > tuner.rates[1] and tuner.chosen == 2 and machine.threads == 2


def test_the_first_steps_are_not_looked_at():
    machine = Machine({1: 0.10, 2: 1.0}, BUSY)  # slow and short of cores at first (allocations, the window starting)
    tuner = machine.tuner((2, 1), window_s=1.0, warmup_s=3.0)
    machine.steps(tuner, 3)
    assert machine.history == [2] and tuner.rates == {} and tuner.share is None  # nothing timed, nothing changed
    machine.seconds, machine.share = {1: 0.10, 2: 0.07}, QUIET
    machine.steps(tuner, 200)
    assert machine.history == [2] and tuner.chosen == 2


def test_the_first_count_stays_unless_another_is_clearly_faster():
    machine = Machine({1: 0.097, 2: 0.10}, BUSY)  # one thread 3% faster: within the measurement's noise
    tuner = machine.tuner((2, 1), window_s=1.0, margin=0.05)
    machine.steps(tuner, 80)
    assert tuner.rates[1] > tuner.rates[2] and tuner.chosen == 2 and machine.threads == 2
    machine.seconds = {1: 0.08, 2: 0.10}  # 25% faster: chosen at the next measurement, a hold later
    machine.steps(tuner, 800)
    assert tuner.chosen == 1 and machine.threads == 1


def test_fewer_threads_chosen_in_a_burst_give_the_cores_back_soon_after_it_passes():
    """A burst of another program (the window importing torch for 3 s, measured) makes one thread
    win: all cores are timed again 5 s later and win back, not after the minute's hold."""
    machine = Machine({1: 0.10, 2: 0.25}, BUSY)
    tuner = machine.tuner((2, 1), window_s=1.0, hold_s=60.0, recheck_s=5.0)
    machine.steps(tuner, 60)
    assert tuner.chosen == 1
    machine.seconds, machine.share = {1: 0.10, 2: 0.06}, QUIET  # the burst has passed
    chosen_at = machine.now
    while tuner.chosen == 1:
        machine.steps(tuner, 1)
    assert machine.now - chosen_at < 5.0 + 4 * 1.0 + 1.0  # the recheck, its four windows, one step over each


def test_while_fewer_threads_keep_winning_they_are_timed_again_ever_less_often():
    machine = Machine({1: 0.10, 2: 0.25}, BUSY)  # another program keeps a core busy for good
    tuner = machine.tuner((2, 1), window_s=1.0, warmup_s=0.0, hold_s=60.0, recheck_s=5.0)
    kept: list[float] = []  # from the end of each measurement to the start of the next
    ended = None
    while machine.now < 400:
        timing = bool(tuner._plan)
        machine.steps(tuner, 1)
        if timing and not tuner._plan:
            ended = machine.now
        elif tuner._plan and not timing and ended is not None:
            kept.append(machine.now - ended)
    assert [round(seconds) for seconds in kept[:6]] == [5, 10, 20, 40, 60, 60]
    assert tuner.chosen == 1
