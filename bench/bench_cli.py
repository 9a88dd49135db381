"""The command line and the engine against plain PyTorch, side by side in one run.

Run: ``.venv/bin/python bench/bench_cli.py`` (about three minutes on 2 cores). Every comparison
interleaves its two sides round by round, so load from other programs falls on both; the ratios
are what to read. Each part prints its goal.

1. A whole process: ``cnnstudio train`` of Figure 21 for one epoch on ../shared/data/mnist
   (start-up, data, training, validation, checkpoint) against bench/plain_mnist.py doing the same
   work with torch alone. Goal: the command takes no longer (ratio plain / command >= 1).
2. Training steps: the engine against a plain channels-last loop (bench/bench_training.py's
   measures). Goal >= 0.95.
3. Thread counts: training steps in a process beside a busy neighbour and beside an idle one (as
   the studio's window is beside its worker, drawing or not), with torch's default threads, with
   one core left free (threads.plan(reserve=1)) and with the studio worker's ThreadTuner, which
   measures both as it trains. Goal: the tuner within 0.9 of the better fixed count either way.
4. build_model against building the same modules by hand (Figure 21 and a ResNet-18-sized
   design), best of many interleaved builds: a design built again (goal <= 1.2), after a
   parameter edit (the analysis runs again) and the first build of a structure (the code is
   generated).
5. Design.add_node without ids on chains of 1,000 to 4,000 nodes. Goal: linear (4x the nodes,
   about 4x the time) and close to adding with ids.
6. ``python -X importtime`` totals of check, train and export, and whether torchvision loads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_training import MNIST, TEMPLATE  # noqa: E402

PYTHON = sys.executable


def clean_env(**extra: str) -> dict[str, str]:
    """The environment of a measured process: this checkout first, torch left to pick threads."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def timed(command: list[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, env=env or clean_env(), capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-2000:]}")
    return time.perf_counter() - start


def show(label: str, runs: list[float], unit: str = "s") -> str:
    return f"{label}: median {statistics.median(runs):.2f} {unit} (runs: {', '.join(f'{r:.2f}' for r in runs)})"


def whole_process(rounds: int) -> None:
    print(f"\n1. whole process, Figure 21, 1 epoch on {MNIST} (interleaved x{rounds})")
    if not MNIST.is_dir():
        print("   skipped: the MNIST copy is not on this machine")
        return
    command, plain = [], []
    with tempfile.TemporaryDirectory() as out:
        train = [PYTHON, "-m", "cnnstudio", "train", str(TEMPLATE), "--data", f"idx:{MNIST}", "--epochs", "1",
                 "--device", "cpu", "--out", out]
        script = [PYTHON, str(ROOT / "bench" / "plain_mnist.py"), str(MNIST)]
        for _ in range(rounds):
            plain.append(timed(script))
            command.append(timed(train))
    print("   " + show("cnnstudio train  ", command))
    print("   " + show("plain script     ", plain))
    ratio = statistics.median(plain) / statistics.median(command)
    print(f"   plain / cnnstudio train: {ratio:.2f} (goal >= 1: {'met' if ratio >= 1 else 'NOT met'})")


def training_steps(rounds: int) -> None:
    from bench_training import data_spec, engine_rate, plain_data, plain_rate
    from cnnstudio.training import threads

    print(f"\n2. training steps, engine vs plain channels-last loop (8,000 images, interleaved x{rounds}, "
          f"{threads.configure()} thread(s) as cnnstudio train sets)")
    spec = data_spec()
    images, labels = plain_data(spec)
    engine, plain = [], []
    for _ in range(rounds):
        plain.append(plain_rate(images, labels, channels_last=True))
        engine.append(engine_rate(spec)[0])
    print("   " + show("engine          ", engine, "images/s"))
    print("   " + show("plain, ch. last ", plain, "images/s"))
    ratio = statistics.median(engine) / statistics.median(plain)
    print(f"   engine / plain: {ratio:.2f} (goal >= 0.95: {'met' if ratio >= 0.95 else 'NOT met'})")


