"""Merge nodes: several inputs, in the order their edges were connected."""

from __future__ import annotations

from cnnstudio.core.catalogue import Call, Ctx, Inference, LayerType, ShapeError, register
from cnnstudio.core.layers.common import batch_dim, require_rank, show
from cnnstudio.core.params import ChoiceParam, IntParam, SizeParam


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


OWN = "cnnstudio.core.modules"  # our own modules, as exported code holds them


def _binary_reverse(module: str, *names: str):
    """Recognises ``a <op> b`` of two different tensors, in input order, and our ``module``."""

    def reverse(call: Call) -> dict | None:
        if call.is_module(module, OWN):
            return {}
        if call.name in names and call.tensors_in_order(*call.args) and len(call.args) == 2 and not call.kwargs:
            return {}
        return None

    return reverse


def _mul_infer(ctx: Ctx) -> Inference:
    ranks = {len(shape) for shape in ctx.shapes}
    if len(ranks) > 1:
        raise ShapeError(f"Mul needs inputs with the same number of dimensions, but gets {_inputs(ctx)}")
    out = []
    for sizes in zip(*ctx.shapes):
        wide = {s for s in sizes if s != 1}
        if len(wide) > 1:
            raise ShapeError(
                f"Mul multiplies element by element; each axis must match or be 1 (broadcast), but gets {_inputs(ctx)}"
            )
        out.append(wide.pop() if wide else 1)
    return Inference(tuple(out))


def _mul_build(ctx: Ctx):
    from cnnstudio.core.modules import Mul

    return Mul()


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


def _concat_reverse(call: Call) -> dict | None:
    if m := call.is_module("Concat", OWN):
        return {"dim": m.dim}
    if call.name not in ("torch.cat", "torch.concat", "torch.concatenate", "torch.ops.aten.cat.default") or not call.args:
        return None
    tensors = call.args[0]
    if not isinstance(tensors, (list, tuple)) or len(tensors) < 2 or not call.tensors_in_order(*tensors):
        return None
    return {"dim": call.argument(1, "dim", 0)}


CROP_MODES = ("size", "like", "sides")
SIDES = ("top", "bottom", "left", "right")


def crop_box(ctx: Ctx) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) rows and columns removed from the first input."""
    _, h, w = ctx.shape
    mode = ctx.p["mode"]
    if mode == "sides":
        return tuple(ctx.p[side] for side in SIDES)  # type: ignore[return-value]
    if mode == "like":
        if len(ctx.shapes) != 2 or len(ctx.shapes[1]) != 3:
            raise ShapeError(
                'Crop with mode "like" crops its first input to the height and width of its second: connect '
                "the feature map to crop first, then the one whose size it must take (both [C, H, W])."
            )
        th, tw = ctx.shapes[1][1:]
    else:
        th, tw = (ctx.p["size"],) * 2 if isinstance(ctx.p["size"], int) else ctx.p["size"]
    if th > h or tw > w:
        raise ShapeError(f"Crop: cannot cut {th}x{tw} out of a {h}x{w} map; the target is larger than the input")
    return (h - th) // 2, h - th - (h - th) // 2, (w - tw) // 2, w - tw - (w - tw) // 2


def _crop_infer(ctx: Ctx) -> Inference:
    c, h, w = require_rank(ctx, "Crop", 3)
    if ctx.p["mode"] != "like" and len(ctx.shapes) > 1:
        raise ShapeError(f'Crop takes a second input only with mode "like" (mode is "{ctx.p["mode"]}")',
                         {"mode": "like"}, 'set mode to "like"')
    top, bottom, left, right = crop_box(ctx)
    oh, ow = h - top - bottom, w - left - right
    if oh < 1 or ow < 1:
        raise ShapeError(f"Crop removes {top + bottom} rows and {left + right} columns of a {h}x{w} map: nothing is left")
    formulas = [f"H: {h} - {top} - {bottom} = {oh}", f"W: {w} - {left} - {right} = {ow}"]
    return Inference((c, oh, ow), formulas=formulas)


def _crop_build(ctx: Ctx):
    from cnnstudio.core.modules import Crop

    return Crop(*crop_box(ctx))


def _crop_reverse(call: Call) -> dict | None:
    if m := call.is_module("Crop", OWN):
        return {"mode": "sides", **{side: getattr(m, side) for side in SIDES}}
    return None


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
        reverse=_binary_reverse("Add", "operator.add", "operator.iadd", "torch.add", "Tensor.add",
                                "torch.ops.aten.add.Tensor", "torch.ops.aten.add_.Tensor"),
    ),
    LayerType(
        name="Mul",
        category="merge",
        help="Element-wise product of two or more inputs; an axis of size 1 is stretched to match "
        "(broadcast), so a [C, 1, 1] vector of channel weights scales a [C, H, W] map, as "
        "squeeze-excitation does.",
        params=(),
        infer=_mul_infer,
        build=_mul_build,
        min_inputs=2,
        max_inputs=None,
        reverse=_binary_reverse("Mul", "operator.mul", "operator.imul", "torch.mul", "Tensor.mul",
                                "torch.ops.aten.mul.Tensor", "torch.ops.aten.mul_.Tensor"),
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
        reverse=_concat_reverse,
    ),
    LayerType(
        name="Crop",
        category="merge",
        help='Cuts the borders off a [C, H, W] map: centred to a given size ("size"), centred to the '
        'height and width of a second input ("like", for U-Net skips before a Concat), or by '
        'explicit rows and columns per side ("sides").',
        params=(
            ChoiceParam("mode", "like", "How the kept window is chosen.", choices=CROP_MODES),
            SizeParam("size", 1, 'Output height and width (mode "size").', dims=2),
            *(IntParam(side, 0, f'Rows or columns removed at the {side} (mode "sides").', 0, 100_000)
              for side in SIDES),
        ),
        infer=_crop_infer,
        build=_crop_build,
        max_inputs=2,
        reverse=_crop_reverse,
    ),
)
