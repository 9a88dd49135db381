"""synthetic-shapes: images of simple shapes drawn in code, with labels, boxes and masks.

Every task has data offline: classification uses the first object's class, localization its box,
detection every box, segmentation the masks. Generation is vectorised and seeded, so the same
seed always gives the same images (about 20,000 28x28 images per second on one core).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.convert import image_shape
from cnnstudio.training.data.generated_options import SHAPE_NAMES, ShapesOptions, parse_options
from cnnstudio.training.data.registry import SourceKind, generated, register


def _circle(dx: Tensor, dy: Tensor) -> Tensor:
    return dx * dx + dy * dy <= 1


def _square(dx: Tensor, dy: Tensor) -> Tensor:
    return torch.maximum(dx.abs(), dy.abs()) <= 1


def _triangle(dx: Tensor, dy: Tensor) -> Tensor:
    return (dy <= 1) & (dx.abs() <= (dy + 1) / 2)


def _cross(dx: Tensor, dy: Tensor) -> Tensor:
    inside = torch.maximum(dx.abs(), dy.abs()) <= 1
    return inside & ((dx.abs() <= 1 / 3) | (dy.abs() <= 1 / 3))


def _diamond(dx: Tensor, dy: Tensor) -> Tensor:
    return dx.abs() + dy.abs() <= 1


def _ring(dx: Tensor, dy: Tensor) -> Tensor:
    r2 = dx * dx + dy * dy
    return (r2 <= 1) & (r2 >= 0.5)


# Each shape fills the square [-1, 1]^2 exactly, so its bounding box is the object's (x, y, 2r, 2r).
# The names are the options' choices (generated_options.py), in the same order.
SHAPES: dict[str, Callable[[Tensor, Tensor], Tensor]] = dict(
    zip(SHAPE_NAMES, (_circle, _square, _triangle, _cross, _diamond, _ring), strict=True))


def load(shape: tuple[int, ...], options: dict, seed: int) -> TensorData:
    """``count`` images of ``shape`` (C, H, W: the Input's shape sets size and channels)."""
    opts: ShapesOptions = parse_options("synthetic-shapes", options)
    channels, height, width = image_shape(shape, "synthetic-shapes")
    generator = torch.Generator().manual_seed(seed)
    chunks = [_chunk(n, channels, height, width, opts, generator) for n in _chunk_sizes(opts.count)]
    images, labels, boxes, box_labels, masks = (torch.cat(parts) for parts in zip(*chunks))
    return TensorData(images, labels, list(opts.shapes), boxes, box_labels, masks)


def _chunk_sizes(count: int, size: int = 512) -> list[int]:
    return [min(size, count - start) for start in range(0, count, size)]


def _chunk(n: int, channels: int, height: int, width: int, opts: ShapesOptions, gen: torch.Generator) -> tuple[Tensor, ...]:
    slots = opts.objects
    grid = math.ceil(math.sqrt(slots))
    cell_h, cell_w = height / grid, width / grid
    present = torch.arange(slots) < torch.randint(1, slots + 1, (n, 1), generator=gen)
    cells = torch.argsort(torch.rand(n, grid * grid, generator=gen), dim=1)[:, :slots]
    side = min(cell_h, cell_w)
    size = opts.min_size + (opts.max_size - opts.min_size) * torch.rand(n, slots, generator=gen)
    radius = (size * side / 2).clamp(min=1.0)
    row, col = (cells // grid).float(), (cells % grid).float()
    cx = col * cell_w + radius + torch.rand(n, slots, generator=gen) * (cell_w - 2 * radius).clamp(min=0)
    cy = row * cell_h + radius + torch.rand(n, slots, generator=gen) * (cell_h - 2 * radius).clamp(min=0)
    classes = torch.randint(len(opts.shapes), (n, slots), generator=gen)
    colours = _colours(n, slots, channels, gen)

    ys = torch.arange(height, dtype=torch.float32).view(1, height, 1) + 0.5
    xs = torch.arange(width, dtype=torch.float32).view(1, 1, width) + 0.5
    image = torch.zeros(n, channels, height, width)
    mask = torch.zeros(n, height, width, dtype=torch.uint8)
    draw = [SHAPES[name] for name in opts.shapes]
    for k in range(slots):
        dx = (xs - cx[:, k].view(n, 1, 1)) / radius[:, k].view(n, 1, 1)
        dy = (ys - cy[:, k].view(n, 1, 1)) / radius[:, k].view(n, 1, 1)
        inside = torch.zeros(n, height, width, dtype=torch.bool)
        for index, shape in enumerate(draw):
            chosen = classes[:, k] == index
            if chosen.any():
                inside[chosen] = shape(dx[chosen], dy[chosen])
        inside &= present[:, k].view(n, 1, 1)
        image = torch.where(inside.unsqueeze(1), colours[:, k].view(n, channels, 1, 1), image)
        mask = torch.where(inside, (classes[:, k] + 1).to(torch.uint8).view(n, 1, 1), mask)
    if opts.noise:
        image = (image + opts.noise * torch.randn(image.shape, generator=gen)).clamp_(0, 1)
    boxes = torch.stack([cx / width, cy / height, 2 * radius / width, 2 * radius / height], dim=-1)
    boxes = torch.where(present.unsqueeze(-1), boxes, torch.zeros(()))
    box_labels = torch.where(present, classes, torch.full((), -1))
    return image, classes[:, 0], boxes, box_labels, mask


def _colours(n: int, slots: int, channels: int, gen: torch.Generator) -> Tensor:
    """Bright enough to stand out from the dark, noisy background."""
    if channels == 1:
        return 0.6 + 0.4 * torch.rand(n, slots, 1, generator=gen)
    colour = 0.15 + 0.85 * torch.rand(n, slots, channels, generator=gen)
    return colour / colour.amax(dim=-1, keepdim=True)


register(SourceKind("synthetic-shapes", "synthetic-shapes", "generated offline: circle, square, triangle, cross, diamond, ring, on a noisy background", generated(load), "label, boxes, masks", ShapesOptions))
