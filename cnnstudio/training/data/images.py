"""Reading image files for the file sources: listing, decoding to the Input's shape, masks.

PIL decodes (it reads the header alone when a file is opened, and every common format); pixels go
straight into a uint8 tensor, without torchvision. What cannot be read raises one of
:data:`UNREADABLE`, which the sources catch, count and name: a stray README or a half-downloaded
JPEG never stops a run.
"""

from __future__ import annotations

import contextlib
import os
import stat
import warnings
from collections.abc import Callable, Iterator
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


@contextlib.contextmanager
def open_image(path: Path) -> Iterator[Image.Image]:
    """PIL's image of the regular file ``path``. A FIFO or a device (a data list may name
    /dev/zero) raises OSError at once instead of blocking or reading forever; an image over PIL's
    pixel limit raises ``DecompressionBombError`` (PIL would otherwise print a raw warning for one
    up to twice the limit and then decode it)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as handle:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise IsADirectoryError(f"{path} is a folder") if stat.S_ISDIR(mode) else OSError(
                f"{path} is not a regular file (a device, a pipe or a socket)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            try:
                image = Image.open(handle)
            except Image.DecompressionBombWarning as warning:
                raise Image.DecompressionBombError(str(warning)) from None
        with image:
            yield image


def decode(path: Path, shape: tuple[int, int, int]) -> tuple[Tensor, tuple[int, int]]:
    """The image resized to ``shape`` (C, H, W) as uint8 [C, H, W], and its size on disk (width, height)."""
    channels, height, width = shape
    with open_image(path) as image:
        size = image.size
        pixels = image.convert("L" if channels == 1 else "RGB").resize((width, height), Image.BILINEAR)
    return to_tensor(pixels), size


def decode_mask(path: Path, height: int, width: int) -> Tensor:
    """A mask image (0: background, class + 1 inside each object) as uint8 [H, W], nearest-resized."""
    with open_image(path) as image:
        values = image.convert("L").resize((width, height), Image.NEAREST)
    return to_tensor(values)[0]


def report_skipped(where: str, names: list[str], warn: Callable[[str], None], what: str = "not readable images") -> None:
    """One warning with the count and the first few names."""
    if not names:
        return
    shown = ", ".join(names[:SHOWN_SKIPS])
    more = f" and {len(names) - SHOWN_SKIPS} more" if len(names) > SHOWN_SKIPS else ""
    warn(f"{where}: skipped {len(names)} file(s) that are {what}: {shown}{more}")
