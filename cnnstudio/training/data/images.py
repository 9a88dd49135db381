"""Reading image files for the file sources: listing, decoding to the Input's shape, masks.

PIL decodes (it reads the header alone when a file is opened, and every common format); pixels go
straight into a uint8 tensor, without torchvision. What cannot be read raises one of
:data:`UNREADABLE`, which the sources catch, count and name: a stray README or a half-downloaded
JPEG never stops a run.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torch import Tensor

UNREADABLE = (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError)
SHOWN_SKIPS = 10


def image_suffixes() -> frozenset[str]:
    Image.init()
    return frozenset(Image.registered_extensions())


def list_images(folder: Path) -> tuple[list[Path], list[Path]]:
    """The image files under ``folder`` (by name, sorted) and the other files, hidden ones aside."""
    suffixes = image_suffixes()
    images, others = [], []
    for path in sorted(folder.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(folder).parts):
            (images if path.suffix.lower() in suffixes else others).append(path)
    return images, others


def to_tensor(image: Image.Image) -> Tensor:
    """A PIL image in mode L or RGB as a uint8 tensor [C, H, W]."""
    channels = len(image.getbands())
    pixels = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8)
    return pixels.view(image.height, image.width, channels).permute(2, 0, 1).contiguous()


def decode(path: Path, shape: tuple[int, int, int]) -> tuple[Tensor, tuple[int, int]]:
    """The image resized to ``shape`` (C, H, W) as uint8 [C, H, W], and its size on disk (width, height)."""
    channels, height, width = shape
    with Image.open(path) as image:
        size = image.size
        pixels = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
    return to_tensor(pixels), size


def decode_mask(path: Path, height: int, width: int) -> Tensor:
    """A mask image (0: background, class + 1 inside each object) as uint8 [H, W], nearest-resized."""
    with Image.open(path) as image:
        values = image.convert("L").resize((width, height), Image.NEAREST)
    return to_tensor(values)[0]


def report_skipped(where: str, names: list[str], warn: Callable[[str], None], what: str = "not readable images") -> None:
    """One warning with the count and the first few names."""
    if not names:
        return
    shown = ", ".join(names[:SHOWN_SKIPS])
    more = f" and {len(names) - SHOWN_SKIPS} more" if len(names) > SHOWN_SKIPS else ""
    warn(f"{where}: skipped {len(names)} file(s) that are {what}: {shown}{more}")
