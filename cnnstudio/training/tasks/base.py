"""What every task provides: its outputs' losses, its validation metrics and what the views show.

The engine handles the loop; a task only knows how to turn outputs and targets into a loss and
metrics. Output nodes come in the order the task documents (``outputs`` in the settings); each
output's loss is weighted by ``loss_weights``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from cnnstudio.core.analysis import Analysis
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import TrainingSettings


@dataclass
class Batch:
    """One batch on the training device; ``inputs`` has one tensor per Input node, in order (the
    same samples, or with ``members`` each Input's own member of a pair or triplet)."""

    inputs: list[Tensor]
    labels: Tensor
    boxes: Tensor | None = None
    box_labels: Tensor | None = None
    masks: Tensor | None = None
    clean: Tensor | None = None  # the first input before a denoising task corrupted it
    members: list[Tensor] | None = None  # pairs, triplets: each Input's member's class; ``labels`` the first's

    @property
    def size(self) -> int:
        return self.labels.shape[0]


class Meter(ABC):
    """Accumulates one validation pass; ``compute`` gives JSON-ready values keyed without 'val_'."""

    @abstractmethod
    def update(self, outputs: list[Tensor], batch: Batch) -> None: ...

    @abstractmethod
    def compute(self) -> dict[str, Any]: ...


class Task(ABC):
    name: str
    needs: tuple[str, ...] = ()  # TensorData fields beyond labels, e.g. ("boxes", "box_labels")
    data_hints: dict[str, Any] = {}  # defaults for synthetic-shapes' options
    arity: tuple[int, int | None] = (1, 1)  # least and most outputs
    wants_logits = True  # a trailing Softmax output is trained through its input

    def __init__(self, settings: TrainingSettings, analysis: Analysis, outputs: list[str], classes: list[str]):
        self.settings = settings
        self.analysis = analysis
        self.options = settings.task_options
        self.outputs = outputs
        self.classes = classes
        low, high = self.arity
        if not low <= len(outputs) <= (high or len(outputs)):
            wanted = f"{low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
            raise TrainingError(
                f"the {self.name} task trains {wanted} output(s) but {len(outputs)} are selected "
                f"({', '.join(outputs) or 'none'}); set \"outputs\" in the training settings"
            )
        self.shapes = [analysis.nodes[node].shape for node in outputs]
        self.weights = settings.loss_weights or [1.0] * len(outputs)

    @property
    def taps(self) -> list[str]:
        """Nodes besides the outputs whose values the loss needs (a sparse code, say)."""
        return []

    def corrupt(self, batch: Batch) -> Batch:
        """The batch the network sees in training (denoising autoencoders add noise here)."""
        return batch

    def loss(self, outputs: list[Tensor], taps: list[Tensor], batch: Batch) -> tuple[Tensor, dict[str, float]]:
        """The weighted sum of each output's loss, and per-step statistics worth plotting."""
        terms = self.output_losses(outputs, batch)
        total = sum(weight * term for weight, term in zip(self.weights, terms))
        return total, {}

    @abstractmethod
    def output_losses(self, outputs: list[Tensor], batch: Batch) -> list[Tensor]: ...

    @abstractmethod
    def meter(self) -> Meter: ...

    @abstractmethod
    def predict(self, outputs: list[Tensor]) -> Tensor:
        """What the views show for each sample: probabilities, boxes, a mask, an image..."""

    def require_classes(self, node: str, count: int) -> None:
        if count < len(self.classes):
            raise TrainingError(
                f"the output '{node}' gives {count} class score(s) but the data has {len(self.classes)} classes "
                f"({', '.join(self.classes[:12])}); give it at least {len(self.classes)} outputs"
            )
