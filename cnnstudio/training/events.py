"""What a training run reports, as plain dataclasses delivered to one callback.

The callback runs on the training thread: the studio forwards events to its window through a
queued signal, the command line prints them. Step metrics are throttled (:class:`Throttle`) so a
fast run cannot flood a window with more updates than it can draw.

Torch is imported for type checking only, so the studio can import this module (and match events
by class) without loading torch with its window.

Epochs and steps are counted from 1 wherever they are shown: "epoch 2, step 94/125" is the 94th
step of the second epoch (:func:`where` writes it, for the dock, the log and the command line).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
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
    validation: str = ""  # which samples validate, in words ("the t10k-* files (10,000 samples)")
    streaming: bool = False  # images decoded as they are read, not held in memory


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
class Paused:
    """The loop has stopped before a step, waiting to be resumed."""

    epoch: int  # from 1
    step: int  # steps done in the epoch
    global_step: int


@dataclass(frozen=True)
class Resumed:
    epoch: int
    step: int
    global_step: int
    paused_s: float


@dataclass(frozen=True)
class Finished:
    status: Literal["completed", "stopped", "failed"]
    epoch: int  # epochs completed
    global_step: int
    checkpoint: str | None  # the latest checkpoint, if any
    step: int = 0  # steps done in the epoch in progress (0: it ended at an epoch's end)
    steps_per_epoch: int = 0
    message: str | None = None  # why it failed, or why a stop could not write its checkpoint

    def where(self) -> str:
        """Where the run ended, counted as :func:`where` counts."""
        return ended_at(self.epoch, self.step, self.steps_per_epoch, self.global_step)


def ended_at(epochs_done: int, step: int, steps_per_epoch: int, global_step: int) -> str:
    """A place after ``epochs_done`` epochs and ``step`` more steps, as :func:`where` words it
    (an epoch's end is its last step, not step 0 of the next)."""
    if step or not epochs_done:
        return where(epochs_done + 1, step, steps_per_epoch, global_step)
    return where(epochs_done, steps_per_epoch, steps_per_epoch, global_step)


def where(epoch: int, step: int, steps_per_epoch: int, global_step: int) -> str:
    """``epoch 2, step 94/125 (step 219 of the run)``: epoch and step from 1, as everywhere."""
    of = f"/{steps_per_epoch:,}" if steps_per_epoch else ""
    return f"epoch {epoch}, step {step:,}{of} (step {global_step:,} of the run)"


@dataclass(frozen=True)
class Activation:
    """One layer's output for the probe, kept small: at most 64 channels, maps at most 64x64."""

    values: Tensor  # [C, H, W], [C, L] or [F] (a volume: its middle depth slice)
    shape: tuple[int, ...]  # the layer's real output shape, without the batch


@dataclass(frozen=True)
class Embedding:
    """A fixed validation subset in the embedding space, drawn in 2D."""

    node: str
    points: Tensor  # [N, 2] PCA
    features: Tensor  # [N, <=50] the first principal components, for t-SNE on demand
    labels: Tensor  # [N]
    images: Tensor  # [N, C, h, w] uint8 thumbnails (the same tensor in every snapshot of a run)


@dataclass(frozen=True)
class Saliency:
    """Which input values drove a classification: both maps at the input's size, scaled to [0, 1]."""

    target: int  # the class explained (the predicted one)
    gradient: Tensor  # |d score / d input|, largest over channels
    cam: Tensor | None  # Grad-CAM on ``cam_node``
    cam_node: str | None


@dataclass(frozen=True)
class Snapshot:
    """What the views asked for (``probe_request.ProbeRequest``), captured at one step. Small CPU tensors."""

    step: int  # global step
    epoch: int  # from 1
    probe: list[Tensor]  # the probe, one tensor per Input, as the model sees it (no batch dim)
    seen: Tensor | None  # the first input after the task's corruption (denoising), else None
    activations: dict[str, Activation] = field(default_factory=dict)
    filters: dict[str, Tensor] = field(default_factory=dict)  # node -> [out, in, kH, kW] or [out, in, k]
    grad_norms: dict[str, float] = field(default_factory=dict)  # node -> L2 norm of its parameters' gradients
    prediction: Tensor | None = None  # the task's prediction for the probe (Task.predict, no batch dim)
    embedding: Embedding | None = None
    saliency: Saliency | None = None
    confusion: list[list[int]] | None = None  # validation confusion (rows: true class), when asked for
    label: int | None = None  # the probe's true class, when it is a validation sample


Event = (Started | StepMetrics | EpochMetrics | CheckpointWritten | Samples | Snapshot | Warning | Error
         | Paused | Resumed | Finished)
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


class Pace:
    """Images per second and time left over the last ``window_s`` seconds of training, on a clock
    that stops while the run is paused: a pause neither lowers the rate nor inflates the ETA."""

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.perf_counter):
        self.window_s = window_s
        self.clock = clock
        self.paused_total = 0.0
        self.samples = self.steps = 0
        self.points: deque[tuple[float, int, int]] = deque([(self.now(), 0, 0)])  # (active time, samples, steps)

    def now(self) -> float:
        return self.clock() - self.paused_total

    def exclude(self, seconds: float) -> None:
        """Take ``seconds`` (a pause, say) out of the clock."""
        self.paused_total += seconds

    def add(self, samples: int) -> None:
        self.samples += samples
        self.steps += 1
        now = self.now()
        self.points.append((now, self.samples, self.steps))
        while len(self.points) > 2 and now - self.points[1][0] > self.window_s:
            self.points.popleft()

    def rate(self) -> float:
        """Samples per second over the window."""
        if len(self.points) < 2:
            return 0.0
        (t0, s0, _), (t1, s1, _) = self.points[0], self.points[-1]
        return (s1 - s0) / max(t1 - t0, 1e-9)

    def eta(self, steps_left: int) -> float:
        """Seconds for ``steps_left`` more steps at the window's pace."""
        if len(self.points) < 2:
            return 0.0
        (t0, _, n0), (t1, _, n1) = self.points[0], self.points[-1]
        return steps_left * (t1 - t0) / max(n1 - n0, 1)
