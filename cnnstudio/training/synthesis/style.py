"""Neural style transfer (Gatys, Ecker and Bethge, 2016) on any design with weights.

The image is optimised so that its activations on the content layers match the content image's,
and the Gram matrices of its activations on the style layers (channel correlations, normalised by
the layer's size) match the style image's. Each layer's squared error is taken relative to its
target's mean square (the paper's per-layer factors, made scale-free), so the style weight is a
plain ratio: the losses start near 1 whatever the network. L-BFGS by default, as in the
paper; Adam as an option. Every evaluation of the losses is one step; pause and stop are checked
at each, and a stopped run still returns the image made so far.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.control import RunControl, Stopped
from cnnstudio.training.synthesis.images import fit_image
from cnnstudio.training.synthesis.network import FeatureNetwork, SynthesisError
from cnnstudio.training.synthesis.progress import PROGRESS_EVERY_S, SynthesisProgress

PAPER_CONTENT = ("conv4_2",)  # the layers Gatys et al. use on VGG-19; the VGG-16 template names them alike
PAPER_STYLE = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")


@dataclass(frozen=True)
class StyleSettings:
    content_layers: tuple[str, ...]
    style_layers: tuple[str, ...]
    content_weight: float = 1.0
    style_weight: float = 100.0  # a ratio to the content weight (the losses are relative errors)
    steps: int = 300
    size: int | None = 256  # the longest side of the result, in pixels; None: the content image's own
    optimizer: Literal["lbfgs", "adam"] = "lbfgs"
    lr: float = 0.02  # Adam's step in pixel values (L-BFGS uses its line search)
    init: Literal["content", "noise"] = "content"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise SynthesisError(f"the number of steps must be at least 1, not {self.steps}")
        if self.size is not None and not 8 <= self.size <= 4096:
            raise SynthesisError(f"the size must be from 8 to 4096 pixels, not {self.size}")
        if self.style_weight < 0 or self.content_weight < 0:
            raise SynthesisError("the content and style weights must not be negative")
        if not self.style_layers:
            raise SynthesisError("choose at least one style layer")
        if self.optimizer not in ("lbfgs", "adam"):
            raise SynthesisError(f"unknown optimizer '{self.optimizer}'; use lbfgs or adam")


@dataclass
class StyleResult:
    image: Tensor  # [C, H, W] in [0, 1], on the CPU
    steps: int  # evaluations done
    stopped: bool
    history: list[dict[str, float]] = field(default_factory=list)  # losses at every step

    @property
    def first(self) -> dict[str, float]:
        return self.history[0]

    @property
    def last(self) -> dict[str, float]:
        return self.history[-1]


def gram(features: Tensor) -> Tensor:
    """Channel correlations of [N, C, ...] activations, divided by the number of values."""
    flat = features.flatten(2)
    return flat @ flat.transpose(1, 2) / flat[0].numel()


def relative_error(value: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over the target's mean square: every layer counts alike whatever the
    scale of its activations, so one style weight suits a VGG-16 and a small network trained here."""
    return F.mse_loss(value, target) / target.square().mean().clamp(min=1e-12)


class StyleTransfer:
    """One style transfer: the targets are computed once, then :meth:`run` optimises the image."""

    def __init__(self, network: FeatureNetwork, content: Tensor, style: Tensor, settings: StyleSettings,
                 control: RunControl | None = None):
        self.network, self.settings = network, settings
        self.control = control or RunControl()
        self.content_layers = network.check_layers(settings.content_layers, "content layer")
        self.style_layers = network.check_layers(settings.style_layers, "style layer")
        channels = network.input_shape[0]
        device = network.device
        self.content = fit_image(content, channels, settings.size).to(device)[None]
        style_side = max(self.content.shape[2:])  # the style at the result's scale
        self.style = fit_image(style, channels, style_side).to(device)[None]
        with torch.no_grad():
            seen = network.features(self.content, self.content_layers) if self.content_layers else {}
            self.content_targets = {n: seen[n].detach() for n in self.content_layers}
            seen = network.features(self.style, self.style_layers)
            self.style_targets = {n: gram(seen[n]).detach() for n in self.style_layers}
        generator = torch.Generator().manual_seed(settings.seed)
        start = self.content if settings.init == "content" else torch.rand(self.content.shape, generator=generator).to(device)
        self.image = start.clone().requires_grad_(True)

    def losses(self, image: Tensor) -> dict[str, Tensor]:
        """Content, style (each already weighted) and their total for ``image``."""
        s = self.settings
        seen = self.network.features(image, [*self.content_layers, *self.style_layers])
        zero = image.new_zeros(())
        content = sum((relative_error(seen[n], self.content_targets[n]) for n in self.content_layers), zero)
        style = sum((relative_error(gram(seen[n]), self.style_targets[n]) for n in self.style_layers), zero)
        content = s.content_weight * content / max(1, len(self.content_layers))
        style = s.style_weight * style / len(self.style_layers)
        return {"content": content, "style": style, "total": content + style}

    def run(self, on_progress: Callable[[SynthesisProgress], None] | None = None) -> StyleResult:
        s = self.settings
        history: list[dict[str, float]] = []
        started = last_sent = time.perf_counter()

        def evaluate() -> Tensor:
            nonlocal last_sent
            self.control.check()
            if len(history) >= s.steps:
                raise _Done
            optimizer.zero_grad()
            losses = self.losses(self.image)
            losses["total"].backward()
            values = {name: float(value.detach()) for name, value in losses.items()}
            history.append(values)
            now = time.perf_counter()
            if on_progress is not None:
                final = len(history) == s.steps
                picture = now - last_sent >= PROGRESS_EVERY_S or final or len(history) == 1
                if picture:
                    last_sent = now
                on_progress(SynthesisProgress("style", len(history), s.steps, values,
                                              self._picture() if picture else None, now - started))
            return losses["total"]

        if s.optimizer == "lbfgs":
            optimizer: torch.optim.Optimizer = torch.optim.LBFGS([self.image], lr=1.0, max_iter=20, history_size=50,
                                                             line_search_fn="strong_wolfe")
        else:
            optimizer = torch.optim.Adam([self.image], lr=s.lr)
        stopped = False
        try:
            while len(history) < s.steps:
                optimizer.step(evaluate)
                with torch.no_grad():
                    self.image.clamp_(0, 1)
        except _Done:
            pass
        except Stopped:
            stopped = True
        except (FloatingPointError, RuntimeError) as error:
            raise SynthesisError(f"the optimisation failed: {error}") from None
        with torch.no_grad():
            self.image.clamp_(0, 1)
        return StyleResult(self._picture(), len(history), stopped, history)

    def _picture(self) -> Tensor:
        return self.image.detach()[0].clamp(0, 1).cpu().clone()


class _Done(Exception):
    """The step budget is spent, possibly in the middle of an L-BFGS line search."""
