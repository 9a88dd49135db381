"""One worker process of a sweep: it asks the storage for trials, trains each as a run of the run
store, and tells the storage how it went. Any number of workers, on one machine or several, share
a sweep through its storage, which hands out trial numbers, so no two run the same trial.

A trial's run folder is ``<sweep>_trial-<number>`` in the design's runs folder; its manifest names
the sweep and trial (``sweep`` in run.json). Each epoch's metric goes to the pruner; a pruned trial
is a run stopped with its checkpoint and marked ``pruned``. A trial whose values make the design
invalid fails with the analysis sentence, and the sweep goes on. A stop (Ctrl-C) stops the running
trial with its checkpoint and leaves it ``running`` in the storage: the next worker started on
this machine continues it from that checkpoint, under the same number, before asking for new ones.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna

from cnnstudio.core.design import Design, DesignError
from cnnstudio.core.designfile import to_dict
from cnnstudio.core.display import file_stem
from cnnstudio.runs.folders import new_folder
from cnnstudio.runs.manifest import LAST, Manifest, main_metric
from cnnstudio.runs.owner import Owner
from cnnstudio.runs.store import Run
from cnnstudio.sweeps.space import Dimension, SweepError, apply
from cnnstudio.training import events
from cnnstudio.training.defaults import default_settings
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.listeners import read_metrics
from cnnstudio.training.settings import TrainingSettings

CLAIM = "sweep-continuing.json"
GRID_POINTS = 10_000  # the most points a grid sweep may have: more than any sweep of whole trainings runs  # in a run folder: the worker process that continues the trial


@dataclass(frozen=True)
class SweepSpec:
    """What a worker was asked for; ``overrides`` go on every trial's settings (``--data``, ``--epochs``)."""

    name: str
    dimensions: list[Dimension]
    metric: str | None = None
    direction: str | None = None
    sampler: str = "tpe"
    pruner: str = "median"
    seed: int | None = None
    overrides: dict[str, Any] = field(default_factory=dict)


def default_name(dimensions: list[Dimension]) -> str:
    """The same ``--param`` keys make the same sweep, so starting a command again joins it."""
    return "+".join(d.key.split(".", 1)[1] for d in dimensions)


def objective(design: Design, spec: SweepSpec) -> tuple[str, str]:
    """The metric and direction: the given ones, else the task's main validation metric."""
    settings = default_settings(design, spec.overrides)
    main, mode = main_metric(settings.task)
    metric = spec.metric or main
    if spec.direction:
        return metric, spec.direction
    if metric == main:
        return metric, "maximize" if mode == "max" else "minimize"
    return metric, "minimize" if metric.endswith(("loss", "mse")) else "maximize"


def open_study(storage: Any, design: Design, spec: SweepSpec) -> Any:
    """The sweep's study, made or joined. A joining worker must sweep the same design, KEYs and
    metric; what it sweeps is kept in the study so that ``cnnstudio sweeps`` needs nothing else."""
    metric, direction = objective(design, spec)
    try:
        study = optuna.create_study(study_name=spec.name, storage=storage, direction=direction,
                                    sampler=_sampler(spec), pruner=_pruner(spec, design), load_if_exists=True)
    except Exception as error:  # noqa: BLE001 - the storage's own errors (a database gone), as a sentence
        raise SweepError(f"the sweep '{spec.name}' cannot be opened in its storage: {error}") from None
    wanted = {"design": design.name, "metric": metric, "params": {d.key: d.text.partition("=")[2] for d in spec.dimensions}}
    found = {key: study.user_attrs.get(key) for key in wanted}
    if found["design"] is None:  # the design goes last: a worker joining between the writes sees no half a setup
        for key in ("metric", "params", "design"):
            study.set_user_attr(key, wanted[key])
    elif found != wanted or study.direction.name.lower() != direction:
        raise SweepError(f"the storage already holds a sweep '{spec.name}' of design '{found['design']}' with "
                         f"{_describe(found)} and direction {study.direction.name.lower()}; join it with the same "
                         "--param, --metric and --direction, or choose another --sweep name")
    return study


def _describe(attrs: dict[str, Any]) -> str:
    params = " ".join(f"--param {k}={v}" for k, v in (attrs["params"] or {}).items())
    return f"{params} --metric {attrs['metric']}"


def _sampler(spec: SweepSpec) -> Any:
    if spec.sampler == "grid":
        grids = {d.key: d.grid() for d in spec.dimensions}
        points = math.prod(len(values) for values in grids.values())
        if points > GRID_POINTS:  # Optuna lists every point first: a huge grid would fill the memory, not start
            raise SweepError(f"the grid has {points:,} points, more than a sweep can try ({GRID_POINTS:,}); use fewer "
                             "choices, a larger STEP, or --sampler tpe or random")
        return _Grid({key: list(values) for key, values in grids.items()}, seed=spec.seed)
    if spec.sampler == "random":
        return optuna.samplers.RandomSampler(seed=spec.seed)
    return optuna.samplers.TPESampler(seed=spec.seed)


