"""synthetic-video: short clips of a disc moving left, right, up or down, for video networks.

The video counterpart of synthetic-shapes, so a design with a video Input ([3, T, H, W], as
torchvision's r3d_18, mvit and swin3d take) trains offline. The class is the way the disc moves,
which no single frame shows: a network must compare frames to learn it. Each clip's disc has its
own size, start, colour and brightness; generation is vectorised and seeded.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.generated_options import MOTION_NAMES, VideoOptions, parse_options
from cnnstudio.training.data.registry import SourceKind, generated, register
from cnnstudio.training.errors import TrainingError

# (dy, dx) per frame, in the same order as the options' choices (generated_options.py).
MOTIONS: dict[str, tuple[int, int]] = dict(zip(MOTION_NAMES, ((0, -1), (0, 1), (-1, 0), (1, 0)), strict=True))
CHUNK = 64  # clips made at once, to bound the memory of the distance grids


def load(shape: tuple[int, ...], options: dict, seed: int) -> TensorData:
    """``count`` clips of the Input's shape [C, T, H, W] (C 1 or 3, T at least 2), labelled by motion."""
    opts: VideoOptions = parse_options("synthetic-video", options)
    if len(shape) != 4 or shape[0] not in (1, 3) or shape[1] < 2:
        raise TrainingError("synthetic-video gives clips, so the Input must have shape [3, T, H, W] (or [1, T, H, W]) "
                            f"with at least 2 frames; it is {list(shape)}")
    generator = torch.Generator().manual_seed(seed)
    sizes = [min(CHUNK, opts.count - start) for start in range(0, opts.count, CHUNK)]
    clips, labels = (torch.cat(parts) for parts in zip(*(_chunk(n, shape, opts, generator) for n in sizes)))
    return TensorData(clips, labels, opts.class_names)


def _chunk(n: int, shape: tuple[int, ...], opts: VideoOptions, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` clips [n, C, T, H, W] in [0, 1] and their labels."""
    channels, frames, height, width = shape
    side = torch.tensor([height, width], dtype=torch.float32)
    radius = max(opts.size * min(height, width) / 2, 0.75)
    room = (side - 2 * radius).clamp(min=0)  # where the centre may go, per axis
    classes = torch.randint(len(opts.motions), (n,), generator=gen)
    step = torch.tensor([MOTIONS[name] for name in opts.motions], dtype=torch.float32)[classes]  # [n, 2]
    travel = room * (0.5 + 0.5 * torch.rand(n, 1, generator=gen))  # how far it goes over the clip, per axis
    start = radius + torch.rand(n, 2, generator=gen) * (room - travel * step.abs())  # stays inside the frame
    start = torch.where(step < 0, start + travel, start)  # moving up or left: start far enough down or right
    time = torch.linspace(0, 1, frames).view(1, frames, 1)
    centre = start.unsqueeze(1) + step.unsqueeze(1) * travel.unsqueeze(1) * time  # [n, T, 2]: y, x
    ys = torch.arange(height, dtype=torch.float32).view(1, 1, height, 1) + 0.5
    xs = torch.arange(width, dtype=torch.float32).view(1, 1, 1, width) + 0.5
    inside = (ys - centre[..., 0, None, None]) ** 2 + (xs - centre[..., 1, None, None]) ** 2 <= radius**2  # [n, T, H, W]
    colour = 0.6 + 0.4 * torch.rand(n, channels, generator=gen)
    clips = inside.unsqueeze(1) * colour.view(n, channels, 1, 1, 1)
    if opts.noise:
        clips = (clips + opts.noise * torch.randn(clips.shape, generator=gen)).clamp_(0, 1)
    return clips, classes


register(SourceKind("synthetic-video", "synthetic-video", "generated offline: clips of a disc moving left, right, up or "
                    "down, for video designs; Input [3, T, H, W]", generated(load), "label", VideoOptions))
