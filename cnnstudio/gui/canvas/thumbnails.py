"""Small pictures of a layer's output for its card: a few channels of a feature map side by side,
bars for a vector, the top classes (with their probabilities) at a classifier's output.

They are drawn from the snapshot's arrays (at most 64 channels of at most 64x64, see
``events.Activation``) straight into a QImage with numpy, with no plotting library, so a refresh of
every card costs a few milliseconds.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter

WIDTH, HEIGHT = 132, 30  # fits under a card (140 wide) in the 36 px between stacked branches
CHANNELS = 4  # feature-map channels shown
TOP_CLASSES = 3
BAR_COLOR = QColor("#4c78a8")
BAR_RGBA = np.array(BAR_COLOR.getRgb(), np.uint8)


def _grey(values: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """``values`` scaled to 0-255 from ``low`` to ``high`` (numbers, or arrays that broadcast: a range
    per map); mid-grey where the range is flat."""
    flat = high <= low
    scaled = np.where(flat, np.float32(0.5), (values - low) / np.where(flat, 1, high - low))
    return (scaled * 255).astype(np.uint8)


def feature_maps(values: np.ndarray, channels: int = CHANNELS) -> QImage:
    """The first ``channels`` maps of a [C, H, W] output, each scaled by its own range and fitted in a
    square, side by side. All maps at once (numpy): this runs for every card on each refresh."""
    side = HEIGHT
    shown = values[:min(channels, (WIDTH + 3) // (side + 3))]  # as many as fit, 3 px apart
    rows = np.linspace(0, values.shape[1] - 1, side).round().astype(int)
    cols = np.linspace(0, values.shape[2] - 1, side).round().astype(int)
    low, high = shown.min(axis=(1, 2), keepdims=True), shown.max(axis=(1, 2), keepdims=True)
    maps = _grey(shown[:, rows][:, :, cols], low, high)
    canvas = np.full((side, WIDTH), 255, np.uint8)
    for index, picture in enumerate(maps):
        canvas[:, index * (side + 3):index * (side + 3) + side] = picture
    return QImage(canvas.data, WIDTH, side, WIDTH, QImage.Format.Format_Grayscale8).copy()


def sequence(values: np.ndarray) -> QImage:
    """A [C, L] output: the first channels as rows of a strip."""
    rows = values[:CHANNELS]
    cols = np.linspace(0, rows.shape[1] - 1, WIDTH).round().astype(int)
    strip = _grey(rows, rows.min(), rows.max())[:, cols]
    canvas = np.repeat(strip, max(1, HEIGHT // len(strip)), axis=0)
    canvas = np.ascontiguousarray(canvas[:HEIGHT])
    return QImage(canvas.data, WIDTH, len(canvas), WIDTH, QImage.Format.Format_Grayscale8).copy()


def bars(values: np.ndarray) -> QImage:
    """A vector as bars from a zero line (at most one bar per two pixels, a pixel apart: longer
    vectors are averaged in bins), filled with numpy: a painter's rectangle per bar cost a
    refresh of Figure 21's cards 2 ms of the GUI thread."""
    bins = min(len(values), WIDTH // 2)
    binned = _binned_means(values, bins) if bins else np.zeros(1)
    low, high = min(0.0, float(binned.min())), max(0.0, float(binned.max()))
    span = high - low or 1.0
    zero = HEIGHT * high / span  # the zero line, in pixels from the top
    tops = zero - HEIGHT * np.maximum(binned, 0) / span
    bottoms = zero - HEIGHT * np.minimum(binned, 0) / span
    scaled = (np.arange(WIDTH) + 0.5) * len(binned)  # column centres in 1/len(binned) pixels: exact
    bar = (scaled // WIDTH).astype(int)  # the bar under each column
    in_bar = scaled % WIDTH < WIDTH - len(binned)  # the last pixel of each bar is the gap
    rows = np.arange(HEIGHT)[:, None] + 0.5
    filled = in_bar & (rows >= tops[bar]) & (rows < bottoms[bar])
    pixels = np.zeros((HEIGHT, WIDTH, 4), np.uint8)  # transparent
    pixels[filled] = BAR_RGBA
    return QImage(pixels.data, WIDTH, HEIGHT, WIDTH * 4, QImage.Format.Format_RGBA8888_Premultiplied).copy()


def _binned_means(values: np.ndarray, bins: int) -> np.ndarray:
    """The means of ``values`` split in ``bins`` runs of nearly equal length, as ``np.array_split``
    splits them (the first ``len % bins`` one longer), in one pass."""
    size, longer = divmod(len(values), bins)
    sizes = np.full(bins, size)
    sizes[:longer] += 1
    starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
    return np.add.reduceat(values.astype(np.float64), starts) / sizes


def top_classes(probabilities: np.ndarray, names: list[str] | None = None) -> QImage:
    """The classes with the highest probability, as labelled bars."""
    order = np.argsort(-probabilities)[:TOP_CLASSES]
    image = QImage(WIDTH, HEIGHT, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    font = QFont()
    font.setPixelSize(HEIGHT // TOP_CLASSES - 1)
    painter.setFont(font)
    row = HEIGHT / TOP_CLASSES
    for index, cls in enumerate(order):
        name = names[cls] if names and cls < len(names) else str(int(cls))
        painter.fillRect(QRectF(40, index * row + 1, (WIDTH - 40) * float(probabilities[cls]), row - 2), BAR_COLOR)
        painter.setPen(QColor("#555555"))
        painter.drawText(QRectF(0, index * row, 38, row), int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
                         name[:6])
    painter.end()
    return image


def thumbnail(values: np.ndarray, output: bool = False, names: list[str] | None = None) -> QImage | None:
    """The picture for one layer's output (no batch dimension); ``output``: a classifier's last
    layer, drawn as its top classes. None for values that cannot be drawn (empty, NaN)."""
    values = np.asarray(values, dtype=np.float32)
    if values.size == 0 or not np.isfinite(values).all():
        return None
    if output and values.ndim == 1:
        shifted = np.exp(values - values.max())
        probabilities = values if abs(values.sum() - 1) < 1e-3 and values.min() >= 0 else shifted / shifted.sum()
        return top_classes(probabilities, names)
    if values.ndim == 3:
        return feature_maps(values)
    if values.ndim == 2:
        return sequence(values)
    return bars(values.reshape(-1))
