"""The torch side of ``DetectionTransform`` and ``DetectionHeads`` (see ``layers/detection.py``).

The heads are torchvision's own model, made by its builder, with the backbone swapped for a
stand-in that hands over the feature maps the design computed: so anchors, proposals, ROI
pooling, box decoding and NMS run as torchvision's code, exactly as in the imported model. A
builder is named from the closed list of ``torchvision.models.detection`` (a design is data).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import torch
from torch import Tensor, nn

from cnnstudio.core.calls import CallError, check_arguments
from cnnstudio.core.layers.detection import PADDING_LABEL, detection_columns


def detection_builders() -> list[str]:
    """The builders a design may name: every model of ``torchvision.models.detection``."""
    import torchvision

    return torchvision.models.list_models(module=torchvision.models.detection)


def build_detector(builder: Any, arguments: Any) -> nn.Module:
    """torchvision's detector ``builder`` with random weights and these keyword arguments."""
    import torchvision

    if not isinstance(builder, str) or builder not in detection_builders():
        raise CallError(f"'{str(builder)[:80]}' is not one of torchvision's detection models "
                        f"({', '.join(detection_builders())})")
    decoded = check_arguments(arguments)
    try:
        return torchvision.models.get_model(builder, weights=None, weights_backbone=None, **decoded)
    except (TypeError, ValueError) as error:
        raise CallError(f"cannot build {builder} with {', '.join(decoded) or 'no arguments'}: {error}") from None


def build_transform(arguments: Any) -> ImageTransform:
    """torchvision's ``GeneralizedRCNNTransform`` from its constructor arguments."""
    from torchvision.models.detection.transform import GeneralizedRCNNTransform

    try:
        return ImageTransform(GeneralizedRCNNTransform(**check_arguments(arguments)))
    except TypeError as error:
        raise CallError(f"cannot build the detection transform: {error}") from None


class ImageTransform(nn.Module):
    """A detector's ``GeneralizedRCNNTransform`` that returns the batched images only."""

    def __init__(self, transform: nn.Module):
        super().__init__()
        self.transform = transform

    def forward(self, images: Tensor) -> Tensor:
        return self.transform(images)[0].tensors


class FeatureMaps(nn.Module):
    """Stands for a detector's backbone: returns the feature maps it was handed."""

    def __init__(self, out_channels: int):
        super().__init__()
        self.out_channels = out_channels
        self.maps: OrderedDict[str, Tensor] | None = None

    def forward(self, images: Tensor) -> OrderedDict[str, Tensor]:
        if self.maps is None:
            raise RuntimeError("the detection heads run only on the feature maps they are given")
        return self.maps


class DetectionHeads(nn.Module):
    """A torchvision detector whose backbone is the design's: ``forward(images, *feature_maps)``
    runs the model's own forward (transform, anchors, heads, NMS, rescaling to the images' size)
    and returns each image's detections as ``[rows, columns]`` (``pack_detections``)."""

    def __init__(self, model: nn.Module, features: list[str], rows: int, keypoints: int, masks: bool):
        super().__init__()
        model.backbone = FeatureMaps(getattr(model.backbone, "out_channels", 0))
        self.model = model
        self.features, self.rows, self.keypoints, self.masks = list(features), rows, keypoints, masks

    def forward(self, images: Tensor, *maps: Tensor) -> Tensor:
        if self.training:
            raise RuntimeError("DetectionHeads run in evaluation mode only: torchvision's detection losses take each "
                               "image's boxes as targets, which CNN Studio's training tasks do not give")
        stand_in = self.model.backbone
        stand_in.maps = OrderedDict(zip(self.features, maps))
        try:
            detections = self.model(images)
        finally:
            stand_in.maps = None
        return pack_detections(detections, self.rows, detection_columns(tuple(images.shape[1:]), self.keypoints, self.masks))


