"""Classification: cross-entropy on logits; accuracy and the confusion matrix.

Every selected output is a classifier head on the same labels (auxiliary heads, as in GoogLeNet,
train with their own weight); metrics come from the first one.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.errors import TrainingError
from cnnstudio.training.tasks.base import Batch, Meter, Task


class ClassificationMeter(Meter):
    def __init__(self, classes: int):
        # As many rows as the head has scores, so a head wider than the data's classes is counted right.
        self.confusion = torch.zeros(classes, classes, dtype=torch.long)

    def update(self, outputs: list[Tensor], batch: Batch) -> None:
        classes = self.confusion.shape[0]
        predicted = outputs[0].argmax(1)
        pairs = (batch.labels * classes + predicted).cpu()
        self.confusion += torch.bincount(pairs, minlength=classes * classes).view(classes, classes)

    def compute(self) -> dict[str, Any]:
        total = int(self.confusion.sum())
        return {"accuracy": float(self.confusion.trace()) / max(total, 1), "confusion": self.confusion.tolist()}


class Classification(Task):
    name = "classification"
    arity = (1, None)

    def __init__(self, *args: Any):
        super().__init__(*args)
        for node, shape in zip(self.outputs, self.shapes):
            if len(shape) != 1:
                raise TrainingError(
                    f"classification needs a vector of class scores, but the output '{node}' has shape "
                    f"{list(shape)}; add a Flatten and a Linear layer with one output per class"
                )
            self.require_classes(node, shape[0])

    def output_losses(self, outputs: list[Tensor], batch: Batch) -> list[Tensor]:
        return [F.cross_entropy(out.float(), batch.labels) for out in outputs]

    def meter(self) -> Meter:
        return ClassificationMeter(self.shapes[0][0])

    def predict(self, outputs: list[Tensor]) -> Tensor:
        return outputs[0].float().softmax(1)
