"""``cnnstudio visualize DESIGN --layer ID [--channels 0,3,5] -o grid.png``: what each filter looks for.

One image per channel of the layer (a convolution's filters, or a Linear layer's class logits),
each the image that most excites that channel, laid out in a grid. Ctrl-C stops and writes what
was made so far (exit status 130).
"""

from __future__ import annotations

import argparse
import sys

from cnnstudio.commands import synthesis_options as common


def _channels(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.replace(",", " ").split())
    except ValueError:
        raise argparse.ArgumentTypeError(f"channels are whole numbers separated by commas, not '{text}'") from None


def configure(parser: argparse.ArgumentParser) -> None:
    common.add_network_options(parser)
    parser.add_argument("--layer", required=True, help="the node id whose channels are shown")
    parser.add_argument("--channels", type=_channels, help="which channels, comma-separated (default: all, up to 64)")
    parser.add_argument("-o", "--output", required=True, help="the grid, a .png file")
    parser.add_argument("--steps", type=int, default=256, help="optimisation steps per image (default 256)")
    parser.add_argument("--size", type=int, help="side of each image in pixels (default: the design's Input)")
    parser.add_argument("--lr", type=float, default=0.05, help="Adam's learning rate (default 0.05)")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.commands.signals import StopOnSignals
    from cnnstudio.core.designfile import DesignFileError
    from cnnstudio.training.control import RunControl
    from cnnstudio.training.synthesis.images import write_png
    from cnnstudio.training.synthesis.visualize import FeatureVisualizer, VisualizeSettings

    control = RunControl()
    try:
        if not args.output.lower().endswith(".png"):
            raise common.SynthesisError(f"{args.output}: the grid is written as PNG; name it with .png")
        settings = VisualizeSettings(args.layer, args.channels, args.steps, args.lr, args.size)
        visualizer = FeatureVisualizer(common.load(args, "visualize"), settings, control)
        with StopOnSignals(control, "stopping: writing what is made so far"):
            result = visualizer.run(common.ProgressLine("visualize"))
        write_png(result.grid(), args.output)
    except (common.SynthesisError, DesignFileError) as error:
        return common.fail("visualize", error)
    scores = ", ".join(f"{c}: {a:.3g}" for c, a in zip(result.channels, result.activations))
    print(f"wrote {args.output}: {len(result.channels)} image(s) of {args.layer}; mean activation per channel: {scores}"
          + (" (stopped)" if result.stopped else ""), file=sys.stderr)
    return common.EXIT_STOPPED if result.stopped else common.EXIT_OK