def pack_detections(detections: list[dict[str, Tensor]], rows: int, columns: list[tuple[str, int]]) -> Tensor:
    """torchvision's detections (one dict per image) as one tensor ``[images, rows, columns]``:
    each detection a row of its values in ``columns`` order, padded with zeros and label -1."""
    packed = []
    for found in detections:
        count = len(found["boxes"])
        if count > rows:
            raise ValueError(f"an image has {count} detections, more than the {rows} rows of the table")
        table = torch.cat([found[name].reshape(count, width).to(found["boxes"].dtype) for name, width in columns], 1)
        padding = table.new_zeros(rows - count, table.shape[1])
        padding[:, 5] = PADDING_LABEL
        packed.append(torch.cat([table, padding]))
    return torch.stack(packed)


def build_heads(builder: Any, arguments: Any, features: list[str], rows: int, keypoints: int, masks: bool) -> DetectionHeads:
    """The heads of ``builder`` (its backbone is built, then dropped); the node's own numbers must be the model's."""
    model = build_detector(builder, arguments)
    heads = DetectionHeads(model, features, rows, keypoints, masks)
    have = detection_layout(model)
    if have != (rows, keypoints, masks):
        raise CallError(f"{builder} makes {have[0]} rows, {have[1]} keypoints and {'' if have[2] else 'no '}masks, "
                        f"not the node's {rows}, {keypoints} and {'' if masks else 'no '}masks")
    return heads.eval()


def detection_layout(model: nn.Module) -> tuple[int, int, bool]:
    """A torchvision detector's most detections per image, keypoints per detection, and whether it makes masks."""
    heads = getattr(model, "roi_heads", None)
    if heads is None:  # RetinaNet, FCOS, SSD: the model itself decides
        return model.detections_per_img, 0, False
    predictor = getattr(heads, "keypoint_predictor", None)
    return (heads.detections_per_img, predictor.kps_score_lowres.out_channels if predictor is not None else 0,
            getattr(heads, "mask_predictor", None) is not None)


def flow_builders() -> list[str]:
    """The optical-flow builders a design may name: every model of ``torchvision.models.optical_flow``."""
    import torchvision

    return torchvision.models.list_models(module=torchvision.models.optical_flow)


def build_flow_model(builder: Any) -> nn.Module:
    """torchvision's optical-flow model ``builder`` with random weights (its builders take no settings)."""
    import torchvision

    if not isinstance(builder, str) or builder not in flow_builders():
        raise CallError(f"'{str(builder)[:80]}' is not one of torchvision's optical-flow models "
                        f"({', '.join(flow_builders())})")
    return torchvision.models.get_model(builder, weights=None)


class Given(nn.Module):
    """Stands for an encoder: returns the tensor it was handed."""

    def __init__(self) -> None:
        super().__init__()
        self.value: Tensor | None = None

    def forward(self, images: Tensor) -> Tensor:
        if self.value is None:
            raise RuntimeError("the flow updates run only on the encoders' outputs they are given")
        return self.value


class FlowUpdates(nn.Module):
    """RAFT without its encoders: ``forward(image1, image2, features1, features2, context)`` runs the
    model's own forward (correlation pyramid, the recurrent updates, upsampling) and returns every
    update's flow, ``[updates, 2, H, W]`` per sample."""

    def __init__(self, model: nn.Module, updates: int):
        super().__init__()
        model.feature_encoder, model.context_encoder = Given(), Given()
        self.model, self.updates = model, updates

    def forward(self, image1: Tensor, image2: Tensor, features1: Tensor, features2: Tensor, context: Tensor) -> Tensor:
        encoders = (self.model.feature_encoder, self.model.context_encoder)
        encoders[0].value, encoders[1].value = torch.cat([features1, features2]), context
        try:
            flows = self.model(image1, image2, num_flow_updates=self.updates)
        finally:
            encoders[0].value = encoders[1].value = None
        return torch.stack(flows, 1)


def build_flow_updates(builder: Any, updates: int) -> FlowUpdates:
    return FlowUpdates(build_flow_model(builder), updates).eval()