STEPS_CHILD = """
import sys
sys.path.insert(0, {bench!r})
import torch
from cnnstudio.training import threads
from cnnstudio.training.thread_tuner import ThreadTuner
tuner = None
if {mode!r} == "planned":
    threads.configure(reserve=1)
elif {mode!r} == "tuned":
    tuner = ThreadTuner((threads.plan(), threads.plan(reserve=1)), threads.set_count)  # as the worker
from bench_training import data_spec, engine_rate
rate = engine_rate(data_spec(), epochs=3, step_rate=20.0, listener=tuner)[0]
print(tuner.chosen if tuner else torch.get_num_threads(), rate)
"""
MODES = {"default": "torch's default", "planned": "one core left free", "tuned": "the worker's tuner"}


def thread_counts(rounds: int) -> None:
    from cnnstudio.training import threads

    print(f"\n3. threads: training steps (3 epochs) beside a busy neighbour process and beside an idle one: "
          f"torch's default, one core left free (threads.plan(reserve=1)) and the studio worker's "
          f"ThreadTuner ({threads.usable_cores()} usable core(s); interleaved x{rounds})")
    for busy in (True, False):
        results: dict[str, list[float]] = {mode: [] for mode in MODES}
        counts: dict[str, set[str]] = {mode: set() for mode in MODES}
        for _ in range(rounds):
            for mode in MODES:
                neighbour = subprocess.Popen([PYTHON, "-c", "while True: pass" if busy else "import time; time.sleep(3600)"])
                try:
                    code = STEPS_CHILD.format(bench=str(ROOT / "bench"), mode=mode)
                    out = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=clean_env(), capture_output=True,
                                         text=True, check=True).stdout.split()
                finally:
                    neighbour.kill()
                    neighbour.wait()
                counts[mode].add(out[-2])
                results[mode].append(float(out[-1]))
        print(f"   beside {'a busy' if busy else 'an idle'} neighbour:")
        for mode, label in MODES.items():
            print("     " + show(f"{label}, {'/'.join(sorted(counts[mode]))} thread(s) at the end", results[mode], "images/s"))
        best = max(statistics.median(results["default"]), statistics.median(results["planned"]))
        ratio = statistics.median(results["tuned"]) / best
        print(f"     tuned / the better fixed count: {ratio:.2f} (goal >= 0.9)")


