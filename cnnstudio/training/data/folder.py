"""folder:PATH: one sub-folder per class, images of any size (torchvision's ImageFolder layout).

Images are decoded once, converted to the Input's channels and resized to its size. A file that
cannot be read as an image is skipped, counted and named in a warning, never a crash: a stray
README or a half-downloaded JPEG should not stop a run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.convert import image_shape
from cnnstudio.training.errors import TrainingError

SHOWN_SKIPS = 10


def load(folder: str, shape: tuple[int, ...], warn: Callable[[str], None]) -> TensorData:
    from torchvision.transforms.v2 import functional as TF  # here: only this source needs torchvision

    root = Path(folder).expanduser()
    if not root.is_dir():
        raise TrainingError(f"folder:{folder}: no such folder")
    channels, height, width = image_shape(shape, f"folder:{folder}")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise TrainingError(f"folder:{folder}: expected one sub-folder per class (e.g. cats/, dogs/), found none")
    images, labels, skipped = [], [], []
    for label, name in enumerate(classes):
        for path in sorted(p for p in (root / name).rglob("*") if p.is_file() and not p.name.startswith(".")):
            try:
                with Image.open(path) as image:
                    pixels = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
            except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
                skipped.append(path.relative_to(root).as_posix())
                continue
            images.append(TF.pil_to_tensor(pixels))
            labels.append(label)
    if skipped:
        names = ", ".join(skipped[:SHOWN_SKIPS]) + (f" and {len(skipped) - SHOWN_SKIPS} more" if len(skipped) > SHOWN_SKIPS else "")
        warn(f"folder:{folder}: skipped {len(skipped)} file(s) that are not readable images: {names}")
    if not images:
        raise TrainingError(f"folder:{folder}: no readable image in {', '.join(classes)}")
    return TensorData(torch.stack(images), torch.tensor(labels), classes)
