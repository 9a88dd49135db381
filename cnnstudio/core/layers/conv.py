"""Convolutions (1D, 2D, 3D), transposed convolutions and upsampling."""

from __future__ import annotations

from math import prod

from cnnstudio.core import convmath
from cnnstudio.core.catalogue import Call, Ctx, Inference, LayerType, Note, Reversed, ShapeError, register
from cnnstudio.core.convmath import Axis
from cnnstudio.core.layers.common import ATEN, compact, conv_macs, one_tensor, owned_weights, require_rank
from cnnstudio.core.params import (
    BoolParam,
    ChoiceParam,
    FloatParam,
    IntParam,
    PaddingParam,
    SizeParam,
    expand,
)

PADDING_HELP = (
    '"valid": no padding, the output shrinks by F-1. "same": pad so the output is ceil(W/S) long. '
    '"causal" (1D): pad only on the left, so output i sees inputs up to i. Or explicit zeros per side.'
)


OUT_CHANNELS = IntParam("out_channels", 8, "Number of filters, i.e. output channels.", 1, 65536)
GROUPS = IntParam(
    "groups", 1, "Split channels into groups convolved separately (depthwise: groups = channels).", 1, 65536
)
BIAS = BoolParam("bias", True, "Add a learned bias to each output channel.")


def _check_groups(name: str, in_channels: int, out_channels: int, groups: int) -> None:
    for what, count in (("input channels", in_channels), ("out_channels", out_channels)):
        if count % groups:
            raise ShapeError(
                f"{name}: {what} ({count}) must be divisible by groups ({groups})",
                {"groups": 1},
                "set groups to 1",
            )


def conv_axes(ctx: Ctx, dims: int) -> list[Axis]:
    """The spatial axes of a convolution with its padding resolved to (before, after) amounts."""
    p = ctx.p
    sizes = ctx.shape[1:]
    kernels, strides, dilations = (expand(p[k], dims) for k in ("kernel_size", "stride", "dilation"))
    names = convmath.AXIS_NAMES[dims]
    padding = p["padding"]
    axes = []
    for i in range(dims):
        k, s, d, w = kernels[i], strides[i], dilations[i], sizes[i]
        if padding == "valid":
            lo = hi = 0
        elif padding == "same":
            lo, hi = convmath.same_padding(w, k, s, d)
        elif padding == "causal":
            lo, hi = d * (k - 1), 0
        else:
            lo = hi = expand(padding, dims)[i]
        axes.append(Axis(names[i], w, k, s, lo, hi, d))
    return axes


