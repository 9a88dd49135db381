"""A sweep whose every trial trains on several GPUs: each trial is one ``torchrun ... cnnstudio train``.

``cnnstudio sweep`` trains each trial in its own process on one device. For trials too large for
one GPU, this script asks the sweep's storage for a trial (Optuna's ask-and-tell), writes the
design with the trial's values, trains it with torchrun into the trial's run folder, and tells the
storage its best epoch. It uses the same storage, KEYs and run folders as ``cnnstudio sweep``, so
``cnnstudio sweeps``, the Runs panel and the Sweep dock show its trials, and several machines (one
script each, with their own GPUs) share one sweep through PostgreSQL. No pruning: the epochs are
in torchrun's processes. See docs/experiments.md, "With torchrun".

    python sweep_torchrun.py big.json --param training.lr=float:1e-4:1e-1:log --trials 4 \\
        --nproc-per-node 4 --sweep big-lr --storage postgresql://sweeper:PASSWORD@dbhost:5432/sweeps
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import optuna

from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.runs import runs_dir
from cnnstudio.sweeps import storage as stores
from cnnstudio.sweeps.space import apply, parse_param
from cnnstudio.sweeps.worker import SweepSpec, best_value, default_name, mark_run, new_run_folder, open_study
from cnnstudio.training.listeners import read_metrics


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("design")
    parser.add_argument("--param", action="append", required=True, metavar="KEY=SPEC")
    parser.add_argument("--trials", type=int, required=True, help="trials this script runs, one after the other")
    parser.add_argument("--nproc-per-node", type=int, required=True, help="torchrun's processes (GPUs) per trial")
    parser.add_argument("--storage", help="the sweep's storage (default: sweeps.journal in the runs folder)")
    parser.add_argument("--sweep", help="the sweep's name (default: its KEYs)")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--data")
    parser.add_argument("--torchrun", default="torchrun --standalone", help="the launcher, before --nproc-per-node")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    design = load_design(args.design)
    dimensions = [parse_param(text, design) for text in args.param]
    overrides = {key: value for key, value in (("epochs", args.epochs), ("data", args.data)) if value is not None}
    spec = SweepSpec(args.sweep or default_name(dimensions), dimensions, pruner="none", overrides=overrides)
    runs = runs_dir(args.design, design.name)
    study = open_study(stores.open_storage(stores.where(args.storage, runs)), design, spec)
    metric, maximize = study.user_attrs["metric"], study.direction.name == "MAXIMIZE"
    flags = [part for key, value in overrides.items() for part in (f"--{key}", str(value))]
    for _ in range(args.trials):
        trial = study.ask()
        values = {d.key: d.suggest(trial) for d in dimensions}
        folder = new_run_folder(runs, spec.name, trial.number)
        trial.set_user_attr("run", str(folder.resolve()))
        with tempfile.TemporaryDirectory() as scratch:
            trial_design = Path(scratch) / Path(args.design).name
            save_design(apply(design, values), trial_design)
            job = subprocess.Popen([*shlex.split(args.torchrun), f"--nproc-per-node={args.nproc_per_node}",
                                    "-m", "cnnstudio", "train", str(trial_design), "--out", str(folder), *flags])
            try:
                code = job.wait()
            except KeyboardInterrupt:  # the terminal's Ctrl-C reached torchrun's processes too: let them write
                job.wait()             # their checkpoint; the trial stays running, for a sweep worker to continue
                print(f"stopped: trial {trial.number} keeps its checkpoint in {folder}; cnnstudio sweep with the "
                      "same --param and --sweep continues it", file=sys.stderr)
                return 130
        value = best_value(read_metrics(folder), metric, maximize) if code == 0 else None
        if value is None:
            trial.set_user_attr("message", f"torchrun ended with exit status {code}")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            study.tell(trial, value)
        mark_run(folder, spec.name, trial.number, pruned=False)
        print(f"trial {trial.number}: {values} -> {metric} {value} (run {folder})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
