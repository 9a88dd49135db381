"""The two halves of an imported torchvision detector that are not layers: its image transform and its heads.

An imported detection model keeps its backbone and feature pyramid as layers; what surrounds them
has data-dependent control flow (resizing by the image's own size, anchors, box decoding, NMS,
ROI pooling) and runs as torchvision's own code. ``DetectionTransform`` normalises, resizes and
pads the images as the model's transform does; ``DetectionHeads`` is the rest of the model
(torchvision's builder, without its backbone) run on the images and the feature maps. Every value
between nodes is a tensor per sample, so the heads return each image's detections as a fixed-size
table (``detection_columns``). Shape rules are pure Python; building needs torchvision.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import Any

from cnnstudio.core.catalogue import Ctx, Inference, LayerType, ShapeError, register
from cnnstudio.core.layers.common import require_rank, show
from cnnstudio.core.params import BoolParam, IntParam, JsonParam

PADDING_LABEL = -1  # the label of a row past an image's detections


def _plain(value: Any) -> Any:
    """A JSON argument as Python: ``{"tuple": [...]}`` is a tuple."""
    if isinstance(value, dict) and set(value) == {"tuple"}:
        return tuple(value["tuple"])
    return value


def resized(shape: tuple[int, ...], arguments: dict[str, Any]) -> tuple[int, int, int]:
    """What torchvision's ``GeneralizedRCNNTransform`` makes of a batch of ``shape`` images in
    evaluation mode: the last minimum size (or the fixed size), capped by the maximum, then padded
    up to a multiple of ``size_divisible``; a ShapeError where a side would shrink to nothing."""
    c, h, w = shape
    fixed = _plain(arguments.get("fixed_size"))
    if fixed:
        h, w = int(fixed[1]), int(fixed[0])
    else:
        smallest = _plain(arguments["min_size"])
        smallest = smallest[-1] if isinstance(smallest, (tuple, list)) else smallest
        scale = min(float(smallest) / min(h, w), float(arguments["max_size"]) / max(h, w))
        h, w = math.floor(h * scale), math.floor(w * scale)
        if not (h and w):
            raise ShapeError(f"DetectionTransform: images of {shape[1]}x{shape[2]} would be resized to {h}x{w} "
                             f"(the shorter side to {smallest}, the longer at most {arguments['max_size']})")
    stride = float(arguments.get("size_divisible", 32))
    return c, int(math.ceil(h / stride) * stride), int(math.ceil(w / stride) * stride)


def _transform_infer(ctx: Ctx) -> Inference:
    c, h, w = require_rank(ctx, "DetectionTransform", 3)
    arguments = ctx.p["arguments"]
    mean = arguments.get("image_mean") if isinstance(arguments, dict) else None
    if not isinstance(mean, list) or "max_size" not in arguments or not ("min_size" in arguments or "fixed_size" in arguments):
        raise ShapeError("DetectionTransform: its arguments need min_size, max_size, image_mean and image_std")
    if c != len(mean):
        raise ShapeError(f"DetectionTransform: the model normalises {len(mean)} channels, but the images have {c}")
    shape = resized((c, h, w), arguments)
    return Inference(shape, formulas=[f"normalised, resized and padded: {show(ctx.shape)} → {show(shape)}"])


def _transform_build(ctx: Ctx):
    from cnnstudio.core.detectors import build_transform

    return build_transform(ctx.p["arguments"])


def detection_columns(image: tuple[int, ...], keypoints: int, masks: bool) -> list[tuple[str, int]]:
    """The columns of a detection row: the box (x1, y1, x2, y2), its score and label, then each
    keypoint's x, y and visibility and each keypoint's score, then the mask at the image's size."""
    columns = [("boxes", 4), ("scores", 1), ("labels", 1)]
    if keypoints:
        columns += [("keypoints", 3 * keypoints), ("keypoints_scores", keypoints)]
    if masks:
        columns.append(("masks", image[-2] * image[-1]))
    return columns


def _heads_infer(ctx: Ctx) -> Inference:
    names = ctx.p["features"]
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ShapeError("DetectionHeads: 'features' lists the names of the backbone's feature maps")
    if len(ctx.shapes) != 1 + len(names):
        raise ShapeError(f"DetectionHeads takes the images and the {len(names)} feature map(s) "
                         f"{', '.join(names)}, in that order, but {len(ctx.shapes)} input(s) are connected")
    if len(ctx.shapes[0]) != 3 or any(len(s) != 3 for s in ctx.shapes[1:]):
        raise ShapeError("DetectionHeads: the images and every feature map are [C, H, W]")
    columns = detection_columns(ctx.shapes[0], ctx.p["keypoints"], ctx.p["masks"])
    shape = (ctx.p["detections"], sum(width for _, width in columns))
    layout = ", ".join(f"{name} {width}" for name, width in columns)
    params = _heads_parameters(json.dumps(ctx.p["builder"]), json.dumps(ctx.p["arguments"], sort_keys=True))
    return Inference(shape, params, formulas=[f"up to {shape[0]} detections per image, one row each: {layout}; "
                                      f"rows past the image's detections are 0 with label {PADDING_LABEL}"])


@lru_cache(maxsize=64)
def _heads_parameters(builder: str, arguments: str) -> int:
    """The heads' parameter count: the model built on the meta device (no memory), less its backbone."""
    import torch

    from cnnstudio.core.calls import CallError
    from cnnstudio.core.detectors import build_detector

    try:
        with torch.device("meta"):
            model = build_detector(json.loads(builder), json.loads(arguments))
    except CallError as error:
        raise ShapeError(f"DetectionHeads: {error}") from None
    return sum(p.numel() for name, p in model.named_parameters() if not name.startswith("backbone."))


def _heads_build(ctx: Ctx):
    from cnnstudio.core.detectors import build_heads

    return build_heads(ctx.p["builder"], ctx.p["arguments"], ctx.p["features"], ctx.p["detections"],
                       ctx.p["keypoints"], ctx.p["masks"])


register(
    LayerType(
        name="DetectionTransform",
        category="blocks",
        help="An imported detector's image transform (torchvision's GeneralizedRCNNTransform): normalises "
        "the images, resizes them by their own size (or to a fixed size) and pads them, as the model does.",
        params=(JsonParam("arguments", {}, "The transform's constructor arguments: min_size, max_size, "
                                           "image_mean, image_std, size_divisible, fixed_size."),),
        infer=_transform_infer,
        build=_transform_build,
        opaque=True,
    ),
    LayerType(
        name="DetectionHeads",
        category="blocks",
        help="An imported torchvision detector without its backbone: anchors, region proposals, ROI "
        "pooling, box decoding and non-maximum suppression, run as torchvision's code on the images "
        "and the backbone's feature maps. Each image's detections come out as a table of a fixed "
        "number of rows (box, score, label, and keypoints or masks when the model has them).",
        params=(
            JsonParam("builder", "fasterrcnn_mobilenet_v3_large_320_fpn",
                      "The torchvision.models.detection builder whose heads these are."),
            JsonParam("arguments", {}, "The builder's keyword arguments (classes, sizes, thresholds)."),
            JsonParam("features", ["0"], "The names of the feature maps, in the order they are connected."),
            IntParam("detections", 100, "Rows per image: the model's most detections per image.", 1, 100_000),
            IntParam("keypoints", 0, "Keypoints per detection (Keypoint R-CNN), or 0.", 0, 10_000),
            BoolParam("masks", False, "Whether each detection has a mask (Mask R-CNN)."),
        ),
        infer=_heads_infer,
        build=_heads_build,
        max_inputs=None,
        opaque=True,
    ),
)
