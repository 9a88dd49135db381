"""What the studio's views ask a run to capture (:class:`ProbeRequest`), as plain data. Qt- and
torch-free, so the window builds a request without importing torch (seconds on a small machine,
and on the GUI thread at the first Start); :mod:`cnnstudio.training.probes` captures it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torch import Tensor

DEFAULT_EVERY = 100  # steps between snapshots; bench/bench_views.py checks the cost
# What one captured activation holds at most (the views size their requests by these):
MAX_CHANNELS = 64
MAX_SIDE = 64  # maps are averaged down to at most this many values per side
MAX_LENGTH = 512  # 1D activations
MAX_FEATURES = 4096  # flat activations


@dataclass(frozen=True)
class ProbeRequest:
    """What the open views need. Picklable; ``inputs`` None means validation sample ``sample``."""

    inputs: tuple[Tensor, ...] | None = None  # one CPU tensor per Input node, no batch dim
    sample: int = 0
    activations: tuple[str, ...] = ()  # node ids
    filters: bool = False
    grad_norms: bool = False
    predictions: bool = False
    saliency: bool = False  # classification only
    embeddings: bool = False  # metric learning and reconstruction only
    confusion: bool = False  # a whole validation pass: for finished models, not for every N steps
    every: int = DEFAULT_EVERY

    def __post_init__(self) -> None:
        if self.every < 1:
            raise ValueError(f"a probe's refresh interval must be at least 1 step, not {self.every}")

    @property
    def empty(self) -> bool:
        return not (self.activations or self.filters or self.grad_norms or self.predictions or self.saliency
                    or self.embeddings or self.confusion)
