"""Designs the benchmarks build in code, where no template has the size they need."""

from __future__ import annotations

from cnnstudio.core.design import Design

RESNET18_STAGES = ((64, 1), (128, 2), (256, 2), (512, 2))  # (channels, stride of the stage's first block)


def resnet18_sized(shape: tuple[int, int, int], classes: int) -> Design:
    """ResNet-18's layout from the catalogue's layers: a 7x7 stem, four stages of two basic
    residual blocks, global average pooling and a classifier (11.7 M parameters at 1,000 classes)."""
    design = Design(name="ResNet-18-sized")
    previous = design.add_node("Input", {"shape": list(shape)}, node_id="x").id
    layers = [("Conv2d", {"out_channels": 64, "kernel_size": 7, "stride": 2, "padding": 3, "bias": False}),
              ("BatchNorm2d", {}), ("ReLU", {}), ("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1})]
    layers += [("ResidualBlock", {"out_channels": channels, "stride": stride if block == 0 else 1})
               for channels, stride in RESNET18_STAGES for block in range(2)]
    layers += [("AdaptiveAvgPool2d", {"output_size": 1}), ("Flatten", {}), ("Linear", {"out_features": classes})]
    for type_name, params in layers:
        node = design.add_node(type_name, params).id
        design.connect(previous, node)
        previous = node
    return design
