"""Image files in and out, as [C, H, W] float tensors in [0, 1]; errors are sentences."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.synthesis.network import SynthesisError

READABLE = "PNG, JPEG, BMP, GIF, TIFF or WebP"


def read_image(path: str | Path) -> Tensor:
    """An image file as [C, H, W] in [0, 1]: C is 1 for grey files, else 3 (alpha dropped)."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    from cnnstudio.core.regular import kind_of
    from cnnstudio.training.data.images import open_image

    path = Path(path)
    if not path.is_file():
        kind = kind_of(path)
        raise SynthesisError(f"{path}: no such file" if kind is None else f"{path} is {kind}, not an image")
    try:
        with open_image(path) as opened:
            image = ImageOps.exif_transpose(opened)
            grey = image.mode in ("1", "L", "LA", "I", "I;16", "F")
            pixels = np.asarray(image.convert("L" if grey else "RGB"), dtype=np.float32)
    except Image.DecompressionBombError:
        raise SynthesisError(f"{path.name} has more than the {Image.MAX_IMAGE_PIXELS:,} pixels an image may have "
                             "here (decoding one that large can exhaust the memory); scale it down first") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise SynthesisError(f"{path.name} cannot be read as an image; use a {READABLE} file") from None
    array = torch.from_numpy(pixels.copy()).div_(255)
    return array[None] if grey else array.permute(2, 0, 1).contiguous()


def fit_image(image: Tensor, channels: int, longest_side: int | None) -> Tensor:
    """``image`` turned grey or RGB as the network wants, its longest side scaled to ``longest_side``."""
    from cnnstudio.training.data.convert import LUMA

    if image.shape[0] == 3 and channels == 1:
        image = (image * torch.tensor(LUMA).view(3, 1, 1)).sum(0, keepdim=True)
    elif image.shape[0] == 1 and channels == 3:
        image = image.expand(3, -1, -1)
    if longest_side:
        scale = longest_side / max(image.shape[1:])
        size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[2] * scale)))
        image = F.interpolate(image[None], size=size, mode="bilinear", antialias=True, align_corners=False)[0]
    return image.clamp(0, 1).contiguous()


def to_uint8(image: Tensor) -> Tensor:
    return (image.detach().float().cpu().clamp(0, 1) * 255).round().to(torch.uint8)


def write_png(image: Tensor, path: str | Path) -> None:
    """Write a [C, H, W] image in [0, 1] as PNG, atomically (a half-written file never replaces one)."""
    import io

    from PIL import Image

    from cnnstudio.core import atomic

    path = Path(path)
    if path.suffix.lower() != ".png":
        raise SynthesisError(f"{path.name}: the output is written as PNG; name it with .png")
    try:
        pixels = to_uint8(image).permute(1, 2, 0).numpy()
        buffer = io.BytesIO()
        Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels).save(buffer, format="PNG")
        data = buffer.getvalue()
        atomic.atomic_write(path, lambda target: target.write_bytes(data))
    except OSError as error:
        raise SynthesisError(f"cannot write {path}: {error.strerror or error}") from None


def grid(images: Tensor, columns: int | None = None, gap: int = 2) -> Tensor:
    """Images [N, C, H, W] in one picture, near-square, separated by white gaps."""
    count = len(images)
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    _, channels, height, width = images.shape
    sheet = torch.ones(channels, rows * (height + gap) - gap, columns * (width + gap) - gap)
    for index, image in enumerate(images):
        row, column = divmod(index, columns)
        top, left = row * (height + gap), column * (width + gap)
        sheet[:, top: top + height, left: left + width] = image.clamp(0, 1)
    return sheet
