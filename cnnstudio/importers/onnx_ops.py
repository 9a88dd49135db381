"""ONNX operators of opset 18 and later, read directly by onnx2torch.

onnx2torch 1.5 converts operators up to opset 17. Converting a newer file down with
``onnx.version_converter`` fails for Split and Pad (no adapter from 18), so instead this module
registers converters with onnx2torch for the newer versions: the ones whose change only added
tensor types reuse onnx2torch's converter of the version before; Split, Pad, the Reduce
operators, Resize and AveragePool, whose inputs or attributes changed, are mapped onto
onnx2torch's own modules when the file uses them in a way those modules compute (constant axes,
pads and split sizes; no antialiasing), and refused with a sentence otherwise. What the
conversion computes is then checked against onnxruntime (see ``sources._onnx``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import torch
from torch import nn

if TYPE_CHECKING:
    from onnx2torch.onnx_graph import OnnxGraph
    from onnx2torch.onnx_node import OnnxNode
    from onnx2torch.utils.common import OperationConverterResult

# Versions whose change, per ONNX's changelog, only widened the tensor types (float8, int4,
# bfloat16...): the float32 computation is that of the version before.
TYPE_ONLY = {
    19: ("Cast", "Constant", "Equal", "Identity", "Reshape", "Shape", "Size"),
    20: ("ConstantOfShape", "IsInf", "IsNaN"),
    21: ("Cast", "Constant", "ConstantOfShape", "Flatten", "Identity", "Reshape", "Shape", "Size", "Transpose",
         "Unsqueeze"),
    22: ("Acos", "Asin", "Atan", "Conv", "ConvTranspose", "Cos", "Dropout", "Elu", "EyeLike", "GlobalAveragePool",
         "HardSigmoid", "HardSwish", "InstanceNormalization", "MaxPool", "RoiAlign", "Round", "Selu", "Sin",
         "Softplus", "Softsign", "Tan"),
    23: ("Cast", "Constant", "ConstantOfShape", "Flatten", "Identity", "Reshape", "Shape", "Size", "Squeeze",
         "Transpose", "Unsqueeze"),
    24: ("Cast", "Constant", "ConstantOfShape", "Flatten", "Identity", "Reshape", "Shape", "Size", "Squeeze",
         "Transpose", "Unsqueeze"),
    25: ("Cast", "Constant", "ConstantOfShape", "Flatten", "Identity", "Reshape", "Shape", "Size", "Squeeze",
         "Transpose", "Unsqueeze"),
}
REDUCE = {18: ("ReduceL1", "ReduceL2", "ReduceLogSum", "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin",
               "ReduceProd", "ReduceSumSquare"),
          20: ("ReduceMax", "ReduceMin")}
PAD = (18, 19, 21, 23, 24, 25)
_registered = False


class Unsupported(NotImplementedError):
    """An operator used in a way this conversion does not compute; the message is the sentence."""


def register() -> None:
    """Add the converters to onnx2torch's registry (once)."""
    global _registered
    if _registered:
        return
    from onnx2torch.node_converters.registry import add_converter

    add_converter("Split", 18)(_split)
    for version, names in REDUCE.items():
        for name in names:
            add_converter(name, version)(_reduce)
    for version in PAD:
        add_converter("Pad", version)(_pad)
    for version in (18, 19):
        add_converter("Resize", version)(_resize)
    for version in (19, 22):
        add_converter("AveragePool", version)(_average_pool)
    for version, names in sorted(TYPE_ONLY.items()):
        for name in names:
            add_converter(name, version)(_previous(name, version))
    _registered = True


def _previous(name: str, version: int):
    def convert(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
        from onnx2torch.node_converters.registry import get_converter

        return get_converter(name, version - 1)(node, graph)

    return convert


def _constant(node: OnnxNode, graph: OnnxGraph, index: int, what: str) -> list | None:
    """The constant value of the node's input ``index`` as a list; None when the input is absent."""
    from onnx2torch.utils.common import get_const_value

    if len(node.input_values) <= index or not node.input_values[index]:
        return None
    try:
        value = get_const_value(node.input_values[index], graph)
    except KeyError:
        raise Unsupported(f"{node.operation_type} '{node.name}' computes its {what} while it runs; only constant "
                          f"{what} can be converted") from None
    return value.tolist() if hasattr(value, "tolist") else list(value)


def _rank_and_shape(node: OnnxNode, graph: OnnxGraph) -> list[int | None] | None:
    """The first input's shape from ONNX shape inference (None for an unknown size), or None."""
    info = graph.value_info.get(node.input_values[0])
    if info is None or not info.type.tensor_type.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else None for d in info.type.tensor_type.shape.dim]


