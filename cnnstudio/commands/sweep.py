"""``cnnstudio sweep DESIGN --param KEY=SPEC ... --trials N``: train a design many times with other
values of its layer parameters or training settings, chosen by Optuna (:mod:`cnnstudio.sweeps`).

This process is one worker: it runs ``--trials N`` trials of the sweep. The same command started
again (here or on another machine sharing ``--storage``) adds workers to the same sweep. ``--jobs K``
starts K worker processes here (no more than the cores), each with its share of the trials and of
the CPU cores, and one GPU each in turn where there are GPUs (:mod:`cnnstudio.sweeps.jobs`).

Exit status: 0 this worker ran its trials (failed and pruned ones included: the sweep goes on), 1 the
sweep could not go on (its storage failed, the runs report no such metric), 2 unreadable design or
refused input (before any trial), 130 stopped (the running trials keep checkpoints and continue when
the sweep starts again).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from typing import TYPE_CHECKING, Any

from cnnstudio.commands.signals import StopAndForward, StopOnSignals
from cnnstudio.core.atomic import WriteFailed
from cnnstudio.core.designfile import DesignFileError, load_design

if TYPE_CHECKING:
    from cnnstudio.sweeps.worker import Worker

EXIT_DONE, EXIT_FAILED, EXIT_REFUSED, EXIT_STOPPED = 0, 1, 2, 130


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--param", action="append", default=[], metavar="KEY=SPEC", required=True,
                        help="what varies: KEY is training.SETTING, nodes.ID.PARAM or groups.ID.repeat; SPEC is "
                        "float:LOW:HIGH[:log], int:LOW:HIGH[:STEP] or choice:A,B,C (repeat for each)")
    parser.add_argument("--trials", type=_positive, required=True, metavar="N", help="trials this worker runs")
    parser.add_argument("--jobs", type=_positive, default=1, metavar="K",
                        help="trials at once on this machine, sharing its cores (or one GPU each)")
    parser.add_argument("--storage", metavar="URL", help="where the sweep lives: sqlite:///PATH, postgresql://..., "
                        "mysql://... or a journal file (default: sweeps.journal in the design's runs folder)")
    parser.add_argument("--sweep", metavar="NAME", help="the sweep's name (default: its KEYs); the same name joins it")
    parser.add_argument("--data", metavar="SOURCE", help="data source of every trial")
    parser.add_argument("--epochs", type=_positive, metavar="E", help="epochs of every trial")
    parser.add_argument("--metric", metavar="NAME", help="the validation metric to optimize (default: the task's main one)")
    parser.add_argument("--direction", choices=("maximize", "minimize"), help="default: what the metric wants")
    parser.add_argument("--sampler", choices=("tpe", "random", "grid"), default="tpe")
    parser.add_argument("--pruner", choices=("median", "hyperband", "none"), default="median")
    parser.add_argument("--seed", type=int, help="the sampler's seed (the same seed draws the same values)")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run(args: argparse.Namespace) -> int:
    import optuna

    from cnnstudio.runs import runs_dir
    from cnnstudio.sweeps import storage as stores
    from cnnstudio.sweeps.space import SweepError, parse_param
    from cnnstudio.sweeps.worker import SweepSpec, Worker, default_name, open_study
    from cnnstudio.training.errors import TrainingError

    optuna.logging.set_verbosity(optuna.logging.WARNING)  # each trial gets our own line
    if int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        return _say("a sweep worker trains each trial on one device and does not run under torchrun; start it "
                    "without torchrun (--jobs K runs K trials at once; see docs/experiments.md)", EXIT_REFUSED)
    try:
        design = load_design(args.design)
    except DesignFileError as error:
        return _say(str(error), EXIT_REFUSED)
    try:
        dimensions = [parse_param(text, design) for text in args.param]
        if len({d.key for d in dimensions}) != len(dimensions):
            raise SweepError("a KEY is given by two --param")
        overrides = {key: value for key, value in (("data", args.data), ("epochs", args.epochs)) if value is not None}
        spec = SweepSpec(args.sweep or default_name(dimensions), dimensions, args.metric, args.direction,
                         args.sampler, args.pruner, args.seed, overrides)
        runs = runs_dir(args.design, design.name)
        place = stores.where(args.storage, runs)
        study = open_study(stores.open_storage(place), design, spec)
    except (SweepError, TrainingError) as error:
        return _say(str(error), EXIT_REFUSED)
    print(f"sweep '{spec.name}' in {place.text}: {args.trials} trial(s) on {args.jobs} job(s), "
          f"{study.user_attrs['metric']} to {study.direction.name.lower()}", file=sys.stderr)
    worker = Worker(study, design, spec, runs, lambda line: print(line, file=sys.stderr))
    if args.jobs > 1:
        status = _run_jobs(args, spec.name, _devices(design, spec), worker)
    else:
        from cnnstudio.training import threads

        threads.configure(processes=int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
        with StopOnSignals(worker, STOPPING):
            status = _work(worker, args.trials)
    if status == EXIT_STOPPED:
        print("stopped: start the same command again to continue the sweep", file=sys.stderr)
    elif status == EXIT_DONE:
        _print_best(study)
    return status


STOPPING = "stopping the sweep: the running trial writes a checkpoint"


def _work(worker: "Worker", trials: int) -> int:
    """This process's ``trials`` trials, as an exit status."""
    from cnnstudio.sweeps.space import SweepError

    try:
        outcomes = worker.run(trials)
    except (SweepError, WriteFailed) as error:  # no such metric; a run folder that cannot be made
        return _say(str(error), EXIT_FAILED)
    except Exception as error:  # a storage gone mid-sweep (a database server restarted): a sentence
        if os.environ.get("CNNSTUDIO_DEBUG") or not type(error).__module__.startswith(("optuna", "sqlalchemy")):
            raise
        return _say(f"the sweep's storage failed: {error}", EXIT_FAILED)
    if worker.stopping.is_set() or any(o.state == "interrupted" for o in outcomes):
        return EXIT_STOPPED
    return EXIT_DONE


