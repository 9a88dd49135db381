"""What a filter looks for: the image that maximises one channel's mean activation.

As in the Lucid/Lucent tradition (Olah et al., "Feature Visualization", Distill 2017), the raw
pixel optimum is high-frequency noise, so two things make the image readable:

* a decorrelated parameterisation: the image is a Fourier spectrum scaled by 1/frequency (and, in
  colour, channels decorrelated by ImageNet's colour correlations), through a sigmoid into [0, 1];
  plain gradient steps then favour low frequencies;
* robustness: every step sees the image padded, jittered, scaled and rotated at random, so only
  patterns that excite the channel wherever they fall survive.

All chosen channels are optimised together as one batch (one image each). A class logit is a
Linear layer's output channel; its "mean activation" is the logit itself.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.control import RunControl, Stopped
from cnnstudio.training.synthesis.images import grid
from cnnstudio.training.synthesis.network import FeatureNetwork, SynthesisError
from cnnstudio.training.synthesis.progress import PROGRESS_EVERY_S, SynthesisProgress

# ImageNet's colour correlations, square-rooted (Lucid's color_correlation_svd_sqrt): colour
# images are made in a decorrelated colour space and mixed back with this.
COLOUR_CORRELATION = torch.tensor([[0.26, 0.09, 0.02], [0.27, 0.00, -0.05], [0.27, -0.09, 0.03]])
MAX_CHANNELS = 64  # at most this many images in one grid
# Element-wise, increasing activations: their input is maximised instead (Lucid's "pre-ReLU" layers),
# since a ReLU passes no gradient where it is off, and a grey start is off for half the filters.
MONOTONE = frozenset({"ReLU", "LeakyReLU", "Sigmoid", "Tanh"})


@dataclass(frozen=True)
class VisualizeSettings:
    layer: str
    channels: tuple[int, ...] | None = None  # None: every channel, up to MAX_CHANNELS
    steps: int = 256
    lr: float = 0.05
    size: int | None = None  # side of each image; None: the design's Input size
    batch: int = 16  # images optimised together
    decay: float = 1.0  # 1/frequency^decay: larger is smoother
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise SynthesisError(f"the number of steps must be at least 1, not {self.steps}")
        if self.size is not None and not 8 <= self.size <= 1024:
            raise SynthesisError(f"the size must be from 8 to 1024 pixels, not {self.size}")


@dataclass
class VisualizeResult:
    channels: list[int]
    images: Tensor  # [K, C, H, W] in [0, 1], on the CPU
    activations: list[float]  # each channel's mean activation on its image, as seen without transforms
    stopped: bool

    def grid(self) -> Tensor:
        return grid(self.images)


def channel_means(output: Tensor) -> Tensor:
    """[N, C, ...] -> [N, C]: each channel's mean over positions (a Linear output is already [N, C])."""
    return output.flatten(2).mean(2) if output.ndim > 2 else output


class FourierImage:
    """A batch of images as 1/f-scaled Fourier spectra (decorrelated colour), through a sigmoid."""

    def __init__(self, count: int, channels: int, size: int, decay: float, generator: torch.Generator,
                 device: torch.device):
        fy = torch.fft.fftfreq(size)[:, None]
        fx = torch.fft.rfftfreq(size)[None, :]
        frequency = torch.sqrt(fx * fx + fy * fy).clamp(min=1.0 / size)
        self.scale = (1.0 / frequency ** decay).to(device)  # the low frequencies lead (Lucid: scale * sqrt(HW), irfft)
        self.size, self.channels = size, channels
        shape = (count, channels, size, size // 2 + 1, 2)
        self.spectrum = (torch.randn(shape, generator=generator) * 0.01).to(device).requires_grad_(True)

    def __call__(self) -> Tensor:
        spectrum = torch.view_as_complex(self.spectrum) * self.scale
        image = torch.fft.irfft2(spectrum, s=(self.size, self.size), norm="ortho") / 4
        if self.channels == 3:
            mix = COLOUR_CORRELATION.to(image.device)
            mix = mix / mix.norm(dim=0).max()
            image = torch.einsum("ij,njhw->nihw", mix, image)
        return torch.sigmoid(image)


def robust(images: Tensor, generator: torch.Generator) -> Tensor:
    """Pad, jitter, scale, rotate and jitter again at random (Lucent's standard transforms, scaled
    to the image size), as one affine resampling per image after padding."""
    size = images.shape[-1]
    pad = max(1, round(size * 0.05))
    x = F.pad(images, (pad,) * 4, mode="constant", value=0.5)
    count = len(x)
    rand = torch.rand(count, 4, generator=generator).to(x.device)
    scale = 0.9 + 0.2 * rand[:, 0]  # Lucent: 0.9 ... 1.1
    angle = (rand[:, 1] - 0.5) * math.radians(20)  # +-10 degrees
    shift = (rand[:, 2:] - 0.5) * 2 * (max(1, round(size * 0.08)) / x.shape[-1]) * 2  # +-8% of the side
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    field = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, field, mode="bilinear", padding_mode="border", align_corners=False)
    return x[..., pad: pad + size, pad: pad + size]


