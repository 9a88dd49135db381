"""``cnnstudio export DESIGN --format F [--weights CKPT] -o PATH``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cnnstudio.core.compiler import CompileError
from cnnstudio.core.designfile import DesignFileError, load_design

EXIT_OK, EXIT_FAILED = 0, 1


def configure(parser: argparse.ArgumentParser) -> None:
    from cnnstudio.export import FORMATS

    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--format", "-f", choices=list(FORMATS), default="code", help="what to write (default: code)")
    parser.add_argument("--weights", type=Path, help="trained weights: a checkpoint, state dict or .safetensors")
    parser.add_argument("-o", "--output", type=Path, help="output file (default: the design's name + the format's suffix)")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.export import FORMATS, ExportError, export_design
    from cnnstudio.export.code import CodeExportError
    from cnnstudio.core.weights import WeightsError

    try:
        design = load_design(args.design)
        target = args.output or Path(args.design).with_suffix(FORMATS[args.format])
        report = export_design(design, args.format, target, args.weights)
    except (DesignFileError, CompileError, ExportError, CodeExportError, WeightsError) as error:
        print(f"cnnstudio export: {error}", file=sys.stderr)
        return EXIT_FAILED
    if report:
        print(report.summary())
    print(f"wrote {target}")
    return EXIT_OK
