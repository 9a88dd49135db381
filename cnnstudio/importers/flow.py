"""torchvision's optical-flow models (RAFT) as designs: the encoders as layers, the recurrent
updates as one verified opaque node.

RAFT's forward loops over flow updates, each looking up a correlation pyramid where the flow so far
points, so torch.fx cannot trace it; its two encoders trace like any network. The feature encoder
runs on both images (in the model, on the two stacked as one batch; here as two calls that share
their weights, the design's ``tied`` tensors: in evaluation mode each image's features are its own)
and the context encoder on the first; a ``FlowUpdates`` node runs the rest as torchvision's code.
Verification runs the model's own encoders and updates wired as the design is, node by node, and
the model end to end.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from cnnstudio.core.layers.flow import MIN_SIZE
from cnnstudio.importers.detection import _parts_of
from cnnstudio.importers.graph import Converted, ImportFailed, convert
from cnnstudio.importers.verify import Verification, _differs, _relative, probe_inputs, verify

ENCODERS = ("feature_encoder.", "context_encoder.")


def is_flow_model(model: nn.Module) -> bool:
    import sys

    if "torchvision.models.optical_flow" not in sys.modules:
        return False
    from torchvision.models.optical_flow.raft import RAFT

    return isinstance(model, RAFT)


def _updates_signature(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith(ENCODERS)}


def flow_builder(model: nn.Module, name: str) -> str:
    """The torchvision builder that makes ``model``'s updates again (the same class and tensors)."""
    from torchvision.models import get_model_builder

    from cnnstudio.core.detectors import build_flow_model, flow_builders

    candidates = [name] if name in flow_builders() else [
        b for b in flow_builders() if inspect.signature(get_model_builder(b)).return_annotation is type(model)]
    for builder in candidates:
        if _updates_signature(build_flow_model(builder)) == _updates_signature(model):
            return builder
    raise ImportFailed(f"{name}: its flow updates (correlation pyramid and recurrent refinement) run as torchvision's "
                       f"code, rebuilt by one of its builders ({', '.join(candidates) or 'none of its class'}), but "
                       "none holds the same tensors")


class _Encoders(nn.Module):
    """RAFT's encoders alone: each image's features, and the first image's context."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.feature_encoder, self.context_encoder = model.feature_encoder, model.context_encoder

    def forward(self, image1: torch.Tensor, image2: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return self.feature_encoder(image1), self.feature_encoder(image2), self.context_encoder(image1)


def convert_flow(model: nn.Module, shapes: list[tuple[int, ...]], name: str) -> tuple[Converted, Verification]:
    """RAFT as a design (two images → encoders as layers → FlowUpdates), verified."""
    from cnnstudio.core.detectors import FlowUpdates
    from cnnstudio.core.layout import layered_positions

    model.eval()
    shapes = shapes * 2 if len(shapes) == 1 else shapes  # one size given: both images have it
    if len(shapes) != 2 or any(len(s) != 3 or s[1] % 8 or s[2] % 8 or min(s[1:]) < MIN_SIZE for s in shapes) or \
            shapes[0] != shapes[1]:
        raise ImportFailed(f"{name} estimates the flow between two images of one size, a multiple of 8 and at least "
                           f"{MIN_SIZE}: give --input 3xHxW, e.g. 3x{MIN_SIZE}x{MIN_SIZE}")
    builder = flow_builder(model, name)
    encoders = _Encoders(model)
    converted = convert(encoders, shapes, name)
    design = converted.design
    outputs = design.output_ids
    if len(outputs) != 3:
        raise ImportFailed(f"{name}: its encoders' three outputs are not three distinct layers of the design")
    updates = 12  # RAFT's forward default, as the model runs when called with two images
    design.add_node("FlowUpdates", {"builder": builder, "updates": updates}, "updates")
    for source in [*design.input_ids, *outputs]:
        design.connect(source, "updates")
    design.output_order = ["updates"]
    reference = FlowUpdates(_parts_of(model), updates)
    converted.weights.update({f"updates.{k}": v for k, v in reference.state_dict().items()})
    gm = converted.graph_module
    gm.add_module("updates", reference)
    graph = gm.graph
    output = next(n for n in graph.nodes if n.op == "output")
    with graph.inserting_before(output):
        flows = graph.call_module("updates", (*[converted.fx_nodes[i] for i in design.input_ids],
                                              *[converted.fx_nodes[o] for o in outputs]))
    output.args = (flows,)
    gm.recompile()
    converted.fx_nodes["updates"] = flows
    converted.scopes["updates"] = ""
    for node_id, pos in layered_positions(design).items():
        design.node(node_id).pos = pos
    verification = verify(design, converted.weights, gm, converted.fx_nodes, shapes)
    images = probe_inputs(shapes, 2)
    error, scale = _relative(gm(*images), torch.stack(model(*images), 1))
    if _differs(error, scale):
        verification.exact = False
        verification.problem = (f"{type(model).__name__}'s forward computes something else than its encoders and "
                                f"updates in a row (by {error:.3g}): it does more than torchvision's")
    return converted, verification
