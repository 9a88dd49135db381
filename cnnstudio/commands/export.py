"""``cnnstudio export DESIGN --format F [--run NAME|latest|best | --weights CKPT | --random-weights] -o PATH``.

Trained weights by default: without ``--weights``, the best checkpoint of the best completed run by
the task's main metric (see :func:`cnnstudio.runs.store.default_run`), saying which; ``--run latest``
takes the newest run; ``--random-weights`` exports freshly initialised ones.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnstudio.core.compiler import CompileError
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import DesignFileError, load_design

EXIT_OK, EXIT_FAILED = 0, 1


def configure(parser: argparse.ArgumentParser) -> None:
    from cnnstudio.export import FORMATS

    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--format", "-f", choices=list(FORMATS), default="code", help="what to write (default: code)")
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--run", help="take the weights of this run: its name, latest or best "
                        "(default: the best completed run's best checkpoint, when the design has runs)")
    chosen.add_argument("--weights", type=Path, help="trained weights: a checkpoint, state dict or .safetensors")
    chosen.add_argument("--random-weights", action="store_true", help="export freshly initialised (random) weights")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: the design's name + the format's suffix)")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.core.weights import WeightsError
    from cnnstudio.export import FORMATS, ExportError, export_design, stale_weights
    from cnnstudio.export.code import CodeExportError
    from cnnstudio.runs import RunError

    try:
        design = load_design(args.design)
        target = args.output or Path(args.design).with_suffix(FORMATS[args.format])
        weights = args.weights or (None if args.random_weights else default_weights(args.design, design, args.run))
        stale = args.format == "code" and not weights and stale_weights(target) != target and stale_weights(target).is_file()
        report = export_design(design, args.format, target, weights)
    except (DesignFileError, CompileError, ExportError, CodeExportError, WeightsError, RunError) as error:
        print(f"cnnstudio export: {error}", file=sys.stderr)
        return EXIT_FAILED
    if report:
        print(report.summary())
    print(f"wrote {target}")
    if stale:
        print(f"removed the old {stale_weights(target).name} beside it: the new script would have loaded it "
              "instead of its random weights")
    return EXIT_OK


def default_weights(design_path: str, design: Design, which: str | None) -> Path | str | None:
    """The checkpoint of run ``which`` (default: the best completed run, if any), else the design's
    own weights file, else none (random); said on stderr."""
    from cnnstudio.runs import RunError, list_runs, pick_run, runs_dir

    folder = runs_dir(design_path, design.name)
    if which is None and all(run.damaged for run in list_runs(folder)):
        if design.weights:
            print(f"no runs: exporting the design's own weights ({design.weights})", file=sys.stderr)
            return design.weights
        print("no runs: exporting freshly initialised (random) weights", file=sys.stderr)
        return None
    run = pick_run(folder, which)
    weights = run.weights("best")
    if weights is None:
        raise RunError(f"the run {run.name} has no checkpoint")
    from cnnstudio.runs.store import why_default

    why = f", {why_default(run)}" if which is None else ""
    print(f"weights: run {run.name}, {run.best_text()}{why} ({weights})", file=sys.stderr)
    return weights
