"""Opaque layers: imported steps that have no catalogue layer, run as the original code.

``Function`` is one torch call (``torch.permute``, ``x.view(...)``, a layer scale ``gamma * x``)
with the tensors it owns; ``Module`` is a torch.nn, torchvision or timm module rebuilt from its
class and constructor arguments. Their shape rule runs the code once on the meta device (no
memory, no real computation), so they need torch; what they may call is the closed list of
:mod:`cnnstudio.core.calls`, checked before anything runs, and a refused call is this node's error.
The studio marks them, since their parameters cannot be edited.
"""

from __future__ import annotations

import json
from functools import lru_cache
from math import prod
from typing import Any

from cnnstudio.core.catalogue import Ctx, Inference, LayerType, ShapeError, register
from cnnstudio.core.layers.common import show
from cnnstudio.core.params import JsonParam

META_BATCH = 2  # not 1, so that a batch axis is never mistaken for a broadcast one


def _build_function(ctx: Ctx):
    from cnnstudio.core.calls import FunctionCall

    return FunctionCall(ctx.p["call"], ctx.p["tensors"], ctx.p["modules"])


def _build_module(ctx: Ctx):
    from cnnstudio.core.calls import build_module

    return build_module(ctx.p["class"], ctx.p["arguments"])


BUILDERS = {"Function": _build_function, "Module": _build_module}


@lru_cache(maxsize=4096)
def _meta_run(type_name: str, params_json: str, shapes: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], int]:
    import torch

    from cnnstudio.core.calls import CallError

    params = json.loads(params_json)
    try:
        with torch.device("meta"):
            module = BUILDERS[type_name](Ctx(shapes, params))
            out = module(*(torch.empty((META_BATCH, *shape)) for shape in shapes))
    except CallError as error:
        raise ShapeError(f"{type_name}: {error}") from None
    except Exception as error:  # the imported code's own complaint about these shapes
        inputs = ", ".join(show(s) for s in shapes)
        raise ShapeError(f"{type_name}: the imported code fails on inputs {inputs}: {error}") from None
    if not isinstance(out, torch.Tensor) or out.dim() == 0 or out.shape[0] != META_BATCH:
        raise ShapeError(f"{type_name}: the imported code does not return one tensor per sample")
    return tuple(out.shape[1:]), sum(p.numel() for p in module.parameters())


def _infer(type_name: str):
    def infer(ctx: Ctx) -> Inference:
        shape, params = _meta_run(type_name, json.dumps(dict(ctx.p), sort_keys=True), tuple(map(tuple, ctx.shapes)))
        return Inference(shape, params, params * prod(shape[1:]) if params else 0)

    return infer


register(
    LayerType(
        name="Function",
        category="blocks",
        help="An imported step with no layer of its own: one torch call (such as torch.permute or "
        "x.view) on its inputs, with any tensors it owns, run exactly as in the original model.",
        params=(
            JsonParam("call", {"input": 0}, "The call, as written by the importer."),
            JsonParam("tensors", {}, "Tensors the call owns: name to shape (weights come from the weights file)."),
            JsonParam("modules", {}, "Modules the call runs: name to class and constructor arguments."),
        ),
        infer=_infer("Function"),
        build=_build_function,
        max_inputs=None,
        min_inputs=1,
        opaque=True,
    ),
    LayerType(
        name="Module",
        category="blocks",
        help="An imported torch.nn, torchvision or timm module with no layer of its own, rebuilt from "
        "its class and constructor arguments and run as in the original model.",
        params=(
            JsonParam("class", "torch.nn.Identity", "The module's class, e.g. torch.nn.PixelShuffle."),
            JsonParam("arguments", {}, "Its constructor's keyword arguments."),
        ),
        infer=_infer("Module"),
        build=_build_module,
        max_inputs=None,
        opaque=True,
    ),
)


def describe_call(params: dict[str, Any]) -> str:
    """A short caption for an opaque node: the function, method, class or detector it runs."""
    if "builder" in params:  # DetectionHeads, FlowUpdates
        return f"{params['builder']} {'updates' if 'updates' in params else 'heads'}"
    if "class" in params:
        return str(params["class"]).rsplit(".", 1)[-1]
    call = params.get("call")
    if isinstance(call, dict):
        return call.get("function", "").rsplit(".", 1)[-1] or (f".{call['method']}" if "method" in call else "call")
    return "call"