class _Grid(optuna.samplers.GridSampler):
    """Optuna's grid, without its stop() after the last point: that call is for ``optimize``, and
    raises under ask-and-tell; the worker asks :meth:`is_exhausted` before each trial instead."""

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        pass


def _pruner(spec: SweepSpec, design: Design) -> Any:
    """Median: stop a trial whose epoch is worse than the median of the trials before it at that
    epoch, once two trials have finished (Optuna's default waits for five, too many for the small
    sweeps of a desktop). Hyperband: its brackets over the run's epochs."""
    if spec.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=2)
    if spec.pruner == "hyperband":
        epochs = default_settings(design, spec.overrides).epochs
        return optuna.pruners.HyperbandPruner(min_resource=1, max_resource=max(epochs, 1))
    return optuna.pruners.NopPruner()


def new_run_folder(runs: Path, sweep: str, number: int) -> Path:
    """A new folder for a trial's run, ``<sweep>_trial-<number>``, or with ``-2``, ``-3``... where that
    is taken: sweeps whose names make one folder name ("lr rate", "LR-rate"), or sweeps of the same
    name in two storages, never write into each other's runs."""
    return new_folder(runs, f"{file_stem(sweep)}_trial-{number}")


def make_trainer(design: Design, settings: TrainingSettings | None, folder: Path, resume: Path | None,
                 on_event: events.Callback) -> Any:
    """The one place a trial's trainer is made, as ``cnnstudio train`` makes it (commands/train.py):
    a new run in ``folder``, or the run saved in ``resume`` continued in its own folder, with the run
    store's recorder and snapshot store listening."""
    from cnnstudio.runs.recorder import run_listeners
    from cnnstudio.training.engine import Trainer

    listening = {"out_dir": folder, "on_event": on_event, "callbacks": run_listeners(folder)}
    if resume is not None:
        return Trainer.from_checkpoint(resume, **listening)
    return Trainer(design, settings, **listening)


@dataclass
class Outcome:
    """What one trial came to, for the worker's lines and the storage."""

    number: int
    state: str  # complete, pruned, failed, interrupted
    values: dict[str, Any]
    folder: Path
    value: float | None = None
    message: str = ""


class Worker:
    """Runs trials of one sweep until it has run ``n`` or is stopped. ``say`` gets one line per trial."""

    def __init__(self, study: Any, design: Design, spec: SweepSpec, runs: Path, say: Callable[[str], None]):
        self.study, self.design, self.spec, self.runs, self.say = study, design, spec, runs, say
        self.metric = study.user_attrs["metric"]
        self.by_key = {d.key: d for d in spec.dimensions}
        self.stopping = threading.Event()
        self.trainer: Any = None
        self.outcomes: list[Outcome] = []

    def stop(self) -> None:
        """From a signal handler or another thread: the running trial stops with its checkpoint."""
        self.stopping.set()
        if self.trainer is not None:
            self.trainer.stop()

    def run(self, n: int) -> list[Outcome]:
        while len(self.outcomes) < n and not self.stopping.is_set():
            if self._grid_done():
                self.say(f"every value of the grid has been tried in sweep '{self.spec.name}'")
                break
            self.outcomes.append(self._next())
        return self.outcomes

    def _grid_done(self) -> bool:
        sampler = self.study.sampler
        return hasattr(sampler, "is_exhausted") and sampler.is_exhausted(self.study)

    def _next(self) -> Outcome:
        continued = self._claim_interrupted()
        if continued is not None:
            trial, folder = continued
            values = {key: self.by_key[key].decode(value) for key, value in trial.params.items()}
            try:
                return self._train(trial, values, folder, folder / LAST)
            finally:
                (folder / CLAIM).unlink(missing_ok=True)
        trial = self.study.ask()
        values = {d.key: d.suggest(trial) for d in self.spec.dimensions}
        try:
            folder = new_run_folder(self.runs, self.spec.name, trial.number)
        except OSError as error:  # not left running for ever: it never started
            trial.set_user_attr("message", str(error))
            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        trial.set_user_attr("run", str(folder.resolve()))
        return self._train(trial, values, folder, None)

    def _claim_interrupted(self) -> tuple[Any, Path] | None:
        """A trial of this sweep left ``running`` by a stopped or vanished worker of this machine, with
        a checkpoint in its run folder, claimed by this worker alone (a file made exclusively)."""
        for frozen in self.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
            folder = Path(frozen.user_attrs.get("run", ""))
            manifest = Manifest.load(folder) if frozen.user_attrs.get("run") else None
            # completed or failed: its worker has finished it and is about to tell Optuna (claimed, it was told twice)
            if manifest is None or not (folder / LAST).is_file() \
                    or Run(folder, manifest).state.status not in ("stopped", "interrupted"):
                continue
            if _claim(folder / CLAIM):
                # Optuna's Trial for a trial made by another process; _trial_id is how its storage names it
                return optuna.trial.Trial(self.study, frozen._trial_id), folder
        return None

    def _train(self, trial: Any, values: dict[str, Any], folder: Path, resume: Path | None) -> Outcome:
        shown = ", ".join(f"{key.split('.', 1)[1]} {value:.4g}" if isinstance(value, float) else
                          f"{key.split('.', 1)[1]} {value}" for key, value in values.items())
        self.say(f"trial {trial.number}{' continues' if resume else ''}: {shown}")
        outcome = Outcome(trial.number, "failed", values, folder)
        pruning = _Pruning(trial, self.metric)
        try:
            design = apply(self.design, values)
            settings = default_settings(design, self.spec.overrides)
            self.trainer = pruning.trainer = make_trainer(design, settings, folder, resume, pruning)
            if self.stopping.is_set():  # stopped while the trial was being set up
                self.trainer.stop()
            finished = self.trainer.run()
        except (DesignError, TrainingError) as error:
            from cnnstudio.runs.recorder import record_failed_start

            record_failed_start(folder, to_dict(self.design), dict(self.design.training), str(error))
            finished = events.Finished("failed", 0, 0, None, message=str(error))
        finally:
            self.trainer = None
        self._finish(trial, finished, pruning, outcome)
        mark_run(folder, self.spec.name, trial.number, outcome.state == "pruned")
        self._report(outcome)
        if pruning.missing is not None:
            raise SweepError(f"the runs report no '{self.metric}'; their metrics are {', '.join(pruning.missing)} "
                             "(choose one with --metric)")
        return outcome

    def _finish(self, trial: Any, finished: events.Finished, pruning: _Pruning, outcome: Outcome) -> None:
        state = optuna.trial.TrialState
        if finished.status == "completed" and pruning.missing is None:
            outcome.value = best_value(read_metrics(outcome.folder), self.metric, self.study.direction.name == "MAXIMIZE")
        if outcome.value is not None:
            outcome.state = "complete"
            self.study.tell(trial, outcome.value)
        elif finished.status == "stopped" and pruning.pruned:
            outcome.state, outcome.message = "pruned", f"pruned after epoch {pruning.epoch}"
            self.study.tell(trial, state=state.PRUNED)
        elif finished.status == "stopped" and pruning.missing is None:
            outcome.state = "interrupted"  # left running: the next worker here continues it
        else:
            outcome.message = finished.message or f"the run reported no {self.metric}"
            trial.set_user_attr("message", outcome.message)
            self.study.tell(trial, state=state.FAIL)

    def _report(self, o: Outcome) -> None:
        if o.state == "complete":
            self.say(f"trial {o.number} complete: {self.metric} {o.value:.4g} (run {o.folder})")
        elif o.state == "pruned":
            self.say(f"trial {o.number} {o.message}: its {self.metric} was behind the other trials (run {o.folder})")
        elif o.state == "interrupted":
            self.say(f"trial {o.number} stopped with a checkpoint; it continues when this sweep starts again here")
        else:
            self.say(f"trial {o.number} failed: {o.message}")


