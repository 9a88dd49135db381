"""``cnnstudio import SOURCE -o DESIGN.json [--weights W] [--input CxHxW] [--allow-unverified] [--tracer fx|export]``.

Every import is verified before anything is written: the design, compiled with the imported
weights, must compute the model's outputs. One that does not is refused with a sentence naming the
first node that differs, unless ``--allow-unverified`` writes it with those nodes marked. A model
torch.fx cannot read is read by torch.export, and the other way round (``--tracer`` picks the first).
Exit status: 0 imported (the report says whether it was verified), 1 the model or its weights
could not be imported.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED = 0, 1


def _shape(text: str) -> tuple[int, ...]:
    from cnnstudio.importers import parse_shape

    try:
        return parse_shape(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="torchvision:NAME, timm:NAME, module:PACKAGE.MODULE:CALLABLE, FILE.onnx or FILE.pt2")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the design file to write (.json)")
    parser.add_argument("--weights", help="a state dict (.pt/.pth/.safetensors), or DEFAULT for pretrained weights (online)")
    parser.add_argument("--input", type=_shape, action="append", metavar="CxHxW",
                        help="input shape, channels first without the batch (once per input)")
    parser.add_argument("--allow-unverified", action="store_true",
                        help="write a design that does not compute exactly what the model does, its differing nodes "
                             "marked 'unverified' (shown by check and on their cards), instead of refusing it")
    parser.add_argument("--tracer", choices=("fx", "export"), default="fx",
                        help="what reads the model's graph first: torch.fx (keeps its blocks; the default) or "
                             "torch.export (follows branches on sizes); the other is tried when it fails")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.core.designfile import DesignFileError
    from cnnstudio.core.weights import WeightsError
    from cnnstudio.importers import import_model, save_import
    from cnnstudio.importers.graph import ImportFailed

    try:
        imported = import_model(args.source, args.input, args.weights, args.allow_unverified, args.tracer)
        weights_path = save_import(imported, args.output)
    except (ImportFailed, WeightsError, DesignFileError, OSError) as error:
        print(f"cnnstudio import: {error}", file=sys.stderr)
        return EXIT_FAILED
    for report in (imported.weights_report, imported.note):
        if report:
            print(report)
    print(imported.report())
    print(f"wrote {args.output} and {weights_path}")
    return EXIT_OK