def _say(message: str, status: int) -> int:
    print(f"cnnstudio sweep: {message}", file=sys.stderr)
    return status


def _print_best(study: Any) -> None:
    from cnnstudio.sweeps.listing import describe

    best = describe(study, "")["best"]
    if best:
        shown = ", ".join(f"{k} {v}" for k, v in best["params"].items())
        print(f"best so far: trial {best['number']} ({shown}): {study.user_attrs['metric']} {best['value']:.4g}, "
              f"run {best['run']}", file=sys.stderr)


def _run_jobs(args: argparse.Namespace, name: str, devices: list[str], worker: "Worker") -> int:
    """The workers of :func:`cnnstudio.sweeps.jobs.plan_jobs`: the first is ``worker``, in this
    process, the others ``cnnstudio sweep`` processes, each with its trials, its threads
    (``OMP_NUM_THREADS``; the user's own value wins) and, where the trials' ``devices`` allow it,
    one GPU (``CUDA_VISIBLE_DEVICES``; this process's "cuda" is already the first it may use)."""
    from cnnstudio.sweeps.jobs import plan_jobs, shares_gpus, visible_gpus
    from cnnstudio.training import threads

    gpus = visible_gpus(_gpu_count(), os.environ) if shares_gpus(devices) else []
    jobs = plan_jobs(args.jobs, args.trials, threads.usable_cores(), gpus)
    on = f", GPU {', '.join(j.gpu for j in jobs)} in turn" if gpus else ""
    print(f"{len(jobs)} worker process(es) at once, {jobs[0].threads} thread(s) each{on}", file=sys.stderr)
    procs = []
    for job in jobs[1:]:
        env = dict(os.environ)
        env.setdefault("OMP_NUM_THREADS", str(job.threads))
        if job.gpu is not None:
            env["CUDA_VISIBLE_DEVICES"] = job.gpu
        procs.append(subprocess.Popen([sys.executable, "-m", "cnnstudio", "sweep", *_worker_args(args, name, job.trials)],
                                      env=env))
    threads.set_count(threads.plan(cores=jobs[0].threads))
    with StopAndForward(worker, STOPPING, procs):
        codes = [_work(worker, jobs[0].trials), *(proc.wait() for proc in procs)]
    if EXIT_STOPPED in codes or any(code < 0 for code in codes):
        return EXIT_STOPPED
    return max(codes)


def _worker_args(args: argparse.Namespace, name: str, trials: int) -> list[str]:
    argv = [args.design, *(f"--param={p}" for p in args.param), "--trials", str(trials), "--sweep", name,
            "--sampler", args.sampler, "--pruner", args.pruner]
    for flag in ("storage", "data", "epochs", "metric", "direction", "seed"):
        value = getattr(args, flag)
        if value is not None:
            argv += [f"--{flag}", str(value)]
    return argv


def _devices(design: Any, spec: Any) -> list[str]:
    """The devices the trials train on: the design's, or every choice of a swept ``training.device``."""
    from cnnstudio.training.defaults import default_settings

    swept = [d for d in spec.dimensions if d.key == "training.device"]
    return [str(c) for c in swept[0].choices] if swept else [default_settings(design, spec.overrides).device]


def _gpu_count() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0