def best_of(functions: dict[str, Callable[[], object]], rounds: int) -> dict[str, float]:
    best = {name: float("inf") for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


def build_vs_hand(rounds: int) -> None:
    from torch import nn

    from cnnstudio.core import catalogue, compiler
    from cnnstudio.core.analysis import analyze
    from cnnstudio.core.catalogue import Ctx
    from cnnstudio.core.designfile import load_design
    from designs import resnet18_sized

    def figure21_by_hand() -> nn.Module:
        return nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Conv2d(6, 12, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(12, 12, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(108, 256), nn.ReLU(), nn.Linear(256, 10), nn.Softmax(1))

    def modules_of(design):
        """The design's modules, each built as its layer builds it, in a plain nn.Sequential."""
        analysis = analyze(design)
        plan = [(design.node(n), [analysis.nodes[s].shape for s in design.inputs_of(n)], design.inputs_of(n))
                for n in analysis.order if n not in analysis.inputs]
        return lambda: nn.Sequential(*(catalogue.get(node.type).build(Ctx(shapes, node.params, sources))
                                       for node, shapes, sources in plan))

    def first_build(design):
        """A build that finds nothing kept: a structure never built before."""
        def build():
            compiler._plans.clear()
            compiler._structures.clear()
            return compiler.build_model(design)
        return build

    def after_edit(design):
        """A build after a parameter edit: the analysis runs again, the structure's code is kept."""
        def build():
            compiler._plans.clear()
            return compiler.build_model(design)
        return build

    print(f"\n4. build_model vs the same modules built by hand (best of {rounds} interleaved builds)")
    figure21, resnet = load_design(TEMPLATE), resnet18_sized((3, 224, 224), 1000)
    cases = [("Figure 21", figure21, figure21_by_hand, rounds), ("ResNet-18-sized", resnet, modules_of(resnet),
                                                                 max(3, rounds // 20))]
    for label, design, by_hand, count in cases:
        best = best_of({"again": lambda design=design: compiler.build_model(design), "after an edit": after_edit(design),
                        "first": first_build(design), "by hand": by_hand}, count)
        for kind in ("again", "after an edit", "first"):
            ratio = best[kind] / best["by hand"]
            goal = f" (goal <= 1.2: {'met' if ratio <= 1.2 else 'NOT met'})" if kind == "again" else ""
            print(f"   {label:<16} {kind:<14} build_model {best[kind] * 1000:7.2f} ms, by hand "
                  f"{best['by hand'] * 1000:7.2f} ms: {ratio:.2f}x{goal}")


def add_node_scaling() -> None:
    from cnnstudio.core.design import Design

    def chain(count: int, ids: bool) -> float:
        design, previous = Design(), None
        start = time.perf_counter()
        for i in range(count):
            node = design.add_node("ReLU", node_id=f"r{i}" if ids else None)
            if previous is not None:
                design.connect(previous, node.id)
            previous = node.id
        return time.perf_counter() - start

    print("\n5. Design.add_node chains: automatic ids vs given ids (best of 3)")
    times = {}
    for count in (1000, 2000, 4000):
        auto, given = (min(chain(count, ids) for _ in range(3)) for ids in (False, True))
        times[count] = auto
        print(f"   {count:>5} nodes: automatic ids {auto * 1000:6.1f} ms, given ids {given * 1000:6.1f} ms ({auto / given:.2f}x)")
    growth = times[4000] / times[1000]
    print(f"   4,000 / 1,000 nodes: {growth:.1f}x the time (goal: about 4, linear)")


def import_totals(out: str) -> None:
    """Microseconds of every import a command makes, from ``-X importtime``, as it really runs."""
    from bench_training import data_spec

    commands = {
        "check": ["check", str(TEMPLATE)],
        "train": ["train", str(TEMPLATE), "--data", data_spec(), "--epochs", "1", "--device", "cpu", "--out", out],
        "export": ["export", str(TEMPLATE), "--format", "code", "-o", str(Path(out) / "model.py")],
    }
    print("\n6. python -X importtime totals (every import a command makes while it runs)")
    torch_only = _import_total([PYTHON, "-X", "importtime", "-c", "import torch"])[0]
    print(f"   {'import torch alone':<20} {torch_only:6.2f} s")
    if MNIST.is_dir():
        plain = _import_total([PYTHON, "-X", "importtime", str(ROOT / "bench" / "plain_mnist.py"), str(MNIST)])[0]
        print(f"   {'plain_mnist.py':<20} {plain:6.2f} s (the plain script of part 1: torch, and what its first step loads)")
    for name, args in commands.items():
        total, modules = _import_total([PYTHON, "-X", "importtime", "-m", "cnnstudio", *args])
        loaded = ", ".join(m for m in ("torch", "torchvision", "PySide6") if m in modules) or "none of torch, torchvision, Qt"
        print(f"   cnnstudio {name:<10} {total:6.2f} s (loads {loaded})")


def _import_total(command: list[str], env: dict[str, str] | None = None) -> tuple[float, set[str]]:
    result = subprocess.run(command, cwd=ROOT, env=env or clean_env(), capture_output=True, text=True)
    total, modules = 0, set()
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        modules.add(name.strip().split(".")[0])
        if not name.startswith("  "):  # a top-level import: its cumulative time holds its children
            total += int(cumulative)
    return total / 1e6, modules


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of each comparison")
    parser.add_argument("--only", type=int, nargs="*", help="run only these parts (1-6)")
    args = parser.parse_args()
    import torch

    print(f"torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    parts: list[Callable[[], None]] = [
        lambda: whole_process(args.rounds), lambda: training_steps(args.rounds), lambda: thread_counts(args.rounds),
        lambda: build_vs_hand(200), add_node_scaling,
    ]
    with tempfile.TemporaryDirectory() as out:
        parts.append(lambda: import_totals(out))
        for number, part in enumerate(parts, 1):
            if not args.only or number in args.only:
                part()


if __name__ == "__main__":
    main()
