"""``cnnstudio sweep``: what ``--jobs`` gains, and what pruning saves, side by side.

Run: ``.venv/bin/python bench/bench_sweep.py [--rounds R] [--count N] [--part 1|2]`` (the README's
figures: ``--part 1 --count 512`` and ``--part 2 --count 1024``; each some minutes on 2 busy cores). Each sweep is a real ``cnnstudio sweep`` process on Figure 21
(resources/templates/figure21.json) with small synthetic data, in a fresh folder.

1. Parallel trials: 8 one-epoch trials with ``--jobs 1`` and with ``--jobs 2``, interleaved round by
   round so that load from other programs falls on both; trials per minute side by side (the
   whole command: start-up, every trial's data, training and validation). Goal: jobs 2 >= 1.0x
   jobs 1 on 2 cores, >= 1.6x on 4 or more.
2. Pruning: a grid of 8 learning rates, half of them too large to learn (Adam at 1 and above ends
   at chance), 3 epochs each, with the median pruner and without. Goals: >= 30% of the epochs
   saved, and the same best trial (the same learning rate and value).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = ROOT / "resources" / "templates" / "figure21.json"
GOOD = [0.002, 0.003, 0.005, 0.008]
EPOCHS = 3
DIVERGING = [2.0, 4.0, 8.0, 16.0]


def design_in(folder: Path, count: int) -> Path:
    """Figure 21 with a small synthetic set, on the CPU, with a constant learning rate."""
    data = json.loads(TEMPLATE.read_text(encoding="utf-8"))
    data["training"] = {**data["training"], "data_options": {"count": count}, "device": "cpu", "schedule": "none"}
    path = folder / "figure21.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def sweep(design: Path, *args: str) -> float:
    """Seconds a whole ``cnnstudio sweep`` command takes."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    began = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "cnnstudio", "sweep", str(design), *args], env=env,
                            capture_output=True, text=True, cwd=design.parent)
    if result.returncode != 0:
        raise SystemExit(f"cnnstudio sweep {' '.join(args)} failed:\n{result.stderr}")
    return time.perf_counter() - began


def listing(design: Path, name: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run([sys.executable, "-m", "cnnstudio", "sweeps", str(design), "--json"], env=env,
                         capture_output=True, text=True, check=True).stdout
    return next(s for s in json.loads(out)["sweeps"] if s["name"] == name)


def parallel(rounds: int, count: int) -> None:
    rates: dict[int, list[float]] = {1: [], 2: []}
    for index in range(rounds):
        for jobs in (1, 2) if index % 2 == 0 else (2, 1):
            with tempfile.TemporaryDirectory() as folder:
                design = design_in(Path(folder), count)
                seconds = sweep(design, "--param", "training.lr=float:0.0005:0.005:log", "--trials", "8",
                                "--epochs", "1", "--jobs", str(jobs), "--sampler", "random", "--seed", str(index))
                rates[jobs].append(8 / seconds * 60)
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(f"1. 8 one-epoch trials of Figure 21 ({count} synthetic images), median of {rounds} interleaved rounds, "
          f"{cores} cores:")
    print(f"   --jobs 1: {one:.1f} trials/min   --jobs 2: {two:.1f} trials/min   ratio {two / one:.2f}x "
          f"(goal >= {'1.0' if (cores or 1) <= 2 else '1.6'}x)")


def pruning(count: int) -> None:
    choices = ",".join(str(v) for v in [*GOOD, *DIVERGING])
    found = {}
    for pruner in ("median", "none"):
        with tempfile.TemporaryDirectory() as folder:
            design = design_in(Path(folder), count)
            seconds = sweep(design, "--param", f"training.lr=choice:{choices}", "--trials", "8", "--epochs", str(EPOCHS),
                            "--sampler", "grid", "--seed", "0", "--pruner", pruner, "--sweep", "lr")
            result = listing(design, "lr")
            epochs = sum(json.loads(Path(t["run"], "run.json").read_text())["epochs"] for t in result["trials"])
            found[pruner] = (epochs, result, seconds)
    (pruned_epochs, with_pruning, s1), (all_epochs, without, s2) = found["median"], found["none"]
    states = [t["state"] for t in with_pruning["trials"]]
    saved = 1 - pruned_epochs / all_epochs
    same = (with_pruning["best"]["params"], with_pruning["best"]["value"]) == (without["best"]["params"], without["best"]["value"])
    print(f"2. 8 learning rates of Figure 21, half diverging ({', '.join(map(str, DIVERGING))}), {EPOCHS} epochs each:")
    print(f"   median pruner: {pruned_epochs} epochs ({states.count('pruned')} pruned, {s1:.0f} s); "
          f"no pruner: {all_epochs} epochs ({s2:.0f} s); {saved:.0%} of the epochs saved (goal >= 30%)")
    print(f"   best trial: lr {with_pruning['best']['params']['training.lr']} "
          f"({with_pruning['best']['value']:.4f}) with pruning, lr {without['best']['params']['training.lr']} "
          f"({without['best']['value']:.4f}) without: {'the same' if same else 'DIFFERENT'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds of part 1")
    parser.add_argument("--count", type=int, default=2048, help="synthetic images per trial")
    parser.add_argument("--part", choices=("1", "2", "all"), default="all")
    args = parser.parse_args()
    if args.part in ("1", "all"):
        parallel(args.rounds, args.count)
    if args.part in ("2", "all"):
        pruning(args.count)


if __name__ == "__main__":
    main()
