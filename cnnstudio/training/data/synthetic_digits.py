"""synthetic-digits: handwriting-like digits 0-9 drawn in code, for the MNIST-shaped designs.

Figure 21, LeNet-5 and their kin end in 10 class scores because they were drawn for MNIST; on the
six synthetic shapes four of those scores would never be right. This source gives them ten
classes offline: each digit is rendered once from Pillow's bundled font, then every sample is
that glyph thickened or not, rotated, sheared, scaled and moved by its own seeded affine warp
(one ``grid_sample`` per chunk), so a network must learn the digit, not the pixels of one glyph.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import Tensor

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.convert import image_shape
from cnnstudio.training.data.generated_options import DigitsOptions, parse_options
from cnnstudio.training.data.registry import SourceKind, generated, register

GLYPH = 64  # side of the rendered glyphs; the warp samples them down to the Input's size
CHUNK = 512


@functools.cache
def glyphs() -> Tensor:
    """The ten digits as [10, 1, GLYPH, GLYPH] coverage in [0, 1], centred, their height ~70% of the side."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=int(GLYPH * 0.8))
    rendered = []
    for digit in "0123456789":
        canvas = Image.new("L", (GLYPH, GLYPH))
        ImageDraw.Draw(canvas).text((GLYPH / 2, GLYPH / 2), digit, fill=255, font=font, anchor="mm")
        rendered.append(torch.frombuffer(bytearray(canvas.tobytes()), dtype=torch.uint8).view(1, GLYPH, GLYPH))
    return torch.stack(rendered).float() / 255


def load(shape: tuple[int, ...], options: dict, seed: int) -> TensorData:
    """``count`` images of ``shape`` (C, H, W), labelled by digit."""
    opts: DigitsOptions = parse_options("synthetic-digits", options)
    channels, height, width = image_shape(shape, "synthetic-digits")
    generator = torch.Generator().manual_seed(seed)
    sizes = [min(CHUNK, opts.count - start) for start in range(0, opts.count, CHUNK)]
    images, labels = (torch.cat(parts) for parts in zip(*(_chunk(n, channels, height, width, opts, generator)
                                                          for n in sizes)))
    return TensorData(images, labels, opts.class_names)


def _chunk(n: int, channels: int, height: int, width: int, opts: DigitsOptions,
           gen: torch.Generator) -> tuple[Tensor, Tensor]:
    wanted = torch.tensor([int(d) for d in opts.digits])
    classes = torch.randint(len(wanted), (n,), generator=gen)
    source = glyphs()[wanted[classes]]
    bold = torch.rand(n, generator=gen) < 0.5  # a thicker pen for half of them
    source = torch.where(bold.view(n, 1, 1, 1), F.max_pool2d(source, 3, stride=1, padding=1), source)

    def uniform(low: float, high: float) -> Tensor:
        return low + (high - low) * torch.rand(n, generator=gen)

    angle = uniform(-opts.rotation, opts.rotation) * math.pi / 180
    shear = uniform(-0.3, 0.3)
    scale = uniform(opts.min_size, opts.max_size) / 0.7  # the glyph fills ~70% of its canvas
    shift_x, shift_y = uniform(-opts.shift, opts.shift), uniform(-opts.shift, opts.shift)
    cos, sin = torch.cos(angle), torch.sin(angle)
    # grid_sample maps output coordinates to the glyph's: the inverse of rotate . shear . scale, then move.
    inverse = torch.stack([torch.stack([cos, sin + shear * cos, -shift_x], -1),
                           torch.stack([-sin, cos - shear * sin, -shift_y], -1)], 1) / scale.view(n, 1, 1)
    grid = F.affine_grid(inverse, [n, 1, height, width], align_corners=False)
    image = F.grid_sample(source, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    ink = 0.7 + 0.3 * torch.rand(n, channels, 1, 1, generator=gen)
    if channels == 3:
        ink = ink * (0.4 + 0.6 * torch.rand(n, 3, 1, 1, generator=gen))
        ink = ink / ink.amax(dim=1, keepdim=True)
    image = image * ink
    if opts.noise:
        image = image + opts.noise * torch.randn(image.shape, generator=gen)
    return image.clamp_(0, 1), classes


register(SourceKind("synthetic-digits", "synthetic-digits", "generated offline: the digits 0-9, each warped its own "
                    "way (rotation, shear, size, position, pen width), for MNIST-shaped designs; Input [1, H, W] or [3, H, W]",
                    generated(load), "label", DigitsOptions))
