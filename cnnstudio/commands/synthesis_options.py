"""What ``stylize`` and ``visualize`` share: choosing the weights, loading the network, a progress line.

The weights are, in order: ``--weights`` (a run's checkpoint, a state dict, a .safetensors file, or
``torchvision:vgg16`` to fetch torchvision's ImageNet weights into torch's cache once), the design
file's ``"weights"`` (imported weights), or the latest checkpoint ``cnnstudio train`` left in
``runs/DESIGN``. Without any, the commands refuse unless ``--random-weights`` is given.
"""

from __future__ import annotations

import argparse
import sys
import time

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import DesignFileError, load_design
from cnnstudio.training.synthesis.network import FeatureNetwork, NoWeightsError, SynthesisError
from cnnstudio.training.synthesis.progress import SynthesisProgress

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE, EXIT_STOPPED = 0, 1, 2, 130
PROGRESS_INTERVAL_S = 1.0


def add_network_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--weights", metavar="SOURCE",
                        help="a checkpoint (a run's best.pt or last.pt), state dict or .safetensors file, or "
                             "torchvision:vgg16 for torchvision's ImageNet weights (downloaded once into torch's cache); "
                             "default: the latest run's best checkpoint, else the design's own weights")
    parser.add_argument("--random-weights", action="store_true",
                        help="go ahead with untrained weights (the images then show random filters' patterns)")
    parser.add_argument("--normalize", choices=("auto", "none", "imagenet"), default="auto",
                        help="how pixels in [0, 1] are standardised before the network: imagenet for torchvision's "
                             "weights (also a model imported from torchvision), none for designs trained here "
                             "(auto: imagenet for --weights torchvision:NAME, else none)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, cuda:N or mps")


def weights_source(design: Design, design_path: str, given: str | None) -> str | None:
    """The weights to use: given, else the latest run's best checkpoint (as export takes), else the
    design's own (``"weights"``)."""
    from cnnstudio.runs import list_runs, runs_dir

    if given:
        return given
    runs = list_runs(runs_dir(design_path, design.name))
    trained = next((w for run in reversed(runs) if (w := run.weights("best")) is not None), None)
    if trained is not None:
        return str(trained)
    return design.weights


def load(args: argparse.Namespace, command: str) -> FeatureNetwork:
    """The design's network with its weights; raises SynthesisError or DesignFileError (sentences)."""
    from cnnstudio.training.synthesis.network import load_network

    design = load_design(args.design)
    source = weights_source(design, args.design, args.weights)
    normalize = args.normalize
    if normalize == "auto":
        normalize = "imagenet" if source and source.startswith("torchvision:") else "none"
    try:
        network = load_network(design, source, random_weights=args.random_weights, normalize=normalize,
                               device=args.device)
    except NoWeightsError as error:
        raise NoWeightsError(f"{error}. Give --weights (a run's checkpoint, or torchvision:vgg16 for the VGG-16 "
                             f"template), or --random-weights to go ahead anyway") from None
    print(f"cnnstudio {command}: '{design.name}' with {network.weights_note}", file=sys.stderr)
    return network


def fail(command: str, error: Exception) -> int:
    print(f"cnnstudio {command}: {error}", file=sys.stderr)
    return EXIT_UNREADABLE if isinstance(error, DesignFileError) else EXIT_FAILED


class ProgressLine:
    """Prints the step and the losses about once a second."""

    def __init__(self, command: str):
        self.command = command
        self.last = 0.0

    def __call__(self, progress: SynthesisProgress) -> None:
        now = time.monotonic()
        if now - self.last < PROGRESS_INTERVAL_S and progress.step != progress.steps:
            return
        self.last = now
        losses = ", ".join(f"{name} {value:.4g}" for name, value in progress.losses.items())
        print(f"step {progress.step}/{progress.steps}: {losses} ({progress.seconds:.1f} s)", file=sys.stderr)


__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_STOPPED", "EXIT_UNREADABLE", "ProgressLine", "SynthesisError",
           "add_network_options", "fail", "load", "weights_source"]
