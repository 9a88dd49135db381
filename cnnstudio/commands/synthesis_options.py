"""What ``stylize`` and ``visualize`` share: choosing the weights, loading the network, a progress line.

The weights are, in order: ``--weights`` (a run's checkpoint, a state dict, a .safetensors file, or
``torchvision:vgg16`` to fetch torchvision's ImageNet weights into torch's cache once), the best
checkpoint of the best completed run ``cnnstudio train`` left in ``runs/DESIGN`` (as export takes),
or the design file's ``"weights"`` (imported weights). Without any, the commands refuse unless ``--random-weights`` is given.
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
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument("--run", help="take the best checkpoint of this run: its name, latest or best")
    chosen.add_argument("--weights", metavar="SOURCE",
                        help="a checkpoint (a run's best.pt or last.pt), state dict or .safetensors file, or "
                             "torchvision:vgg16 for torchvision's ImageNet weights (downloaded once into torch's cache); "
                             "default: the best completed run's best checkpoint, else the design's own weights")
    parser.add_argument("--random-weights", action="store_true",
                        help="go ahead with untrained weights (the images then show random filters' patterns)")
    parser.add_argument("--normalize", choices=("auto", "none", "imagenet"), default="auto",
                        help="how pixels in [0, 1] are standardised before the network: imagenet for torchvision's "
                             "weights (also a model imported from torchvision), none for designs trained here "
                             "(auto: imagenet for --weights torchvision:NAME, else none)")
    parser.add_argument("--device", default="cpu", help="cpu (default), auto, cuda, cuda:N or mps")


def weights_source(design: Design, design_path: str, given: str | None, which: str | None = None) -> str | None:
    """The weights to use: given, else run ``which``'s best checkpoint (by default the best completed
    run's, as export takes; said on stderr), else the design's own (``"weights"``)."""
    from cnnstudio.runs import RunError, list_runs, pick_run, runs_dir
    from cnnstudio.runs.store import default_run, why_default

    if given:
        return given
    folder = runs_dir(design_path, design.name)
    try:
        run = pick_run(folder, which) if which else default_run(list_runs(folder))
    except RunError as error:
        raise SynthesisError(str(error)) from None
    weights = run.weights("best") if run is not None else None
    if which and weights is None:
        raise SynthesisError(f"the run {run.name} has no checkpoint")
    if run is None or weights is None:
        return design.weights
    why = "" if which else f", {why_default(run)}"
    print(f"weights: run {run.name}, {run.best_text()}{why} ({weights})", file=sys.stderr)
    return str(weights)


def load(args: argparse.Namespace, command: str) -> FeatureNetwork:
    """The design's network with its weights; raises SynthesisError or DesignFileError (sentences)."""
    from cnnstudio.training.synthesis.network import load_network

    design = load_design(args.design)
    source = weights_source(design, args.design, args.weights, args.run)
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
