"""Localization: one object per image, its class and its box (x, y, w, h as fractions).

Two outputs: a box head of 4 values and a class head. Loss: MSE on the box plus cross-entropy on
the class, weighted by loss_weights (in the order of outputs). Metrics: mean IoU and accuracy.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.errors import TrainingError
from cnnstudio.training.tasks.base import Batch, Meter, Task
from cnnstudio.training.tasks.boxes import paired_iou


class LocalizationMeter(Meter):
    def __init__(self, box_first: bool):
        self.box_first = box_first
        self.iou, self.correct, self.count = 0.0, 0, 0

    def update(self, outputs: list[Tensor], batch: Batch) -> None:
        box, scores = outputs if self.box_first else outputs[::-1]
        self.iou += float(paired_iou(box, batch.boxes[:, 0]).sum())
        self.correct += int((scores.argmax(1) == batch.labels).sum())
        self.count += batch.size

    def compute(self) -> dict[str, Any]:
        return {"iou": self.iou / max(self.count, 1), "accuracy": self.correct / max(self.count, 1)}


class Localization(Task):
    name = "localization"
    needs = ("boxes",)
    data_hints = {"objects": 1}
    arity = (2, 2)

    def __init__(self, *args: Any):
        super().__init__(*args)
        if any(len(shape) != 1 for shape in self.shapes) or 4 not in (self.shapes[0][0], self.shapes[1][0]):
            raise TrainingError(
                "localization needs two vector outputs: a box head of 4 values (x, y, w, h) and a class head; "
                f"the outputs {', '.join(self.outputs)} have shapes {', '.join(str(list(s)) for s in self.shapes)}"
            )
        self.box_first = self.shapes[0][0] == 4  # either order; with 4 classes, the order given
        self.require_classes(self.outputs[1 if self.box_first else 0], self.shapes[1 if self.box_first else 0][0])

    def output_losses(self, outputs: list[Tensor], batch: Batch) -> list[Tensor]:
        box, scores = (o.float() for o in (outputs if self.box_first else outputs[::-1]))
        terms = [F.mse_loss(box, batch.boxes[:, 0]), F.cross_entropy(scores, batch.labels)]
        return terms if self.box_first else terms[::-1]

    def meter(self) -> Meter:
        return LocalizationMeter(self.box_first)

    def predict(self, outputs: list[Tensor]) -> Tensor:
        """Per sample: x, y, w, h, class, probability."""
        box, scores = outputs if self.box_first else outputs[::-1]
        probs = scores.float().softmax(1)
        best = probs.max(1)
        return torch.cat([box.float(), best.indices.unsqueeze(1).float(), best.values.unsqueeze(1)], 1)