class _Pruning:
    """Gives each epoch's metric to the trial, and stops the run when the pruner says so."""

    def __init__(self, trial: Any, metric: str):
        self.trial, self.metric = trial, metric
        self.trainer: Any = None
        self.pruned = False
        self.epoch = 0
        self.missing: list[str] | None = None  # the metrics a run reports, when not the sweep's

    def __call__(self, event: events.Event) -> None:
        if not isinstance(event, events.EpochMetrics):
            return
        record = event.record()
        value = record.get(self.metric)
        if not isinstance(value, (int, float)):
            self.missing = sorted(k for k, v in record.items() if isinstance(v, float) and k not in ("lr", "seconds"))
            self.trainer.stop()
            return
        self.epoch = event.epoch
        self.trial.report(float(value), event.epoch)
        if self.trial.should_prune():
            self.pruned = True
            self.trainer.stop()


def best_value(records: list[dict[str, Any]], metric: str, maximize: bool) -> float | None:
    values = [float(r[metric]) for r in records if isinstance(r.get(metric), (int, float))]
    return (max if maximize else min)(values) if values else None


def mark_run(folder: Path, sweep: str, number: int, pruned: bool) -> None:
    """The run's manifest names its sweep and trial (written after the run's own last write)."""
    manifest = Manifest.load(folder)
    if manifest is not None:
        manifest.sweep = {"name": sweep, "trial": number, "pruned": pruned}
        manifest.save(folder)


def _claim(path: Path) -> bool:
    """Linked into place whole (a link fails where the file exists), so one worker continues a
    trial; a claim whose process is gone is taken over."""
    mine = path.with_name(f"{path.name}.{os.getpid()}")
    mine.write_text(json.dumps(Owner.current().to_json()), encoding="utf-8")
    try:
        for _ in range(2):
            try:
                os.link(mine, path)
                return True
            except FileExistsError:
                try:
                    owner = Owner.from_json(json.loads(path.read_text(encoding="utf-8")))
                except (OSError, ValueError):
                    owner = None
                if owner is not None and owner.liveness() == "alive":
                    return False
                path.unlink(missing_ok=True)
        return False
    finally:
        mine.unlink(missing_ok=True)