class FeatureVisualizer:
    def __init__(self, network: FeatureNetwork, settings: VisualizeSettings, control: RunControl | None = None):
        self.network, self.settings = network, settings
        self.control = control or RunControl()
        (self.layer,) = network.check_layers([settings.layer])
        size = settings.size or network.input_shape[1]
        probe = torch.full((1, network.input_shape[0], size, size), 0.5, device=network.device)
        with torch.no_grad():
            output = network.features(probe, [self.layer])[self.layer]
        available = channel_means(output).shape[1]
        channels = list(settings.channels) if settings.channels is not None else list(range(min(available, MAX_CHANNELS)))
        wrong = [c for c in channels if not 0 <= c < available]
        if wrong:
            raise SynthesisError(f"'{self.layer}' has channels 0 to {available - 1}; there is no channel {wrong[0]}")
        if not channels:
            raise SynthesisError("choose at least one channel")
        self.channels, self.size = channels, size
        self.pre_activation = network.design.node(self.layer).type in MONOTONE

    def activation(self, images: Tensor, channels: Sequence[int], objective: bool = False) -> Tensor:
        """Each image's mean activation of its channel: [N]; ``objective``: what is maximised (the
        pre-activation of an increasing activation function)."""
        inputs = objective and self.pre_activation
        seen = self.network.features(images.to(self.network.device), [self.layer], inputs=inputs)[self.layer]
        return channel_means(seen)[torch.arange(len(images)), torch.tensor(list(channels))]

    def run(self, on_progress: Callable[[SynthesisProgress], None] | None = None) -> VisualizeResult:
        s = self.settings
        generator = torch.Generator().manual_seed(s.seed)
        done: list[Tensor] = []
        chunks = [self.channels[i: i + s.batch] for i in range(0, len(self.channels), s.batch)]
        total, step, stopped = s.steps * len(chunks), 0, False
        started = last_sent = time.perf_counter()
        for chunk in chunks:
            image = FourierImage(len(chunk), self.network.input_shape[0], self.size, s.decay, generator,
                                 self.network.device)
            optimizer = torch.optim.Adam([image.spectrum], lr=s.lr)
            try:
                for _ in range(s.steps):
                    self.control.check()
                    optimizer.zero_grad()
                    score = self.activation(robust(image(), generator), chunk, objective=True)
                    (-score.sum()).backward()
                    optimizer.step()
                    step += 1
                    now = time.perf_counter()
                    if on_progress is not None:
                        picture = None
                        if now - last_sent >= PROGRESS_EVERY_S or step == total:
                            last_sent = now
                            with torch.no_grad():
                                picture = grid(torch.cat([*done, image().cpu()]))
                        on_progress(SynthesisProgress("visualize", step, total,
                                                      {"activation": float(score.detach().mean())}, picture, now - started))
            except Stopped:
                stopped = True
            with torch.no_grad():
                done.append(image().detach().cpu())
            if stopped:
                break
        images = torch.cat(done)
        kept = self.channels[: len(images)]
        with torch.no_grad():
            scores = self.activation(images, kept).tolist()
        return VisualizeResult(kept, images, scores, stopped)
