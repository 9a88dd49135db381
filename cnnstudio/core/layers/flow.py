"""What an imported optical-flow model (torchvision's RAFT) runs after its encoders: ``FlowUpdates``.

RAFT's forward iterates a recurrent update a given number of times, each step looking up a
correlation pyramid at the flow found so far; the encoders before it are layers of the design, and
this node runs the rest as torchvision's own code (``core/detectors.py``). Its shape rule is pure
Python; its parameter count builds the model once on the meta device.
"""

from __future__ import annotations

import json
from functools import lru_cache

from cnnstudio.core.catalogue import Ctx, Inference, LayerType, ShapeError, register
from cnnstudio.core.layers.common import show
from cnnstudio.core.params import IntParam, JsonParam

ENCODERS = ("feature_encoder.", "context_encoder.")
MIN_SIZE = 128  # RAFT's features are at 1/8 of the size and its 4-level pyramid needs 16 of them


def _infer(ctx: Ctx) -> Inference:
    if len(ctx.shapes) != 5 or any(len(s) != 3 for s in ctx.shapes):
        raise ShapeError("FlowUpdates takes the two images, the features of each and the context, in that order, "
                         f"each [C, H, W]; it gets {', '.join(show(s) for s in ctx.shapes) or 'nothing'}")
    (_, h, w), second = ctx.shapes[0], ctx.shapes[1]
    if second[1:] != (h, w) or h % 8 or w % 8 or min(h, w) < MIN_SIZE:
        raise ShapeError(f"FlowUpdates: both images must have one size, a multiple of 8 and at least {MIN_SIZE} (the "
                         "correlation pyramid halves the features, at 1/8 of the size, three times); they are "
                         f"{show(ctx.shapes[0])} and {show(second)}")
    shape = (ctx.p["updates"], 2, h, w)
    params = _parameters(json.dumps(ctx.p["builder"]))
    return Inference(shape, params, formulas=[f"the flow after each of {ctx.p['updates']} updates, at the images' size"])


@lru_cache(maxsize=8)
def _parameters(builder: str) -> int:
    import torch

    from cnnstudio.core.calls import CallError
    from cnnstudio.core.detectors import build_flow_model

    try:
        with torch.device("meta"):
            model = build_flow_model(json.loads(builder))
    except CallError as error:
        raise ShapeError(f"FlowUpdates: {error}") from None
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith(ENCODERS))


def _build(ctx: Ctx):
    from cnnstudio.core.detectors import build_flow_updates

    return build_flow_updates(ctx.p["builder"], ctx.p["updates"])


register(
    LayerType(
        name="FlowUpdates",
        category="blocks",
        help="An imported optical-flow model (torchvision's RAFT) after its encoders: the correlation "
        "pyramid of the two images' features and the recurrent updates of the flow, run as torchvision's "
        "code. It outputs the flow after every update, the last one being the estimate.",
        params=(
            JsonParam("builder", "raft_small", "The torchvision.models.optical_flow builder whose updates these are."),
            IntParam("updates", 12, "How many times the flow is updated.", 1, 1000),
        ),
        infer=_infer,
        build=_build,
        max_inputs=None,
        opaque=True,
    ),
)
