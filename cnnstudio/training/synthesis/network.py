"""A design's model, frozen, seen through the layers a synthesis optimises against.

The model is compiled from the design and given weights. Without weights there is nothing to see
("these would be the patterns of random weights"), so :func:`load_network` refuses unless random
weights are asked for explicitly. Images enter in [0, 1], as CNN Studio's data sources deliver
them; ``normalize="imagenet"`` standardises them first, as torchvision's pretrained weights expect.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, fx

from cnnstudio.core.analysis import analyze
from cnnstudio.core.design import Design

NO_WEIGHTS = "these would be the patterns of random weights; train or import first"
NORMALISATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]] | None] = {
    "none": None,  # pixels in [0, 1]: what designs trained in CNN Studio see
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),  # torchvision's pretrained weights
}

Weights = str | Path | dict[str, Tensor] | None


class SynthesisError(ValueError):
    """A synthesis that cannot run as asked; the message is a sentence saying why."""


class NoWeightsError(SynthesisError):
    """The design has no trained or imported weights (front-ends say how to go ahead anyway)."""


class _Enough(Exception):
    """Raised by a hook once every layer needed has run: the rest of the network is skipped."""


@dataclass
class FeatureNetwork:
    """A frozen model in eval mode and what a synthesis needs to know about it."""

    model: fx.GraphModule
    design: Design
    input_shape: tuple[int, ...]  # (C, H, W) of the design's Input
    layers: list[str]  # node ids that run, in order (the Input excluded)
    mean: Tensor | None
    std: Tensor | None
    device: torch.device
    weights_note: str  # where the weights came from, for messages
    untrained: frozenset[str] = frozenset()  # nodes with parameters the weights did not cover

    def check_layers(self, node_ids: Iterable[str], what: str = "layer") -> list[str]:
        """The ids, or a sentence naming the first that is not a layer of the design, or whose
        output depends on a layer the weights left untrained."""
        import networkx as nx

        ids = list(dict.fromkeys(node_ids))
        for node_id in ids:
            behind = self.untrained & ({node_id} | nx.ancestors(self.design.graph, node_id)) \
                if node_id in self.design else set()
            if behind:
                raise SynthesisError(f"'{node_id}' depends on {', '.join(sorted(behind))}, which the weights leave "
                                     f"untrained: {NO_WEIGHTS}")
            if node_id not in self.layers:
                if node_id in self.design and self.design.node(node_id).type == "Input":
                    raise SynthesisError(f"'{node_id}' is the design's Input; choose a {what} after it")
                known = ", ".join(self.layers[:40]) + (", ..." if len(self.layers) > 40 else "")
                raise SynthesisError(f"'{node_id}' is not a {what} of '{self.design.name}'; its layers are: {known}")
        return ids

    def prepare(self, images: Tensor) -> Tensor:
        """[N, C, H, W] pixels in [0, 1] as the network expects them."""
        if self.mean is None or self.std is None:
            return images
        return (images - self.mean) / self.std

    def features(self, images: Tensor, node_ids: list[str], inputs: bool = False) -> dict[str, Tensor]:
        """The given layers' outputs (or, with ``inputs``, what goes into them) for ``images`` (pixels
        in [0, 1]); the forward pass stops after the last of them, so layers further on (a classifier
        of a fixed input size) never run."""
        from cnnstudio.training.probes import node_modules

        names = node_modules(self.model)
        seen: dict[str, Tensor] = {}
        wanted = set(node_ids)
        handles = []

        def keep(node_id: str) -> Any:
            def hook(_module: Any, given: tuple[Tensor, ...], output: Tensor) -> None:
                seen[node_id] = given[0] if inputs else output
                if wanted <= seen.keys():
                    raise _Enough
            return hook

        try:
            for node_id in wanted:
                handles.append(self.model.get_submodule(names[node_id]).register_forward_hook(keep(node_id)))
            try:
                self.model(self.prepare(images))
            except _Enough:
                pass
            except RuntimeError as error:  # a later layer that does not fit this image size
                if not wanted <= seen.keys():
                    height, width = images.shape[2:]
                    raise SynthesisError(
                        f"the chosen layers of '{self.design.name}' cannot take a {width}x{height} image ({error}): "
                        "the size is too small for its poolings, or a layer after a Flatten needs the Input's size"
                    ) from None
        finally:
            for handle in handles:
                handle.remove()
        return seen


def load_network(design: Design, weights: Weights, *, random_weights: bool = False, normalize: str = "none",
                 device: str = "cpu") -> FeatureNetwork:
    """The design compiled with ``weights`` (a checkpoint, state dict or .safetensors file, a state
    dict, or ``torchvision:NAME`` for pretrained ImageNet weights), frozen and in eval mode."""
    from cnnstudio.core.compiler import CompileError, build_model
    from cnnstudio.core.weights import WeightsError, load_matching, read_state_dict
    from cnnstudio.training.device import pick_device
    from cnnstudio.training.errors import TrainingError

    if normalize not in NORMALISATIONS:
        raise SynthesisError(f"unknown normalisation '{normalize}'; use {' or '.join(NORMALISATIONS)}")
    analysis = analyze(design)
    if len(analysis.inputs) != 1:
        raise SynthesisError(f"'{design.name}' has {len(analysis.inputs)} Inputs; images can be made only for a "
                             "design with one image Input")
    shape = tuple(analysis.nodes[analysis.inputs[0]].shape or ())
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise SynthesisError(f"'{design.name}' takes {list(shape)}, not images ([1, H, W] grey or [3, H, W] colour)")
    if weights is None and not random_weights:
        raise NoWeightsError(f"'{design.name}' has no trained or imported weights: {NO_WEIGHTS}")
    try:
        model = build_model(design, analysis)
        note, untrained = "random weights", frozenset[str]()
        if weights is not None:
            note, untrained = _load_weights(model, weights, read_state_dict, load_matching)
        target = pick_device(device)
    except (CompileError, WeightsError, TrainingError) as error:
        raise SynthesisError(str(error)) from None
    model.eval().requires_grad_(False).to(target)
    stats = NORMALISATIONS[normalize]
    mean = std = None
    if stats is not None:
        if shape[0] != 3:
            raise SynthesisError(f"the {normalize} normalisation is for colour images; '{design.name}' takes grey ones")
        mean, std = (torch.tensor(values, device=target).view(1, 3, 1, 1) for values in stats)
    layers = [n for n in analysis.order if n not in analysis.inputs and n in _run_nodes(model)]
    return FeatureNetwork(model, design, shape, layers, mean, std, target, note, untrained)


def _run_nodes(model: fx.GraphModule) -> set[str]:
    from cnnstudio.training.probes import node_modules

    return set(node_modules(model))


def _load_weights(model: fx.GraphModule, weights: Weights, read_state_dict: Any,
                  load_matching: Any) -> tuple[str, frozenset[str]]:
    """Load ``weights`` into ``model``: where they came from, and the nodes they left untrained."""
    if isinstance(weights, str) and weights.startswith("torchvision:"):
        from cnnstudio.training.synthesis.pretrained import torchvision_state

        state, note = torchvision_state(model, weights.split(":", 1)[1]), weights
    else:
        state = weights if isinstance(weights, dict) else read_state_dict(weights)
        note = "the given weights" if isinstance(weights, dict) else str(weights)
    report = load_matching(model, state)
    if not report.loaded:
        raise SynthesisError("none of the weights matches a layer of this design by id and shape")
    left = [name for name in report.missing if name.endswith(("weight", "bias"))]
    left += [name for name, _, _ in report.mismatched]
    return note, frozenset(node_id for module, node_id in model.node_names.items()
                           if any(name.startswith((f"{module}.", f"{node_id}.")) for name in left))
