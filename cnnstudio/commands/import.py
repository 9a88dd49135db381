"""``cnnstudio import SOURCE -o DESIGN.json [--weights W] [--input CxHxW]``.

Exit status: 0 imported, 1 the model or its weights could not be imported.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED = 0, 1


def parse_shape(text: str) -> tuple[int, ...]:
    parts = re.split(r"[x,×]", text.strip())
    if not (1 <= len(parts) <= 4 and all(p.isdigit() and int(p) > 0 for p in parts)):
        raise argparse.ArgumentTypeError(f"'{text}' is not a shape like 3x224x224 (channels first, no batch)")
    return tuple(int(p) for p in parts)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("source", help="torchvision:NAME, timm:NAME, module:PACKAGE.MODULE:CALLABLE, FILE.onnx or FILE.pt2")
    parser.add_argument("-o", "--output", type=Path, required=True, help="the design file to write (.json)")
    parser.add_argument("--weights", help="a state dict (.pt/.pth/.safetensors), or DEFAULT for pretrained weights (online)")
    parser.add_argument("--input", type=parse_shape, action="append", metavar="CxHxW",
                        help="input shape, channels first without the batch (once per input)")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.core.analysis import analyze
    from cnnstudio.core.designfile import DesignFileError
    from cnnstudio.core.weights import WeightsError
    from cnnstudio.importers import import_model, save_import
    from cnnstudio.importers.graph import ImportFailed

    try:
        imported = import_model(args.source, args.input, args.weights)
        weights_path = save_import(imported, args.output)
    except (ImportFailed, WeightsError, DesignFileError, OSError) as error:
        print(f"cnnstudio import: {error}", file=sys.stderr)
        return EXIT_FAILED
    analysis = analyze(imported.design)
    if imported.weights_report:
        print(imported.weights_report)
    opaque = imported.opaque
    print(f"{imported.design.name}: {len(imported.design)} nodes, {analysis.total_params:,} parameters, "
          f"{len(opaque)} opaque node(s){': ' + ', '.join(opaque[:8]) + (' ...' if len(opaque) > 8 else '') if opaque else ''}")
    print(f"wrote {args.output} and {weights_path}")
    return EXIT_OK
