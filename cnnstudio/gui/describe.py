"""Short captions for nodes, in the chapter's notation: ``Conv2d 6@5x5 valid``, ``MaxPool2d 2x2``.

A caption shows the few parameters that decide what a layer does to a shape; everything else is in
the inspector. Parameters left at their default are omitted unless they define the layer.
"""

from __future__ import annotations

from typing import Any

from cnnstudio.core.catalogue import LayerType
from cnnstudio.core.display import format_shape
from cnnstudio.core.layers.opaque import describe_call
from cnnstudio.core.params import Param, SizeParam


def size_text(value: Any, spec: Param) -> str:
    """``5`` on a 2D layer as ``5x5``; explicit per-axis sizes as written."""
    if isinstance(value, tuple):
        return "x".join(map(str, value))
    dims = spec.dims if isinstance(spec, SizeParam) else 1
    return "x".join([str(value)] * dims)


def value_text(value: Any, spec: Param) -> str:
    if value is None:
        return "auto"
    if spec.kind in ("size", "optional_size", "padding") and not isinstance(value, str):
        return size_text(value, spec)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def plural(count: int, word: str) -> str:
    """``3 errors``, ``1 warning``; empty for zero, so lists of counts can skip it."""
    return f"{count} {word}{'s' if count != 1 else ''}" if count else ""


def caption(layer_type: LayerType, params: dict[str, Any], channels_last: bool = True) -> str:
    """The node's type and key parameters on one line."""
    detail = _detail(layer_type, params, channels_last)
    return f"{layer_type.name} {detail}".rstrip()


def _detail(layer_type: LayerType, p: dict[str, Any], channels_last: bool) -> str:
    name = layer_type.name
    if name == "Input":
        return format_shape(p["shape"], channels_last)
    if layer_type.category == "convolution" and "kernel_size" in p:
        text = f"{p['out_channels']}@{size_text(p['kernel_size'], layer_type.param('kernel_size'))}"
        return " ".join([text, *_changed(layer_type, p, ("stride", "padding", "dilation", "groups"))])
    if "kernel_size" in p:  # pooling
        text = size_text(p["kernel_size"], layer_type.param("kernel_size"))
        return " ".join([text, *_changed(layer_type, p, ("stride", "padding", "dilation"))])
    if "output_size" in p:
        return "→ " + size_text(p["output_size"], layer_type.param("output_size"))
    if name == "Upsample":
        return f"x{p['scale_factor']:g} {p['mode']}"
    if name == "Dropout":
        return f"p={p['p']:g}"
    if name == "Linear":
        return str(p["out_features"])
    if name == "ResidualBlock":
        return " ".join([str(p["out_channels"]), *_changed(layer_type, p, ("stride",))])
    if name == "TorchvisionBackbone":
        return p["model"]
    if name == "InceptionBlock":
        return ""
    if name == "DetectionTransform":
        return "normalise, resize, pad"
    if layer_type.opaque:
        return describe_call(p)
    if name == "Crop":
        if p["mode"] == "sides":
            return " ".join(f"{side[0]}{p[side]}" for side in ("top", "bottom", "left", "right"))
        return "like input 2" if p["mode"] == "like" else "to " + size_text(p["size"], layer_type.param("size"))
    return " ".join(_changed(layer_type, p, tuple(p)))


# Values that leave a shape alone, so a caption need not mention them.
NEUTRAL = {"stride": (1, None), "padding": (0,), "dilation": (1,), "groups": (1,)}
SHORT = {"stride": "s", "padding": "p", "dilation": "d"}


def _changed(layer_type: LayerType, p: dict[str, Any], names: tuple[str, ...]) -> list[str]:
    """``name value`` for each parameter that matters here; padding modes stand alone."""
    parts = []
    for name in (n for n in names if n in p):
        spec = layer_type.param(name)
        value = p[name]
        if name == "padding" and isinstance(value, str):
            parts.append(value)
        elif value not in NEUTRAL.get(name, (spec.default,)):
            text = str(value) if isinstance(value, int) else value_text(value, spec)
            parts.append(f"{SHORT[name]}{text}" if name in SHORT else f"{name} {text}")
    return parts
