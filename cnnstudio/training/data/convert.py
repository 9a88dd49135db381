"""Fitting images to a design's Input shape: size and channels."""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.errors import TrainingError

LUMA = (0.299, 0.587, 0.114)


def image_shape(shape: tuple[int, ...], source: str) -> tuple[int, int, int]:
    """The (C, H, W) an image source must produce, or a clear error for other Input shapes."""
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise TrainingError(
            f"{source} gives images, so the Input must have shape [1, H, W] (grayscale) or [3, H, W] "
            f"(colour); it is {list(shape)}"
        )
    return shape  # type: ignore[return-value]


def fit_images(images: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``images`` [N, C, H, W] resized and turned grayscale or RGB to match ``shape`` (C, H, W)."""
    channels, height, width = shape
    dtype = images.dtype
    if images.shape[1] == channels and tuple(images.shape[2:]) == (height, width):
        return images
    x = images.float()
    if images.shape[1] == 3 and channels == 1:
        x = (x * torch.tensor(LUMA, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif images.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    if tuple(x.shape[2:]) != (height, width):
        x = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    if dtype == torch.uint8:
        return x.round().clamp(0, 255).to(torch.uint8)
    return x.clamp(0, 1)


def to_float(images: Tensor) -> Tensor:
    """uint8 0-255 or float 0-1 images as float in [0, 1]."""
    return images.float().div_(255) if images.dtype == torch.uint8 else images.float()
