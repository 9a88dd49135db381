"""What a training run reports, as plain dataclasses delivered to one callback.

The callback runs on the training thread: the studio forwards events to its window through a
queued signal, the command line prints them. Step metrics are throttled (:class:`Throttle`) so a
fast run cannot flood a window with more updates than it can draw.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import Tensor


@dataclass(frozen=True)
class Started:
    device: str
    train_samples: int
    val_samples: int
    steps_per_epoch: int
    total_steps: int
    start_step: int  # > 0 when resuming
    classes: list[str]
    outputs: list[str]  # the nodes the loss is computed on


@dataclass(frozen=True)
class StepMetrics:
    epoch: int  # from 1
    step: int  # within the epoch, from 1
    steps_per_epoch: int
    global_step: int  # from 1, over the whole run
    total_steps: int
    loss: float
    lr: float
    samples_per_s: float
    eta_s: float
    stats: dict[str, float] = field(default_factory=dict)  # task extras, e.g. triplet counts


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_loss: float
    val_loss: float
    metrics: dict[str, Any]  # the task's validation metrics, keys with "val_" (val_accuracy...)
    lr: float
    seconds: float

    def record(self) -> dict[str, Any]:
        """The line written to metrics.jsonl."""
        return {"epoch": self.epoch, "train_loss": self.train_loss, "val_loss": self.val_loss, **self.metrics,
                "lr": self.lr, "seconds": round(self.seconds, 3)}


@dataclass(frozen=True)
class CheckpointWritten:
    path: str
    epoch: int
    global_step: int


@dataclass(frozen=True)
class Samples:
    """A few validation samples with what the network made of them, for the studio's views."""

    epoch: int
    inputs: Tensor  # the first Input's values, on the CPU
    labels: Tensor
    predictions: Tensor  # per task: probabilities, boxes, masks, reconstructions, embeddings


@dataclass(frozen=True)
class Warning:  # noqa: A001 - named as the issue names it; use it as events.Warning
    message: str


@dataclass(frozen=True)
class Error:
    message: str


@dataclass(frozen=True)
class Finished:
    status: Literal["completed", "stopped", "failed"]
    epoch: int
    global_step: int
    checkpoint: str | None  # the latest checkpoint, if any


Event = Started | StepMetrics | EpochMetrics | CheckpointWritten | Samples | Warning | Error | Finished
Callback = Callable[[Event], None]


class Throttle:
    """Lets an event through at most ``rate`` times per second (None: always)."""

    def __init__(self, rate: float | None, clock: Callable[[], float] = time.monotonic):
        self.interval = 1.0 / rate if rate else 0.0
        self.clock = clock
        self.last = float("-inf")

    def ready(self) -> bool:
        now = self.clock()
        if now - self.last < self.interval:
            return False
        self.last = now
        return True
