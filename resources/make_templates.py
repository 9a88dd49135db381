"""Writes the templates made from real networks: the original U-Net and torchvision's AlexNet,
VGG-16, ResNet-18 and GoogLeNet (imported, so they are exactly torchvision's models and take
torchvision's pretrained weights by node id). Run it again after changing the importer:

    python resources/make_templates.py
"""

from __future__ import annotations

from pathlib import Path

import torchvision

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import save_design
from cnnstudio.core.layout import layered_positions
from cnnstudio.importers.graph import convert
from cnnstudio.importers.groups import add_module_groups

TEMPLATES = Path(__file__).resolve().parent / "templates"
CLASSIFY = {"task": "classification", "data": "synthetic-shapes", "data_options": {"count": 600},
            "epochs": 2, "batch_size": 16, "lr": 0.0005, "seed": 0}
NETWORKS = {  # file stem -> (menu name, how torchvision builds it, as its pretrained weights expect)
    "tv_alexnet": ("AlexNet (torchvision, pretrained)", lambda: torchvision.models.alexnet()),
    "tv_vgg16": ("VGG-16 (torchvision, pretrained)", lambda: torchvision.models.vgg16()),
    "tv_resnet18": ("ResNet-18 (torchvision, pretrained)", lambda: torchvision.models.resnet18()),
    "tv_googlenet": ("GoogLeNet (torchvision, pretrained)", lambda: torchvision.models.googlenet(
        aux_logits=False, transform_input=True, init_weights=False)),
}


def torchvision_template(stem: str) -> Design:
    name, build = NETWORKS[stem]
    design = convert(build(), [(3, 224, 224)], name, collapsed=False).design
    design.weights = f"torchvision:{stem.removeprefix('tv_')}"
    design.training = dict(CLASSIFY)
    return design


def unet() -> Design:
    """Ronneberger et al. 2015: valid 3x3 convolutions, 2x2 max-pools, 2x2 up-convolutions, the
    contracting path's maps cropped to the expanding path's size and concatenated; 572 -> 388."""
    d = Design("U-Net (original, 572x572)")
    d.add_node("Input", {"shape": [1, 572, 572]}, "x")
    last = "x"

    def block(prefix: str, channels: int) -> str:
        nonlocal last
        for i in (1, 2):
            d.add_node("Conv2d", {"out_channels": channels, "kernel_size": 3}, f"{prefix}.conv{i}")
            d.connect(last, f"{prefix}.conv{i}")
            d.add_node("ReLU", {}, f"{prefix}.relu{i}")
            d.connect(f"{prefix}.conv{i}", f"{prefix}.relu{i}")
            last = f"{prefix}.relu{i}"
        return last

    skips = []
    for level, channels in enumerate((64, 128, 256, 512), start=1):
        skips.append(block(f"down{level}", channels))
        d.add_node("MaxPool2d", {"kernel_size": 2}, f"down{level}.pool")
        d.connect(last, f"down{level}.pool")
        last = f"down{level}.pool"
    block("bottom", 1024)
    for level, channels in zip((4, 3, 2, 1), (512, 256, 128, 64)):
        up, crop, join = f"up{level}.upconv", f"up{level}.crop", f"up{level}.concat"
        d.add_node("ConvTranspose2d", {"out_channels": channels, "kernel_size": 2, "stride": 2}, up)
        d.connect(last, up)
        d.add_node("Crop", {"mode": "like"}, crop)
        d.connect(skips[level - 1], crop)
        d.connect(up, crop)
        d.add_node("Concat", {"dim": 1}, join)
        d.connect(crop, join)
        d.connect(up, join)
        last = join
        block(f"up{level}", channels)
    d.add_node("Conv2d", {"out_channels": 2, "kernel_size": 1}, "head", label="2 class scores per pixel")
    d.connect(last, "head")
    scopes = {node_id: node_id.partition(".")[0] if "." in node_id else "" for node_id in d.graph}
    add_module_groups(d, scopes, {}, collapsed=False)  # down1..4, bottom, up4..1
    for node_id, pos in layered_positions(d).items():
        d.node(node_id).pos = pos
    # Two classes as in the paper: background and one kind of object (here: circles, up to 4 each).
    d.training = {"task": "segmentation", "data": "synthetic-shapes",
                  "data_options": {"count": 200, "shapes": ["circle"], "objects": 4},
                  "epochs": 2, "batch_size": 2, "lr": 0.0005, "seed": 0}
    return d


def main() -> None:
    save_design(unet(), TEMPLATES / "unet_original.json")
    for stem in NETWORKS:
        save_design(torchvision_template(stem), TEMPLATES / f"{stem}.json")


if __name__ == "__main__":
    main()
