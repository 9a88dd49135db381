"""Mult-adds per sample must be what torchinfo reports for the compiled model (issue 7)."""

import pytest
import torch

torchinfo = pytest.importorskip("torchinfo")

from cnnstudio.core.analysis import analyze  # noqa: E402
from cnnstudio.core.compiler import build_model  # noqa: E402
from cnnstudio.core.design import Design  # noqa: E402


def chain(shape, *layers):
    design = Design("macs")
    previous = design.add_node("Input", {"shape": shape}).id
    for type_name, params in layers:
        node = design.add_node(type_name, params).id
        design.connect(previous, node)
        previous = node
    return design


CASES = {
    "figure21-like": chain(
        [1, 28, 28],
        ("Conv2d", {"out_channels": 6, "kernel_size": 5}),
        ("ReLU", {}),
        ("MaxPool2d", {"kernel_size": 2}),
        ("Flatten", {}),
        ("Linear", {"out_features": 10}),
    ),
    "conv1d-causal-dilated": chain([2, 40], ("Conv1d", {"out_channels": 4, "kernel_size": 3, "padding": "causal", "dilation": 2})),
    "conv3d-strided-same": chain([1, 8, 9, 10], ("Conv3d", {"out_channels": 3, "kernel_size": 3, "stride": 2, "padding": "same"})),
    "transpose-batchnorm": chain(
        [4, 5, 5], ("ConvTranspose2d", {"out_channels": 2, "kernel_size": 3, "stride": 2}), ("BatchNorm2d", {})
    ),
    "grouped-no-bias": chain([4, 12, 12], ("Conv2d", {"out_channels": 8, "groups": 4, "bias": False})),
    "inception": chain([8, 12, 12], ("InceptionBlock", {})),
    "residual-projection": chain([8, 12, 12], ("ResidualBlock", {"out_channels": 16, "stride": 2})),
    "residual-identity-no-bn": chain([8, 12, 12], ("ResidualBlock", {"out_channels": 8, "batch_norm": False})),
}


@pytest.mark.parametrize("name", CASES)
def test_mult_adds_match_torchinfo(name):
    design = CASES[name]
    analysis = analyze(design)
    assert analysis.valid
    model = build_model(design, analysis)
    inputs = [torch.randn(1, *analysis.nodes[n].shape) for n in analysis.inputs]
    stats = torchinfo.summary(model, input_data=inputs, verbose=0, device="cpu")
    assert analysis.total_macs == stats.total_mult_adds
    assert analysis.total_params == stats.total_params
