"""Pictures for the views, in numpy: colour maps, mosaics of maps, overlays, and image files read with
Qt (PNG, JPEG, BMP, GIF, ...) into [C, H, W] arrays in [0, 1]. No torch here: the window imports
these modules at start, before torch is loaded."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor, QImage, QImageReader

SEQUENTIAL = "viridis"  # activations: dark = low, bright = high
DIVERGING = "CET-D1"  # kernels: blue negative, white zero, red positive
HEAT = "inferno"  # saliency
CLASS_COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf"]  # matplotlib's tab10: tells ten classes apart, also in grey print


class ImageFileError(ValueError):
    """A file that cannot be used as a probe; the message says why, in words."""


def class_color(index: int, alpha: int = 255) -> QColor:
    color = QColor(CLASS_COLORS[index % len(CLASS_COLORS)])
    color.setAlpha(alpha)
    return color


def to_numpy(tensor: object) -> np.ndarray:
    """A CPU tensor (or array) as a float32 numpy array, without importing torch."""
    return np.asarray(tensor.numpy() if hasattr(tensor, "numpy") else tensor, dtype=np.float32)


def grid_shape(count: int, aspect: float = 1.0) -> tuple[int, int]:
    """Rows and columns for ``count`` tiles of width/height ``aspect``, close to a square overall."""
    cols = max(1, math.ceil(math.sqrt(count / max(aspect, 1e-6))))
    return math.ceil(count / cols), cols


def normalise(values: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((values - low) / (high - low), 0, 1) if high > low else np.full_like(values, 0.5)


def colorize(values: np.ndarray, cmap: str, low: float, high: float) -> np.ndarray:
    """Values in [low, high] through a colour map: an [..., 4] uint8 RGBA array."""
    lut = pg.colormap.get(cmap).getLookupTable(0.0, 1.0, 256, alpha=True)
    return lut[(normalise(values, low, high) * 255).astype(np.uint8)]


@dataclass(frozen=True)
class Mosaic:
    """Tiles laid out in a grid with gaps: ``image`` [H, W, 4] RGBA (gaps transparent) and where
    each tile is, so a click or hover can be mapped back to a tile and a value."""

    image: np.ndarray
    tile: tuple[int, int]  # (height, width) of every tile
    cols: int
    gap: int
    count: int

    def locate(self, x: float, y: float) -> tuple[int, int, int] | None:
        """Image coordinates -> (tile index, row, column) inside the tile, or None in a gap."""
        h, w = self.tile
        col, dx = divmod(int(math.floor(x)), w + self.gap)
        row, dy = divmod(int(math.floor(y)), h + self.gap)
        index = row * self.cols + col
        if x < 0 or y < 0 or dx >= w or dy >= h or col >= self.cols or index >= self.count:
            return None
        return index, dy, dx

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left (x, y) of a tile in image coordinates."""
        row, col = divmod(index, self.cols)
        return col * (self.tile[1] + self.gap), row * (self.tile[0] + self.gap)


def mosaic(tiles: np.ndarray, cols: int, gap: int = 1) -> Mosaic:
    """RGBA ``tiles`` [N, h, w, 4] laid out ``cols`` to a row."""
    count, h, w = tiles.shape[:3]
    rows = math.ceil(count / cols)
    image = np.zeros((rows * (h + gap) - gap, cols * (w + gap) - gap, 4), dtype=np.uint8)
    for index in range(count):
        row, col = divmod(index, cols)
        image[row * (h + gap): row * (h + gap) + h, col * (w + gap): col * (w + gap) + w] = tiles[index]
    return Mosaic(image, (h, w), cols, gap, count)


def rgba_image(image: np.ndarray) -> np.ndarray:
    """A [C, H, W] image in [0, 1] (grey or RGB) as [H, W, 4] uint8 RGBA."""
    rgb = np.repeat(image[:1], 3, 0) if image.shape[0] != 3 else image
    alpha = np.ones_like(rgb[:1])
    return (np.concatenate([rgb, alpha]).transpose(1, 2, 0).clip(0, 1) * 255).astype(np.uint8)


def overlay(image: np.ndarray, heat: np.ndarray, cmap: str = HEAT, strength: float = 0.6) -> np.ndarray:
    """A [0, 1] ``heat`` map [H, W] over a [C, H, W] image, more opaque where it is hotter."""
    base = rgba_image(image).astype(np.float32)
    colour = colorize(heat, cmap, 0.0, 1.0).astype(np.float32)
    weight = (strength * np.clip(heat, 0, 1) ** 0.7)[..., None]
    out = base * (1 - weight) + colour * weight
    out[..., 3] = 255
    return out.astype(np.uint8)


def label_overlay(image: np.ndarray, labels: np.ndarray, alpha: float = 0.55) -> np.ndarray:
    """A segmentation ``labels`` map [H, W] (0: background) tinted over a [C, H, W] image."""
    base = rgba_image(image).astype(np.float32)
    palette = np.array([[*QColor(c).getRgb()] for c in CLASS_COLORS], dtype=np.float32)
    colour = palette[(labels.astype(np.int64) - 1) % len(CLASS_COLORS)]
    mask = (labels > 0)[..., None] * alpha
    out = base * (1 - mask) + colour * mask
    out[..., 3] = 255
    return out.astype(np.uint8)


def read_image(path: str | Path) -> np.ndarray:
    """An image file as [C, H, W] float32 in [0, 1]: C is 1 for grey files, else 3 (alpha dropped)."""
    path = Path(path)
    if not path.is_file():
        raise ImageFileError(f"{path.name}: no such file")
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    image = reader.read()
    if image.isNull():
        formats = ", ".join(sorted({bytes(f).decode().upper() for f in QImageReader.supportedImageFormats()}
                                   & {"PNG", "JPEG", "JPG", "BMP", "GIF", "PPM", "PGM", "TIFF", "WEBP"}))
        raise ImageFileError(f"{path.name} cannot be read as an image ({reader.errorString().rstrip('.')}). "
                             f"Use an image file: {formats}.")
    grey = image.isGrayscale()
    image = image.convertToFormat(QImage.Format.Format_Grayscale8 if grey else QImage.Format.Format_RGB888)
    channels = 1 if grey else 3
    data = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    pixels = data[:, : image.width() * channels].reshape(image.height(), image.width(), channels)
    return pixels.transpose(2, 0, 1).astype(np.float32) / 255.0
