"""What a synthesis reports while it runs: one event per step, with a picture now and then."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

PROGRESS_EVERY_S = 0.25  # at most four pictures a second go to a listener


@dataclass(frozen=True)
class SynthesisProgress:
    """One step of a synthesis, for a progress line or the studio (``image`` throttled, else None)."""

    kind: Literal["style", "visualize"]
    step: int
    steps: int
    losses: dict[str, float]
    image: Tensor | None = None  # [C, H, W] in [0, 1] (style) or the grid so far (visualize), on the CPU
    seconds: float = 0.0
