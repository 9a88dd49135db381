"""Merge nodes: several inputs, in the order their edges were connected."""

from __future__ import annotations

from cnnstudio.core.catalogue import Ctx, Inference, LayerType, ShapeError, register
from cnnstudio.core.layers.common import batch_dim, show
from cnnstudio.core.params import IntParam


def _inputs(ctx: Ctx) -> str:
    return ", ".join(f"{show(shape)} from '{src}'" for shape, src in zip(ctx.shapes, ctx.sources))


def _add_infer(ctx: Ctx) -> Inference:
    first = ctx.shapes[0]
    if any(shape != first for shape in ctx.shapes[1:]):
        raise ShapeError(
            f"Add needs inputs of one shape, but gets {_inputs(ctx)}. Make them equal, e.g. give the "
            "branches the same out_channels and stride, or add a 1x1 convolution as a projection."
        )
    return Inference(first)


def _add_build(ctx: Ctx):
    from cnnstudio.core.modules import Add

    return Add()


def _concat_infer(ctx: Ctx) -> Inference:
    ranks = {len(shape) for shape in ctx.shapes}
    if len(ranks) > 1:
        raise ShapeError(f"Concat needs inputs with the same number of dimensions, but gets {_inputs(ctx)}")
    axis = batch_dim(ctx.p["dim"], len(ctx.shapes[0]), "dim")
    others = {shape[:axis] + shape[axis + 1 :] for shape in ctx.shapes}
    if len(others) > 1:
        raise ShapeError(
            f"Concat joins along dim {ctx.p['dim']}, so every other axis must match, but gets "
            f"{_inputs(ctx)}. Crop or resize one branch (e.g. padding \"same\") so the sizes agree."
        )
    total = sum(shape[axis] for shape in ctx.shapes)
    first = ctx.shapes[0]
    formula = " + ".join(str(shape[axis]) for shape in ctx.shapes) + f" = {total}"
    return Inference((*first[:axis], total, *first[axis + 1 :]), formulas=[formula])


def _concat_build(ctx: Ctx):
    from cnnstudio.core.modules import Concat

    return Concat(ctx.p["dim"])


register(
    LayerType(
        name="Add",
        category="merge",
        help="Element-wise sum of two or more same-shaped inputs: the skip connection of a residual block.",
        params=(),
        infer=_add_infer,
        build=_add_build,
        min_inputs=2,
        max_inputs=None,
    ),
    LayerType(
        name="Concat",
        category="merge",
        help="Stacks two or more inputs along dim (channels by default), as Inception branches and "
        "UNet skip connections do. Inputs are joined in the order they were connected.",
        params=(IntParam("dim", 1, "Axis to join along, counting the batch as 0 (1: channels).", -5, 4),),
        infer=_concat_infer,
        build=_concat_build,
        min_inputs=2,
        max_inputs=None,
    ),
)
