"""``cnnstudio stylize DESIGN --content A.png --style B.png -o OUT.png``: Gatys style transfer.

Ctrl-C stops after the current step and still writes the image made so far (exit status 130).
Exit status: 0 written, 1 failed (the message says why), 2 unreadable design, 130 stopped.
"""

from __future__ import annotations

import argparse
import sys

from cnnstudio.commands import synthesis_options as common


def _ids(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def configure(parser: argparse.ArgumentParser) -> None:
    from cnnstudio.training.synthesis.style import PAPER_CONTENT, PAPER_STYLE

    common.add_network_options(parser)
    parser.add_argument("--content", required=True, help="the image whose content is kept")
    parser.add_argument("--style", required=True, help="the image whose style is taken")
    parser.add_argument("-o", "--output", required=True, help="the result, a .png file")
    parser.add_argument("--content-layers", type=_ids, default=PAPER_CONTENT, metavar="IDS",
                        help=f"node ids, comma-separated (default: {','.join(PAPER_CONTENT)}, as in the paper)")
    parser.add_argument("--style-layers", type=_ids, default=PAPER_STYLE, metavar="IDS",
                        help=f"node ids, comma-separated (default: {','.join(PAPER_STYLE)}, as in the paper)")
    parser.add_argument("--style-weight", type=float, default=100.0,
                        help="style over content (default 100; the losses are relative errors, so this is a ratio)")
    parser.add_argument("--content-weight", type=float, default=1.0, help="0 makes the style alone")
    parser.add_argument("--steps", type=int, default=300, help="evaluations of the losses (default 300)")
    parser.add_argument("--size", type=int, default=256, help="longest side of the result in pixels (default 256)")
    parser.add_argument("--optimizer", choices=("lbfgs", "adam"), default="lbfgs", help="lbfgs (default, as in the paper) or adam")
    parser.add_argument("--lr", type=float, default=0.02, help="Adam's learning rate (default 0.02)")
    parser.add_argument("--init", choices=("content", "noise"), default="content",
                        help="start from the content image (default) or from noise, as the paper does")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.commands.signals import StopOnSignals
    from cnnstudio.core.designfile import DesignFileError
    from cnnstudio.training.control import RunControl
    from cnnstudio.training.synthesis.images import read_image, write_png
    from cnnstudio.training.synthesis.style import StyleSettings, StyleTransfer

    control = RunControl()
    try:
        settings = StyleSettings(args.content_layers, args.style_layers, args.content_weight, args.style_weight,
                                 args.steps, args.size, args.optimizer, args.lr, args.init)
        content, style = read_image(args.content), read_image(args.style)
        if not args.output.lower().endswith(".png"):
            raise common.SynthesisError(f"{args.output}: the result is written as PNG; name it with .png")
        transfer = StyleTransfer(common.load(args, "stylize"), content, style, settings, control)
        with StopOnSignals(control, "stopping: writing what is made so far"):
            result = transfer.run(common.ProgressLine("stylize"))
        write_png(result.image, args.output)
    except (common.SynthesisError, DesignFileError) as error:
        return common.fail("stylize", error)
    first, last = result.first, result.last
    print(f"wrote {args.output} after {result.steps} steps: style loss {first['style']:.4g} -> {last['style']:.4g}, "
          f"content loss {last['content']:.4g}" + (" (stopped)" if result.stopped else ""), file=sys.stderr)
    return common.EXIT_STOPPED if result.stopped else common.EXIT_OK