def _result(module: nn.Module, node: OnnxNode, inputs: int = 1) -> OperationConverterResult:
    from onnx2torch.utils.common import OnnxMapping, OperationConverterResult

    mapping = OnnxMapping(inputs=tuple(node.input_values[:inputs]), outputs=node.output_values)
    return OperationConverterResult(torch_module=module, onnx_mapping=mapping)


def _split(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    """Split-18: ``num_outputs`` equal parts (the last smaller), or the sizes of its ``split`` input."""
    from onnx2torch.node_converters.split import OnnxSplit, OnnxSplit13

    axis = node.attributes.get("axis", 0)
    parts = len(node.output_values)
    sizes = _constant(node, graph, 1, "split sizes")
    if sizes is None:
        shape = _rank_and_shape(node, graph)
        length = shape[axis] if shape and -len(shape) <= axis < len(shape) else None
        if length is None or length % parts == 0:
            return _result(OnnxSplit13(num_splits=parts, axis=axis), node)
        size = math.ceil(length / parts)
        sizes = [size] * (parts - 1) + [length - size * (parts - 1)]
    return _result(OnnxSplit(num_splits=parts, axis=axis, split=[int(s) for s in sizes]), node)


class Reduce(nn.Module):
    """An ONNX Reduce* operator over constant axes, written with torch functions a design may call
    (torch.fx traces through it, so the design holds those calls, not this class)."""

    def __init__(self, operation: str, axes: list[int], keepdims: bool):
        super().__init__()
        self.operation, self.axes, self.keepdims = operation, tuple(axes), keepdims

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims, keep, operation = self.axes, self.keepdims, self.operation
        if operation == "ReduceProd":  # one axis at a time, the last first (the axes are not negative)
            for axis in sorted(dims, reverse=True):
                x = torch.prod(x, dim=axis, keepdim=keep)
            return x
        if operation == "ReduceMean":
            return torch.mean(x, dim=dims, keepdim=keep)
        if operation == "ReduceMax":
            return torch.amax(x, dim=dims, keepdim=keep)
        if operation == "ReduceMin":
            return torch.amin(x, dim=dims, keepdim=keep)
        if operation == "ReduceLogSumExp":
            return torch.logsumexp(x, dim=dims, keepdim=keep)
        if operation == "ReduceL1":
            return torch.sum(torch.abs(x), dim=dims, keepdim=keep)
        squares = torch.sum(x * x, dim=dims, keepdim=keep) if operation in ("ReduceL2", "ReduceSumSquare") else None
        if operation == "ReduceL2":
            return torch.sqrt(squares)
        if operation == "ReduceSumSquare":
            return squares
        return torch.log(torch.sum(x, dim=dims, keepdim=keep))  # ReduceLogSum


def _reduce(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    """Reduce*-18 (ReduceMax/Min-20): the axes are an input (constant here) instead of an attribute."""
    axes = _constant(node, graph, 1, "axes")
    if not axes:
        if node.attributes.get("noop_with_empty_axes", 0):
            return _result(nn.Identity(), node)
        shape = _rank_and_shape(node, graph)
        if shape is None:
            raise Unsupported(f"{node.operation_type} '{node.name}' reduces every axis of an input whose rank is not known")
        axes = list(range(len(shape)))
    if node.operation_type == "ReduceProd" and any(a < 0 for a in axes) and len(axes) > 1:
        shape = _rank_and_shape(node, graph)
        if shape is None:
            raise Unsupported(f"ReduceProd '{node.name}' reduces axes counted from the end of an input whose rank "
                              "is not known")
        axes = [a % len(shape) for a in axes]
    return _result(Reduce(node.operation_type, [int(a) for a in axes], bool(node.attributes.get("keepdims", 1))), node)


def _pad(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    """Pad-18 and later: constant pads, optionally for some ``axes`` only; mode ``wrap`` (19) is circular."""
    from onnx2torch.node_converters.pad import OnnxPadStatic, _onnx_padding_to_torch

    mode = node.attributes.get("mode", "constant")
    pads = [int(p) for p in _constant(node, graph, 1, "pads") or []]
    value = _constant(node, graph, 2, "padding value")
    axes = _constant(node, graph, 3, "axes")
    if axes is not None:
        shape = _rank_and_shape(node, graph)
        if shape is None:
            raise Unsupported(f"Pad '{node.name}' pads some axes of an input whose rank is not known")
        full = [0] * (2 * len(shape))
        for index, axis in enumerate(int(a) % len(shape) for a in axes):
            full[axis], full[axis + len(shape)] = pads[index], pads[index + len(axes)]
        pads = full
    # the padding value counts in mode constant only (PyTorch refuses one in the other modes)
    fill = float(value[0] if isinstance(value, list) and value else value or 0.0) if mode == "constant" else 0.0
    if mode == "wrap":
        torch_pads = _onnx_padding_to_torch(pads)
        if any(torch_pads[-4:]):
            raise Unsupported(f"Pad '{node.name}' wraps around the batch or channel axis, which PyTorch cannot pad")
        return _result(OnnxPadStatic(pads=torch_pads[:-4], mode="circular", constant_value=fill), node)
    if mode not in ("constant", "reflect", "edge"):
        raise Unsupported(f"Pad '{node.name}' uses mode '{mode}', which has no PyTorch padding")
    return _result(OnnxPadStatic.create_from_onnx_params(onnx_pads=pads, onnx_mode=mode, constant_value=fill), node)


LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}


def _resize(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    """Resize-18/19 with constant scales or sizes as ``torch.nn.Upsample``, for the ONNX modes that
    PyTorch's interpolation computes: nearest (asymmetric, floor), linear and cubic (half-pixel or
    align-corners, cubic's coefficient -0.75, nothing excluded)."""
    attributes = node.attributes
    mode = attributes.get("mode", "nearest")
    coordinates = attributes.get("coordinate_transformation_mode", "half_pixel")
    if attributes.get("antialias", 0):
        raise Unsupported(f"Resize '{node.name}' antialiases, which this conversion does not compute")
    if attributes.get("axes") is not None:
        raise Unsupported(f"Resize '{node.name}' resizes some axes only (its 'axes' attribute)")
    if attributes.get("keep_aspect_ratio_policy", "stretch") != "stretch" and len(node.input_values) > 3:
        raise Unsupported(f"Resize '{node.name}' keeps the aspect ratio of its target sizes")
    scales = _constant(node, graph, 2, "scales") or None
    sizes = _constant(node, graph, 3, "sizes") or None
    if (scales or sizes) is None:
        raise Unsupported(f"Resize '{node.name}' has neither scales nor sizes")
    spatial = len(scales or sizes) - 2
    if mode == "nearest" and coordinates == "asymmetric" and attributes.get("nearest_mode", "round_prefer_floor") == "floor":
        torch_mode, corners = "nearest", None
    elif mode == "linear" and spatial in LINEAR and coordinates in ("half_pixel", "pytorch_half_pixel", "align_corners"):
        torch_mode, corners = LINEAR[spatial], coordinates == "align_corners"
    elif (mode == "cubic" and spatial == 2 and coordinates in ("half_pixel", "pytorch_half_pixel", "align_corners")
          and attributes.get("cubic_coeff_a", -0.75) == -0.75 and not attributes.get("exclude_outside", 0)):
        torch_mode, corners = "bicubic", coordinates == "align_corners"
    else:
        raise Unsupported(f"Resize '{node.name}' uses mode '{mode}' with '{coordinates}' coordinates, which PyTorch's "
                          "interpolation does not compute")
    shape = _rank_and_shape(node, graph) or [None, None]
    if (scales and list(scales[:2]) != [1.0, 1.0]) or (sizes and any(
            known is not None and known != wanted for known, wanted in zip(shape[:2], sizes[:2]))):
        raise Unsupported(f"Resize '{node.name}' resizes the batch or channel axis")
    if scales:
        module = nn.Upsample(scale_factor=tuple(float(f) for f in scales[2:]), mode=torch_mode, align_corners=corners)
    else:
        module = nn.Upsample(size=tuple(int(n) for n in sizes[2:]), mode=torch_mode, align_corners=corners)
    return _result(module, node)


def _average_pool(node: OnnxNode, graph: OnnxGraph) -> OperationConverterResult:
    """AveragePool-19/22: as AveragePool-11 without dilation (19 added it)."""
    from onnx2torch.node_converters.registry import get_converter

    if any(d != 1 for d in node.attributes.get("dilations", [])):
        raise Unsupported(f"AveragePool '{node.name}' is dilated, which PyTorch's average pooling is not")
    return get_converter("AveragePool", 11)(node, graph)

