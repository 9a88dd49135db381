"""Training-time augmentation with torchvision.transforms.v2, each sample drawn independently.

v2 moves boxes and masks with the image (tv_tensors), so localization, detection and segmentation
targets stay right. Random numbers come from torch's global generator, whose state checkpoints
keep, so a resumed run augments exactly as an uninterrupted one. torchvision is imported only when
augmentation is on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

from cnnstudio.training.settings import AugmentSettings

if TYPE_CHECKING:
    from torchvision.transforms import v2


def build(settings: AugmentSettings) -> v2.Transform | None:
    if not settings.active:
        return None
    from torchvision.transforms import v2  # here, not above: torchvision takes seconds to import

    steps: list[v2.Transform] = []
    if settings.hflip:
        steps.append(v2.RandomHorizontalFlip(settings.hflip))
    if settings.vflip:
        steps.append(v2.RandomVerticalFlip(settings.vflip))
    if settings.shift or settings.rotation or settings.shear or settings.zoom:
        steps.append(
            v2.RandomAffine(
                degrees=settings.rotation,
                translate=(settings.shift, settings.shift) if settings.shift else None,
                scale=(1 - settings.zoom, 1 + settings.zoom) if settings.zoom else None,
                shear=settings.shear or None,
            )
        )
    return v2.Compose(steps)


def apply(transform: v2.Transform, images: Tensor, boxes: Tensor | None, masks: Tensor | None) -> tuple[Tensor, Tensor | None, Tensor | None]:
    """Augmented copies of a batch: images [N, C, H, W], boxes [N, M, 4] as fractions, masks [N, H, W]."""
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    height, width = images.shape[-2:]
    scale = torch.tensor([width, height, width, height], dtype=torch.float32, device=images.device)
    out_images, out_boxes, out_masks = [], [], []
    for i in range(images.shape[0]):
        sample: dict[str, Tensor] = {"image": tv_tensors.Image(images[i])}
        if boxes is not None:
            sample["boxes"] = tv_tensors.BoundingBoxes(boxes[i] * scale, format="CXCYWH", canvas_size=(height, width))
        if masks is not None:
            sample["mask"] = tv_tensors.Mask(masks[i])
        result = transform(sample)
        out_images.append(result["image"].as_subclass(Tensor))
        if boxes is not None:
            out_boxes.append(v2.functional.clamp_bounding_boxes(result["boxes"]).as_subclass(Tensor) / scale)
        if masks is not None:
            out_masks.append(result["mask"].as_subclass(Tensor))
    return torch.stack(out_images), _stack(out_boxes), _stack(out_masks)


def _stack(items: list[Tensor]) -> Tensor | None:
    return torch.stack(items) if items else None
