"""Checks shared by many shape rules."""

from __future__ import annotations

from math import prod
from typing import Any

from cnnstudio.core.catalogue import Call, Ctx, Shape, ShapeError, TensorArg

RANK_NAMES = {1: "[features] or [C]", 2: "[C, L]", 3: "[C, H, W]", 4: "[C, D, H, W]"}


def show(shape: Shape) -> str:
    return "[" + ", ".join(map(str, shape)) + "]"


def require_rank(ctx: Ctx, layer: str, *ranks: int) -> Shape:
    """The input shape, or a ShapeError saying which layout the layer needs."""
    shape = ctx.shape
    if len(shape) not in ranks:
        wanted = " or ".join(RANK_NAMES[r] for r in ranks)
        hint = ""
        if len(shape) == 1 and max(ranks) > 1:
            hint = " A Flatten or Linear before it already removed the spatial axes."
        elif len(shape) > 1 and ranks == (1,):
            hint = " Add a Flatten before it."
        raise ShapeError(
            f"{layer} needs an input shaped {wanted}, but gets {show(shape)} "
            f"({len(shape)} dimensions).{hint}"
        )
    return shape


def batch_dim(dim: int, rank: int, what: str) -> int:
    """Normalise a PyTorch ``dim`` that counts the batch axis (0) to an index into the sample shape."""
    full = rank + 1
    if not -full <= dim < full:
        raise ShapeError(f"{what} is {dim}, but the input has only {full} dimensions with the batch (0 to {full - 1})")
    dim %= full
    if dim == 0:
        raise ShapeError(f"{what} is 0, the batch axis; use 1 for channels or features")
    return dim - 1


def conv_macs(params: int, out_shape: Shape) -> int:
    """Multiply-adds as torchinfo counts them for convolutions: parameters x output positions."""
    return params * prod(out_shape[1:])


def compact(value: Any) -> Any:
    """A per-axis tuple written as one number when every axis has the same (as torch.nn takes it)."""
    if isinstance(value, (tuple, list)):
        value = tuple(value)
        return value[0] if value and len(set(value)) == 1 else value
    return value


def one_tensor(call: Call, *names: str) -> bool:
    """True when ``call`` is one of the functions/methods ``names`` applied to the node's only input."""
    return call.name in names and len(call.shapes) == 1 and call.argument(0, "input") == TensorArg(0)
