"""Pooling: max, average and min windows, and adaptive (fixed output size) pooling."""

from __future__ import annotations

from cnnstudio.core import convmath
from cnnstudio.core.catalogue import Call, Ctx, Inference, LayerType, Note, ShapeError, register
from cnnstudio.core.convmath import Axis
from cnnstudio.core.layers.common import ATEN, compact, one_tensor, require_rank
from cnnstudio.core.params import BoolParam, OptionalSizeParam, SizeParam, expand

KINDS = {
    "Max": "Keeps the largest value of each window: the strongest response of a feature nearby.",
    "Avg": "Averages each window: a smoothed, sub-sampled map.",
    "Min": "Keeps the smallest value of each window (computed as -maxpool(-x)).",
}


def _pool_type(kind: str, dims: int) -> LayerType:
    name = f"{kind}Pool{dims}d"
    has_dilation = kind == "Max"
    unpadded_fit = kind == "Avg" and dims == 3

    def axes_of(ctx: Ctx) -> list[Axis]:
        p = ctx.p
        kernels = expand(p["kernel_size"], dims)
        strides = kernels if p["stride"] is None else expand(p["stride"], dims)
        pads = expand(p["padding"], dims)
        dilations = expand(p["dilation"], dims) if has_dilation else (1,) * dims
        names = convmath.AXIS_NAMES[dims]
        return [
            Axis(names[i], ctx.shape[1 + i], kernels[i], strides[i], pads[i], pads[i], dilations[i])
            for i in range(dims)
        ]

    def infer(ctx: Ctx) -> Inference:
        require_rank(ctx, name, dims + 1)
        axes = axes_of(ctx)
        for axis in axes:
            # PyTorch bounds the padding by half the kernel_size, not the dilated window.
            if 2 * axis.pad_lo > axis.kernel:
                raise ShapeError(
                    f"{name}: padding ({axis.pad_lo}) may be at most half the kernel_size ({axis.kernel})",
                    {"padding": 0},
                    "set padding to 0",
                )

        def largest_kernel(a: Axis) -> int:
            if unpadded_fit:  # PyTorch's avg_pool3d wants the window inside the unpadded input
                return a.size
            return (a.size + 2 * a.pad_lo - 1) // a.dilation + 1

        # With ceil_mode a window may hang over the edge, so only an empty output is too small.
        too_small = [
            a
            for a in axes
            if convmath.pool_out(a, ctx.p["ceil_mode"])[0] < 1 or (unpadded_fit and a.kernel > a.size)
        ]
        if too_small:
            sizes = tuple(min(a.kernel, largest_kernel(a)) for a in axes)
            value = sizes[0] if len(set(sizes)) == 1 else sizes
            raise ShapeError(
                f"{name}: the {too_small[0].span}-wide window is larger than the input along "
                f"{too_small[0].name} ({too_small[0].size}). Use a smaller kernel_size, or adaptive pooling.",
                {"kernel_size": value},
                f"set kernel_size to {value if isinstance(value, int) else list(value)}",
            )
        outs, formulas = [], []
        for axis in axes:
            out, formula = convmath.pool_out(axis, ctx.p["ceil_mode"])
            outs.append(out)
            formulas.append(formula)
        notes = []
        dropped = [a for a in axes if a.dropped and not ctx.p["ceil_mode"]]
        if dropped:
            parts = " and ".join(f"{a.dropped} along {a.name}" for a in dropped)
            message = (f"{name}: the windows do not tile the input exactly, so PyTorch floors the result "
                       f"and drops the last {parts} row(s)/column(s).")
            if convmath.standard_downsampling(axes):  # ResNet's 3x3/2 pad 1: on purpose
                notes.append(Note(message, informational=True))
            else:
                notes.append(Note(message, {"ceil_mode": True}, "set ceil_mode to true (keep a partial last window)"))
        return Inference((ctx.shape[0], *outs), formulas=formulas, notes=notes)

    def build(ctx: Ctx):
        from torch import nn

        from cnnstudio.core.modules import MinPool2d

        p = ctx.p
        if kind == "Max":
            return getattr(nn, name)(p["kernel_size"], p["stride"], p["padding"], p["dilation"], ceil_mode=p["ceil_mode"])
        if kind == "Avg":
            return getattr(nn, name)(
                p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"], p["count_include_pad"]
            )
        return MinPool2d(p["kernel_size"], p["stride"], p["padding"], p["ceil_mode"])

    params = [
        SizeParam("kernel_size", 2, "Window size F along each axis.", dims=dims),
        OptionalSizeParam("stride", None, "Step S between windows; null means the kernel size.", dims=dims),
        SizeParam("padding", 0, "Implicit padding on each side (at most half the kernel).", dims=dims, minimum=0),
    ]
    if has_dilation:
        params.append(SizeParam("dilation", 1, "Spacing between window taps.", dims=dims))
    params.append(BoolParam("ceil_mode", False, "Round the output size up, keeping a partial last window."))
    if kind == "Avg":
        params.append(BoolParam("count_include_pad", True, "Count padded zeros in the average."))
    def reverse(call: Call) -> dict | None:
        function = f"torch.nn.functional.{kind.lower()}_pool{dims}d"
        if m := call.is_module(name):
            if getattr(m, "return_indices", False) or getattr(m, "divisor_override", None) is not None:
                return None
            found = {key: getattr(m, key) for key in ("kernel_size", "stride", "padding", "dilation", "ceil_mode",
                                                      "count_include_pad") if hasattr(m, key)}
        elif one_tensor(call, function, f"{ATEN}{kind.lower()}_pool{dims}d.default"):
            keys = ["kernel_size", "stride", "padding"] + (["dilation", "ceil_mode"] if kind == "Max" else
                                                          ["ceil_mode", "count_include_pad", "divisor_override"])
            defaults = {"stride": None, "padding": 0, "dilation": 1, "ceil_mode": False, "count_include_pad": True}
            found = {key: call.argument(i + 1, key, defaults.get(key)) for i, key in enumerate(keys)}
            if found.pop("divisor_override", None) is not None or call.kwargs.get("return_indices"):
                return None
        else:
            return None
        if found.get("stride") in ((), []):  # the functions' "stride=[]" means the kernel size
            found["stride"] = None
        return {key: compact(value) for key, value in found.items()}

    return LayerType(
        name=name,
        category="pooling",
        help=f"{dims}D {kind.lower()} pooling. {KINDS[kind]} Output: (W1 - F + 2P)/S + 1.",
        params=tuple(params),
        infer=infer,
        build=build,
        reverse=reverse if kind != "Min" else None,
    )


