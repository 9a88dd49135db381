"""Every layer type's shape rule and parameter count against the real torch module (issue 7).

``CASES`` holds example settings for every catalogue type; a newly registered type without
cases fails ``test_every_catalogue_type_has_cases``.
"""

from __future__ import annotations

import pytest

from cnnstudio.core import catalogue
from cnnstudio.core.analysis import analyze
from cnnstudio.core.compiler import build_model
from corehelpers import chain, check_against_torch, merge

# type name -> list of (input shapes, params). One shape: a chain; several: a merge node.
CASES: dict[str, list[tuple[list[list[int]], dict]]] = {
    "Input": [([[5]], {}), ([[2, 9]], {}), ([[1, 4, 5]], {}), ([[1, 2, 3, 4]], {})],
    "Conv1d": [
        ([[3, 20]], {"out_channels": 4, "kernel_size": 3}),
        ([[3, 20]], {"out_channels": 4, "kernel_size": 4, "padding": "same"}),
        ([[3, 20]], {"out_channels": 4, "kernel_size": 3, "stride": 2, "padding": "same"}),
        ([[3, 21]], {"out_channels": 4, "kernel_size": 4, "stride": 3, "padding": "same", "dilation": 2}),
        ([[3, 20]], {"out_channels": 2, "kernel_size": 3, "padding": "causal", "dilation": 2}),
        ([[3, 20]], {"out_channels": 2, "kernel_size": 3, "padding": "causal", "stride": 2}),
        ([[3, 20]], {"out_channels": 5, "kernel_size": [5], "stride": 3, "padding": 2}),
        ([[3, 20]], {"out_channels": 6, "kernel_size": 3, "groups": 3, "bias": False}),
        ([[3, 11]], {"out_channels": 2, "kernel_size": 2, "stride": 2}),  # drops a column
    ],
    "Conv2d": [
        ([[1, 28, 28]], {"out_channels": 6, "kernel_size": 5}),
        ([[4, 11, 13]], {"out_channels": 3, "kernel_size": [3, 4], "stride": 2, "padding": "same"}),
        ([[4, 11, 13]], {"out_channels": 3, "kernel_size": 2, "padding": "same"}),
        ([[4, 11, 13]], {"out_channels": 3, "kernel_size": 3, "stride": [2, 3], "padding": [1, 2]}),
        ([[4, 11, 13]], {"out_channels": 3, "kernel_size": 3, "dilation": [2, 1]}),
        ([[4, 11, 13]], {"out_channels": 3, "kernel_size": 3, "stride": 3, "dilation": 2, "padding": "same"}),
        ([[4, 11, 13]], {"out_channels": 6, "kernel_size": 3, "groups": 2}),
        ([[4, 10, 10]], {"out_channels": 4, "kernel_size": 3, "groups": 4, "bias": False}),
        ([[1, 28, 28]], {"out_channels": 2, "kernel_size": 5, "stride": 2}),  # 23/2: drops a row
        ([[1, 28, 28]], {"out_channels": 2, "kernel_size": 5, "stride": 3}),
    ],
    "Conv3d": [
        ([[2, 7, 8, 9]], {"out_channels": 3, "kernel_size": 3}),
        ([[2, 7, 8, 9]], {"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": "same"}),
        ([[2, 7, 8, 9]], {"out_channels": 3, "kernel_size": 3, "padding": 1, "dilation": 2}),
        ([[2, 7, 8, 9]], {"out_channels": 4, "kernel_size": [1, 3, 2], "groups": 2, "stride": [1, 2, 3]}),
    ],
    "ConvTranspose1d": [
        ([[4, 9]], {"out_channels": 3}),
        ([[4, 9]], {"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}),
        ([[4, 9]], {"out_channels": 3, "kernel_size": 3, "stride": 1, "dilation": 2, "output_padding": 1}),
        ([[4, 9]], {"out_channels": 6, "kernel_size": 3, "stride": 3, "output_padding": 2, "groups": 2}),
    ],
    "ConvTranspose2d": [
        ([[3, 5, 6]], {"out_channels": 2}),
        (
            [[3, 5, 6]],
            {"out_channels": 2, "kernel_size": [3, 2], "stride": [2, 3], "padding": [1, 0], "output_padding": [1, 2]},
        ),
        ([[3, 5, 6]], {"out_channels": 2, "kernel_size": 3, "bias": False, "stride": 1}),
    ],
    "ConvTranspose3d": [
        ([[2, 3, 4, 5]], {"out_channels": 2}),
        ([[2, 3, 4, 5]], {"out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1, "output_padding": 1}),
    ],
    "Upsample": [
        ([[2, 10]], {}),
        ([[2, 10]], {"mode": "linear", "scale_factor": 1.5, "align_corners": True}),
        ([[2, 5, 7]], {"mode": "bilinear"}),
        ([[2, 5, 7]], {"mode": "bicubic", "scale_factor": 1.7}),
        ([[2, 5, 7]], {"scale_factor": 0.5}),
        ([[1, 3, 4, 5]], {"mode": "trilinear"}),
        ([[1, 3, 4, 5]], {"scale_factor": 1.5}),
    ],
    "Linear": [([[10]], {"out_features": 4}), ([[3, 7]], {"out_features": 5}), ([[10]], {"bias": False})],
    "Flatten": [
        ([[3, 4, 5]], {}),
        ([[3, 4, 5]], {"start_dim": 2}),
        ([[3, 4, 5]], {"start_dim": 1, "end_dim": 2}),
        ([[3, 4, 5, 2]], {"start_dim": -3, "end_dim": -2}),
        ([[6]], {}),
    ],
    "Dropout": [([[5, 6]], {"p": 0.3})],
    "Permute": [([[3, 4, 5]], {}), ([[3, 4]], {"dims": [2, 1]}), ([[2, 3, 4, 5]], {"dims": [1, 4, 2, 3]})],
    "BatchNorm1d": [([[4]], {}), ([[4, 9]], {"affine": False})],
    "BatchNorm2d": [([[3, 5, 5]], {}), ([[3, 5, 5]], {"affine": False, "momentum": 0.5})],
    "BatchNorm3d": [([[2, 3, 3, 3]], {})],
    "ReLU": [([[3, 4, 4]], {})],
    "LeakyReLU": [([[3, 4]], {"negative_slope": 0.2})],
    "Sigmoid": [([[7]], {})],
    "Tanh": [([[2, 3, 4, 5]], {})],
    "Softmax": [([[10]], {}), ([[3, 4, 5]], {"dim": -1}), ([[3, 4, 5]], {"dim": 2})],
    "Identity": [([[3, 4, 4]], {})],
    "ReLU6": [([[3, 4, 4]], {})],
    "SiLU": [([[3, 4, 4]], {})],
    "GELU": [([[3, 4, 4]], {}), ([[6]], {"approximate": "tanh"})],
    "Hardswish": [([[3, 4, 4]], {})],
    "Hardsigmoid": [([[3, 4, 4]], {})],
    "Dropout2d": [([[3, 4, 4]], {"p": 0.2})],
    "StochasticDepth": [([[3, 4, 4]], {}), ([[5]], {"p": 0.5, "mode": "batch"})],
    "LayerNorm": [([[3, 4, 5]], {}), ([[3, 4, 5]], {"axes": 3, "eps": 1e-6}),
                  ([[6]], {"elementwise_affine": False}), ([[2, 6]], {"bias": False})],
    "GroupNorm": [([[8, 4, 4]], {"num_groups": 4}), ([[6, 5]], {"num_groups": 3, "affine": False})],
    "LocalResponseNorm": [([[8, 4, 4]], {}), ([[8, 4, 4]], {"size": 2, "alpha": 1e-3, "beta": 0.5, "k": 2.0})],
    "Mul": [([[3, 4, 4], [3, 4, 4]], {}), ([[3, 4, 4], [3, 1, 1]], {}), ([[3, 1, 1], [3, 4, 4], [1, 4, 4]], {})],
    "Crop": [
        ([[3, 10, 12], [5, 6, 6]], {"mode": "like"}),
        ([[3, 10, 12]], {"mode": "size", "size": [7, 4]}),
        ([[3, 10, 12]], {"mode": "sides", "top": 1, "bottom": 2, "left": 3, "right": 0}),
    ],
    "Function": [
        ([[3, 4]], {"call": {"function": "torch.permute", "args": [{"input": 0}, [0, 2, 1]]}}),
        ([[2, 3, 4]], {"call": {"function": "operator.mul", "args": [{"tensor": "scale"}, {"input": 0}]},
                       "tensors": {"scale": {"shape": [2, 1, 1]}}}),
        ([[2, 3, 4]], {"call": {"method": "view", "args": [{"input": 0}, {"method": "size", "args": [{"input": 0}, 0]}, -1]}}),
    ],
    "Module": [([[8, 3, 3]], {"class": "torch.nn.PixelShuffle", "arguments": {"upscale_factor": 2}}),
               ([[4, 3, 3]], {"class": "torch.nn.PReLU", "arguments": {"num_parameters": 4}})],
    "MaxPool1d": [
        ([[3, 17]], {"kernel_size": 3}),
        ([[3, 17]], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
        ([[3, 17]], {"kernel_size": 2, "dilation": 2}),
        ([[3, 17]], {"kernel_size": 4, "stride": 3, "padding": 2, "ceil_mode": True}),
    ],
    "MaxPool2d": [
        ([[2, 11, 12]], {}),
        ([[2, 11, 12]], {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
        ([[2, 11, 12]], {"kernel_size": [2, 3], "stride": [1, 2], "padding": 1}),
        ([[2, 11, 12]], {"kernel_size": 3, "dilation": 2, "padding": 1}),
        ([[2, 10, 10]], {"kernel_size": 2, "dilation": 3, "padding": 1}),
        ([[2, 5, 5]], {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),  # last window in padding
    ],
    "MaxPool3d": [
        ([[2, 5, 6, 7]], {}),
        ([[2, 5, 6, 7]], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ],
    "AvgPool1d": [
        ([[3, 17]], {"kernel_size": 3}),
        ([[3, 17]], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}),
    ],
    "AvgPool2d": [
        ([[2, 11, 12]], {}),
        ([[2, 11, 12]], {"kernel_size": [3, 2], "stride": 2, "padding": [1, 0], "ceil_mode": True}),
        ([[2, 5, 5]], {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    ],
    "AvgPool3d": [
        ([[2, 5, 6, 7]], {}),
        ([[2, 5, 6, 7]], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ],
    "MinPool2d": [
        ([[2, 11, 12]], {}),
        ([[2, 11, 12]], {"kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}),
    ],
    "AdaptiveAvgPool1d": [([[3, 17]], {}), ([[3, 17]], {"output_size": 5})],
    "AdaptiveAvgPool2d": [([[3, 9, 10]], {}), ([[3, 9, 10]], {"output_size": [2, 3]}), ([[3, 4, 4]], {"output_size": 6})],
    "AdaptiveAvgPool3d": [([[2, 4, 5, 6]], {"output_size": [1, 2, 3]})],
    "AdaptiveMaxPool1d": [([[3, 17]], {"output_size": 4})],
    "AdaptiveMaxPool2d": [([[3, 9, 10]], {"output_size": 3})],
    "AdaptiveMaxPool3d": [([[2, 4, 5, 6]], {})],
    "Add": [([[3, 4, 4], [3, 4, 4]], {}), ([[3, 4, 4], [3, 4, 4], [3, 4, 4]], {}), ([[6], [6]], {})],
    "Concat": [
        ([[3, 4, 4], [2, 4, 4], [1, 4, 4]], {}),
        ([[3, 4, 5], [3, 4, 2]], {"dim": -1}),
        ([[3, 4, 5], [3, 1, 5]], {"dim": 2}),
        ([[5], [7]], {}),
    ],
    "InceptionBlock": [
        ([[8, 9, 9]], {}),
        ([[3, 5, 6]], {"out_1x1": 2, "reduce_3x3": 3, "out_3x3": 4, "reduce_5x5": 1, "out_5x5": 2, "pool_proj": 1}),
    ],
    "ResidualBlock": [
        ([[4, 8, 8]], {"out_channels": 4}),  # identity skip
        ([[4, 8, 8]], {"out_channels": 4, "projection": "identity"}),
        ([[4, 8, 8]], {"out_channels": 8}),  # projection: more channels
        ([[4, 9, 9]], {"out_channels": 4, "stride": 2}),  # projection: stride
        ([[4, 8, 8]], {"out_channels": 4, "projection": "always"}),
        ([[4, 7, 7]], {"out_channels": 6, "stride": 3, "batch_norm": False}),
        ([[4, 8, 8]], {"out_channels": 4, "batch_norm": False}),
    ],
    "TorchvisionBackbone": [
        ([[3, 64, 64]], {"model": "resnet18", "output": "features"}),
        ([[3, 64, 64]], {"model": "resnet18", "output": "pooled"}),
        # Batch norm on a 1x1 map: the one-sample inference pass must not refuse it.
        ([[3, 32, 32]], {"model": "mobilenet_v3_small", "output": "features"}),
    ],
}


def _design(type_name: str, shapes: list[list[int]], params: dict):
    if type_name == "Input":
        design = chain(shapes[0])
        design.output_order = ["x"]
        return design
    if len(shapes) == 1:
        return chain(shapes[0], (type_name, params))
    return merge(type_name, params, shapes)


# Layers only an import makes, around torchvision's own detection and optical-flow code: their
# shape rules and parameter counts are checked against the models they come from, end to end and
# node by node, in tests/test_import_detection.py (a hand-made case would need a whole detector).
IMPORTED_ONLY = {"DetectionTransform", "DetectionHeads", "FlowUpdates"}


def test_every_catalogue_type_has_cases():
    assert set(CASES) | IMPORTED_ONLY == {t.name for t in catalogue.all_types()}


@pytest.mark.parametrize("type_name", [t.name for t in catalogue.all_types() if t.name not in IMPORTED_ONLY])
def test_shape_and_params_match_torch(type_name):
    cases = CASES.get(type_name)
    assert cases, f"add shape cases for the new layer type {type_name} to CASES"
    for shapes, params in cases:
        check_against_torch(_design(type_name, shapes, params))


@pytest.mark.parametrize("type_name", [t.name for t in catalogue.all_types() if t.reverse])
def test_reverse_recognises_what_build_makes(type_name):
    """Each layer's reverse (the importer's mapping) reads back the module its build made, with
    parameters that build the same module again (same tensors, same output)."""
    import torch

    from cnnstudio.core.catalogue import Call, Ctx
    from cnnstudio.importers.graph import class_path

    layer_type = catalogue.get(type_name)
    recognised = 0
    for shapes, params in CASES[type_name]:
        shapes = [tuple(s) for s in shapes]
        ctx = Ctx(shapes, layer_type.coerce_params(params), [f"in{i}" for i in range(len(shapes))])
        torch.manual_seed(0)
        built = layer_type.build(ctx).eval()
        found = layer_type.reverse(Call(class_path(type(built)), module=built, shapes=shapes))
        if found is None or found is False:
            continue  # e.g. "same" padding of an even kernel: the import keeps it as it is
        recognised += 1
        again = layer_type.build(Ctx(shapes, layer_type.coerce_params(found), ctx.sources)).eval()
        again.load_state_dict(built.state_dict())
        inputs = [torch.randn(2, *s) for s in shapes]
        assert torch.equal(built(*inputs), again(*inputs)), (params, found)
    assert recognised, f"{type_name}'s reverse recognised none of its own modules"


def test_input_alone_is_passed_through():
    import torch

    design = _design("Input", [[2, 3]], {})
    model = build_model(design)
    x = torch.randn(4, 2, 3)
    assert model(x) is x


def test_conv_chain_with_every_padding_mode():
    design = chain(
        [3, 31, 29],
        ("Conv2d", {"out_channels": 8, "kernel_size": 5, "stride": 2, "padding": "same"}),
        ("BatchNorm2d", {}),
        ("ReLU", {}),
        ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": 1, "groups": 8}),
        ("MaxPool2d", {"kernel_size": 3, "stride": 2, "ceil_mode": True}),
        ("ConvTranspose2d", {"out_channels": 4, "kernel_size": 3, "stride": 2, "output_padding": 1}),
        ("Upsample", {"mode": "bilinear", "scale_factor": 0.5}),
        ("AdaptiveAvgPool2d", {"output_size": 1}),
        ("Flatten", {}),
        ("Linear", {"out_features": 3}),
    )
    analysis = check_against_torch(design)
    assert analysis.nodes["linear1"].shape == (3,)


def test_backbone_input_too_small_is_a_shape_error_not_a_crash():
    design = chain([3, 16, 16], ("TorchvisionBackbone", {"model": "alexnet", "output": "features"}))
    analysis = analyze(design)
    assert not analysis.valid
    (error,) = analysis.nodes["torchvision_backbone1"].errors
    assert "alexnet" in error.message and "[3, 16, 16]" in error.message


def test_backbone_needs_rgb():
    analysis = analyze(chain([1, 64, 64], ("TorchvisionBackbone", {})))
    (error,) = analysis.nodes["torchvision_backbone1"].errors
    assert "3 channels" in error.message


# (type, input shapes, params): settings where torch or inference may refuse; they must agree.
VALIDITY_CASES = [
    ("MaxPool2d", [[2, 10, 10]], {"kernel_size": 3, "padding": 1}),
    ("MaxPool2d", [[2, 10, 10]], {"kernel_size": 2, "padding": 2}),
    ("MaxPool2d", [[2, 10, 10]], {"kernel_size": 3, "dilation": 2, "padding": 2}),
    ("MaxPool2d", [[2, 10, 10]], {"kernel_size": 2, "dilation": 3, "padding": 1}),
    ("MaxPool2d", [[2, 1, 1]], {"kernel_size": 3, "padding": 1}),
    ("MaxPool2d", [[2, 1, 1]], {"kernel_size": 2, "padding": 1}),
    ("MaxPool2d", [[2, 1, 1]], {"kernel_size": 2, "ceil_mode": True}),
    ("MaxPool1d", [[2, 4]], {"kernel_size": 5}),
    ("AvgPool2d", [[2, 10, 10]], {"kernel_size": 3, "padding": 2}),
    ("AvgPool1d", [[2, 5]], {"kernel_size": 2, "stride": 2, "padding": 1, "ceil_mode": True}),
    ("AvgPool1d", [[2, 1]], {"kernel_size": 3, "padding": 1}),
    ("AvgPool2d", [[2, 1, 1]], {"kernel_size": 2, "stride": 2, "ceil_mode": True}),
    ("AvgPool3d", [[2, 2, 2, 2]], {"kernel_size": 3, "padding": 1}),
    ("AvgPool3d", [[2, 1, 4, 4]], {"kernel_size": 2, "stride": 2, "ceil_mode": True}),
    ("AvgPool3d", [[2, 3, 4, 4]], {"kernel_size": 3, "padding": 1, "ceil_mode": True}),
    ("MaxPool3d", [[2, 2, 2, 2]], {"kernel_size": 3, "padding": 1}),
    ("MinPool2d", [[2, 10, 10]], {"kernel_size": 4, "padding": 2, "stride": 3}),
    ("Conv2d", [[1, 4, 4]], {"kernel_size": 5}),
    ("Conv2d", [[1, 4, 4]], {"kernel_size": 5, "padding": 1}),
    ("Conv2d", [[1, 4, 4]], {"kernel_size": 3, "dilation": 2}),
    ("Conv2d", [[4, 6, 6]], {"groups": 3, "out_channels": 6}),
    ("Conv2d", [[4, 6, 6]], {"groups": 4, "out_channels": 6}),
    ("Conv1d", [[2, 3]], {"kernel_size": 5, "padding": "same", "stride": 4}),
    ("ConvTranspose2d", [[2, 4, 4]], {"stride": 2, "output_padding": 2}),
    ("ConvTranspose2d", [[2, 4, 4]], {"stride": 1, "dilation": 2, "output_padding": 1}),
    ("ConvTranspose2d", [[2, 1, 1]], {"kernel_size": 2, "stride": 1, "padding": 1}),
    ("ConvTranspose1d", [[2, 5]], {"groups": 2, "out_channels": 3}),
    ("Upsample", [[2, 5]], {"mode": "bilinear"}),
    ("Upsample", [[2, 5, 5]], {"mode": "trilinear"}),
    ("Upsample", [[2, 5, 5]], {"scale_factor": 0.1}),
    ("Flatten", [[2, 3, 4]], {"start_dim": 3, "end_dim": 1}),
    ("Flatten", [[2, 3, 4]], {"start_dim": 4}),
    ("Softmax", [[2, 3, 4]], {"dim": 4}),
    ("BatchNorm2d", [[3, 4]], {}),
    ("BatchNorm1d", [[3, 4, 4]], {}),
    ("Linear", [[3, 4]], {}),
    ("Concat", [[3, 4, 4], [3, 5, 4]], {}),
    ("Concat", [[3, 4, 4], [3, 4]], {}),
    ("Concat", [[3, 4, 4], [3, 4, 4]], {"dim": 4}),
]


@pytest.mark.parametrize(("type_name", "shapes", "params"), VALIDITY_CASES)
def test_inference_and_torch_agree_on_validity(type_name, shapes, params):
    """Where inference refuses, torch must fail too (else inference is too strict), and vice versa."""
    import torch

    from cnnstudio.core.catalogue import Ctx

    layer_type = catalogue.get(type_name)
    clean = layer_type.coerce_params(params)
    analysis = analyze(_design(type_name, shapes, params))
    try:
        module = layer_type.build(Ctx([tuple(s) for s in shapes], clean, [f"x{i}" for i in range(len(shapes))]))
        with torch.no_grad():
            out = module(*(torch.randn(2, *s) for s in shapes))
        torch_shape = tuple(out.shape[1:]) if out.numel() else None  # empty: refused too
    except Exception:  # noqa: BLE001 - any refusal by torch counts
        torch_shape = None
    inferred = analysis.nodes[analysis.outputs[0]].shape
    assert inferred == torch_shape, [str(i) for i in analysis.errors]
    if inferred is None:
        (error,) = analysis.errors  # one error, on the node itself
        assert error.node == analysis.outputs[0]


def _sweep(family: str):
    """Every small setting of one layer family, as (type, input shape, params)."""
    from itertools import product

    if family == "Conv1d":
        for size, k, s, pad, d in product(range(1, 11), range(1, 5), range(1, 4), ["valid", "same", "causal", 0, 1, 2], [1, 2, 3]):
            yield "Conv1d", (2, size), {"out_channels": 2, "kernel_size": k, "stride": s, "padding": pad, "dilation": d}
    elif family == "Pool1d":
        for kind, size, k, s, pad, d, ceil in product(
            ["Max", "Avg"], range(1, 10), range(1, 5), [None, 1, 2, 3], [0, 1, 2], [1, 2, 3], [False, True]
        ):
            params = {"kernel_size": k, "stride": s, "padding": pad, "ceil_mode": ceil}
            if kind == "Max":
                params["dilation"] = d
            elif d > 1:
                continue
            yield f"{kind}Pool1d", (2, size), params
    elif family == "ConvTranspose1d":
        for size, k, s, pad, op, d in product(range(1, 6), range(1, 5), range(1, 4), [0, 1, 2], [0, 1, 2], [1, 2]):
            params = {"out_channels": 2, "kernel_size": k, "stride": s, "padding": pad, "output_padding": op, "dilation": d}
            yield "ConvTranspose1d", (2, size), params
    else:  # pooling kinds with their own quirks
        for size, k, s, pad, ceil in product(range(1, 6), range(1, 4), [None, 1, 2], [0, 1], [False, True]):
            params = {"kernel_size": k, "stride": s, "padding": pad, "ceil_mode": ceil}
            yield "MinPool2d", (2, size, size + 1), params
            yield "AvgPool3d", (1, size, size, 3), params
            yield "AvgPool2d", (1, size, 3), {**params, "count_include_pad": False}


@pytest.mark.parametrize("family", ["Conv1d", "Pool1d", "ConvTranspose1d", "other pools"])
def test_small_settings_sweep_agrees_with_torch(family):
    """Exhaustive over small sizes: inferred shape (or refusal) equals what the torch module does."""
    import torch

    from cnnstudio.core.catalogue import Ctx, ShapeError

    disagreements = []
    for type_name, shape, params in _sweep(family):
        layer_type = catalogue.get(type_name)
        ctx = Ctx([shape], layer_type.coerce_params(params), ["x"])
        try:
            inferred = layer_type.infer(ctx).shape
        except ShapeError:
            inferred = None
        try:
            with torch.no_grad():
                out = layer_type.build(ctx)(torch.randn(2, *shape))
            actual = tuple(out.shape[1:]) if out.numel() else None
        except Exception:  # noqa: BLE001 - any refusal by torch counts
            actual = None
        if inferred != actual:
            disagreements.append(f"{type_name} {shape} {params}: inferred {inferred}, torch {actual}")
    assert not disagreements, "\n".join(disagreements[:10])