def _conv_type(dims: int) -> LayerType:
    name = f"Conv{dims}d"

    def infer(ctx: Ctx) -> Inference:
        require_rank(ctx, name, dims + 1)
        p = ctx.p
        in_channels = ctx.shape[0]
        if p["padding"] == "causal" and dims != 1:
            raise ShapeError(
                f'{name}: "causal" padding only exists for 1D sequences; use "same" or "valid"',
                {"padding": "same"},
                'set padding to "same"',
            )
        _check_groups(name, in_channels, p["out_channels"], p["groups"])
        axes = conv_axes(ctx, dims)
        too_small = [a for a in axes if a.covered < 0]
        if too_small:
            a = too_small[0]
            fitting = tuple(
                min(ax.kernel, (ax.size + ax.pad_lo + ax.pad_hi - 1) // ax.dilation + 1) for ax in axes
            )
            raise ShapeError(
                f"{name}: the {a.span}-wide kernel is larger than the input along {a.name} "
                f"({a.size}, plus {a.pad_lo + a.pad_hi} padding). Use a smaller kernel_size, "
                f'padding "same", or a larger input.',
                {"kernel_size": fitting[0] if len(set(fitting)) == 1 else fitting},
                f"set kernel_size to {fitting[0] if len(set(fitting)) == 1 else list(fitting)}",
            )
        outs, formulas, notes = [], [], []
        for axis in axes:
            out, formula = convmath.conv_out(axis)
            outs.append(out)
            formulas.append(formula)
        dropped = [a for a in axes if a.dropped]
        if dropped:
            notes.append(_dropped_note(name, axes, dropped, p["padding"] != "causal"))
        shape = (p["out_channels"], *outs)
        params = p["out_channels"] * (in_channels // p["groups"]) * prod(a.kernel for a in axes)
        params += p["out_channels"] if p["bias"] else 0
        return Inference(shape, params, conv_macs(params, shape), formulas, notes)

    def build(ctx: Ctx):
        from torch import nn

        from cnnstudio.core.modules import Pad

        p = ctx.p
        axes = conv_axes(ctx, dims)
        conv_class = getattr(nn, name)
        symmetric = all(a.pad_lo == a.pad_hi for a in axes)
        conv = conv_class(
            ctx.shape[0],
            p["out_channels"],
            tuple(a.kernel for a in axes),
            stride=tuple(a.stride for a in axes),
            padding=tuple(a.pad_lo for a in axes) if symmetric else 0,
            dilation=tuple(a.dilation for a in axes),
            groups=p["groups"],
            bias=p["bias"],
        )
        if symmetric:
            return conv
        return nn.Sequential(Pad(tuple(a.pad_lo for a in axes), tuple(a.pad_hi for a in axes)), conv)

    return LayerType(
        name=name,
        category="convolution",
        help=f"{dims}D convolution: slides out_channels learned filters over the input. "
        "Output size per axis: W2 = (W1 - F + 2P)/S + 1.",
        params=(
            OUT_CHANNELS,
            SizeParam("kernel_size", 3, "Filter size F along each axis.", dims=dims),
            SizeParam("stride", 1, "Step S between filter positions.", dims=dims),
            PaddingParam("padding", "valid", PADDING_HELP, dims=dims),
            SizeParam("dilation", 1, "Spacing between kernel taps (1 = a dense kernel).", dims=dims),
            GROUPS,
            BIAS,
        ),
        infer=infer,
        build=build,
        reverse=lambda call: _conv_reverse(call, name),
    )


def _conv_reverse(call: Call, name: str, transposed: bool = False) -> dict | Reversed | None:
    """The parameters of a torch.nn convolution (zero padding only; no "reflect" and the like),
    or of torch.export's aten.convNd(x, weight, bias, stride, padding, dilation, groups)."""
    if not transposed and one_tensor(call, f"{ATEN}{name.lower()}.default"):
        weight, bias = call.argument(1, "weight"), call.argument(2, "bias")
        shape, weights = call.owned_shape(weight), owned_weights(weight=weight, bias=bias)
        padding = call.argument(4, "padding", 0)
        if not shape or weights is None or isinstance(padding, str):
            return None
        groups = call.argument(6, "groups", 1)
        return Reversed({
            "out_channels": shape[0], "kernel_size": compact(shape[2:]), "stride": compact(call.argument(3, "stride", 1)),
            "padding": compact(padding), "dilation": compact(call.argument(5, "dilation", 1)), "groups": groups,
            "bias": bias is not None}, weights)
    m = call.is_module(name)
    if not m or m.padding_mode != "zeros":
        return None
    params = {
        "out_channels": m.out_channels,
        "kernel_size": compact(m.kernel_size),
        "stride": compact(m.stride),
        "padding": m.padding if isinstance(m.padding, str) else compact(m.padding),
        "dilation": compact(m.dilation),
        "groups": m.groups,
        "bias": m.bias is not None,
    }
    if transposed:
        params["output_padding"] = compact(m.output_padding)
    return params


def _dropped_note(name: str, axes: list[Axis], dropped: list[Axis], can_pad: bool) -> Note:
    parts = [f"{a.dropped} along {a.name}" for a in dropped]
    message = (
        f"{name}: (W1 - F + 2P) is not a multiple of the stride, so PyTorch floors the result and "
        f"the last {' and '.join(parts)} input row(s)/column(s) are never covered."
    )
    if convmath.standard_downsampling(axes):
        return Note(message, informational=True)
    if not can_pad:
        return Note(message)
    pads = convmath.exact_padding(axes)
    if pads is None:  # e.g. an even stride over an odd span: only asymmetric padding helps
        if convmath.same_is_exact(axes):
            return Note(message, {"padding": "same"}, 'set padding to "same"')
        return Note(message)
    value = pads[0] if len(set(pads)) == 1 else tuple(pads)
    return Note(message, {"padding": value}, f"set padding to {value if isinstance(value, int) else list(value)}")


def _transpose_type(dims: int) -> LayerType:
    name = f"ConvTranspose{dims}d"

    def axes_of(ctx: Ctx) -> list[Axis]:
        p = ctx.p
        k, s, pad, d = (expand(p[key], dims) for key in ("kernel_size", "stride", "padding", "dilation"))
        names = convmath.AXIS_NAMES[dims]
        return [Axis(names[i], ctx.shape[1 + i], k[i], s[i], pad[i], pad[i], d[i]) for i in range(dims)]

    def infer(ctx: Ctx) -> Inference:
        require_rank(ctx, name, dims + 1)
        p = ctx.p
        _check_groups(name, ctx.shape[0], p["out_channels"], p["groups"])
        output_padding = expand(p["output_padding"], dims)
        outs, formulas = [], []
        for axis, extra in zip(axes_of(ctx), output_padding):
            if extra >= max(axis.stride, axis.dilation):
                raise ShapeError(
                    f"{name}: output_padding ({extra}) must be smaller than the stride or the dilation "
                    f"along {axis.name}",
                    {"output_padding": 0},
                    "set output_padding to 0",
                )
            out, formula = convmath.transpose_out(axis, extra)
            if out < 1:
                raise ShapeError(f"{name}: the output along {axis.name} would be {out}; reduce the padding")
            outs.append(out)
            formulas.append(formula)
        shape = (p["out_channels"], *outs)
        params = ctx.shape[0] * (p["out_channels"] // p["groups"]) * prod(expand(p["kernel_size"], dims))
        params += p["out_channels"] if p["bias"] else 0
        return Inference(shape, params, conv_macs(params, shape), formulas)

    def build(ctx: Ctx):
        from torch import nn

        p = ctx.p
        return getattr(nn, name)(
            ctx.shape[0],
            p["out_channels"],
            p["kernel_size"],
            stride=p["stride"],
            padding=p["padding"],
            output_padding=p["output_padding"],
            groups=p["groups"],
            bias=p["bias"],
            dilation=p["dilation"],
        )

    return LayerType(
        name=name,
        category="convolution",
        help=f"{dims}D transposed convolution (learned upsampling, as in UNet and autoencoder decoders). "
        "Output size per axis: (W1 - 1)*S - 2P + F + output_padding.",
        params=(
            OUT_CHANNELS,
            SizeParam("kernel_size", 2, "Filter size F along each axis.", dims=dims),
            SizeParam("stride", 2, "Upsampling factor S.", dims=dims),
            SizeParam("padding", 0, "Zeros removed from each side of the output.", dims=dims, minimum=0),
            SizeParam("output_padding", 0, "Extra size added to one side of the output.", dims=dims, minimum=0),
            SizeParam("dilation", 1, "Spacing between kernel taps.", dims=dims),
            GROUPS,
            BIAS,
        ),
        infer=infer,
        build=build,
        reverse=lambda call: _conv_reverse(call, name, transposed=True),
    )


UPSAMPLE_MODES = {"nearest": (1, 2, 3), "linear": (1,), "bilinear": (2,), "bicubic": (2,), "trilinear": (3,)}


def _upsample_infer(ctx: Ctx) -> Inference:
    require_rank(ctx, "Upsample", 2, 3, 4)
    p = ctx.p
    dims = len(ctx.shape) - 1
    if dims not in UPSAMPLE_MODES[p["mode"]]:
        fitting = next(m for m, ds in UPSAMPLE_MODES.items() if dims in ds and m != "nearest")
        raise ShapeError(
            f'Upsample: mode "{p["mode"]}" does not fit a {dims}D input; use "nearest" or "{fitting}"',
            {"mode": "nearest"},
            'set mode to "nearest"',
        )
    names = convmath.AXIS_NAMES[dims]
    outs = [int(size * p["scale_factor"]) for size in ctx.shape[1:]]
    formulas = [f"{n}: floor({size} * {p['scale_factor']:g}) = {out}" for n, size, out in zip(names, ctx.shape[1:], outs)]
    if min(outs) < 1:
        raise ShapeError("Upsample: the output would be empty; use a larger scale_factor")
    return Inference((ctx.shape[0], *outs), formulas=formulas)


def _upsample_build(ctx: Ctx):
    from torch import nn

    mode = ctx.p["mode"]
    align = ctx.p["align_corners"] if mode != "nearest" else None
    return nn.Upsample(scale_factor=ctx.p["scale_factor"], mode=mode, align_corners=align)


def _upsample_reverse(call: Call) -> dict | None:
    m = call.is_module("Upsample")
    if not m or m.size is not None or m.recompute_scale_factor:
        return None
    scale = compact(m.scale_factor)
    if not isinstance(scale, (int, float)):
        return None
    return {"scale_factor": float(scale), "mode": m.mode, "align_corners": bool(m.align_corners)}


UPSAMPLE = LayerType(
    name="Upsample",
    category="convolution",
    help="Enlarges each spatial axis by scale_factor without learned weights (a cheap alternative to "
    "a transposed convolution).",
    params=(
        FloatParam("scale_factor", 2.0, "Multiplier for every spatial axis.", 0.01, 64.0),
        ChoiceParam("mode", "nearest", "How new values are filled in.", choices=tuple(UPSAMPLE_MODES)),
        BoolParam("align_corners", False, "For linear modes: align the corner pixels of input and output."),
    ),
    infer=_upsample_infer,
    build=_upsample_build,
    reverse=_upsample_reverse,
)

register(*(_conv_type(d) for d in (1, 2, 3)), *(_transpose_type(d) for d in (1, 2, 3)), UPSAMPLE)