def _adaptive_type(kind: str, dims: int) -> LayerType:
    name = f"Adaptive{kind}Pool{dims}d"

    def infer(ctx: Ctx) -> Inference:
        require_rank(ctx, name, dims + 1)
        outs = expand(ctx.p["output_size"], dims)
        names = convmath.AXIS_NAMES[dims]
        formulas = [f"{n}: {size} → {out} (adaptive)" for n, size, out in zip(names, ctx.shape[1:], outs)]
        return Inference((ctx.shape[0], *outs), formulas=formulas)

    def build(ctx: Ctx):
        from torch import nn

        return getattr(nn, name)(ctx.p["output_size"])

    def reverse(call: Call) -> dict | None:
        if m := call.is_module(name):
            size = m.output_size
        elif one_tensor(call, f"torch.nn.functional.adaptive_{kind.lower()}_pool{dims}d",
                        *((f"{ATEN}adaptive_avg_pool{dims}d.default",) if kind == "Avg" else ())):
            size = call.argument(1, "output_size")
            if call.kwargs.get("return_indices"):
                return None
        else:
            return None
        size = compact(size)
        if kind == "Max" and getattr(call.module, "return_indices", False):
            return None
        return {"output_size": size} if size is not None and None not in (size if isinstance(size, tuple) else ()) else None

    return LayerType(
        name=name,
        category="pooling",
        help=f"{dims}D adaptive {kind.lower()} pooling: picks the windows so the output has exactly "
        "output_size per axis, whatever the input size (1 gives global pooling).",
        params=(SizeParam("output_size", 1, "Output size along each axis.", dims=dims),),
        infer=infer,
        build=build,
        reverse=reverse,
    )


register(
    *(_pool_type(kind, d) for kind in ("Max", "Avg") for d in (1, 2, 3)),
    _pool_type("Min", 2),
    *(_adaptive_type(kind, d) for kind in ("Avg", "Max") for d in (1, 2, 3)),
)
