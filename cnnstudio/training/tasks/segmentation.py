"""Segmentation: per-pixel cross-entropy; pixel accuracy and mean IoU.

Class 0 is the background, class k + 1 the data's k-th class, so the output needs one channel
more than the data has classes. A mask of another size than the output is resized (nearest).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.errors import TrainingError
from cnnstudio.training.tasks.base import Batch, Meter, Task


def targets(batch: Batch, size: tuple[int, ...]) -> Tensor:
    masks = batch.masks
    if tuple(masks.shape[1:]) != tuple(size):
        masks = F.interpolate(masks.unsqueeze(1).float(), size=size, mode="nearest").squeeze(1)
    return masks.long()


class SegmentationMeter(Meter):
    def __init__(self, classes: int):
        self.confusion = torch.zeros(classes, classes, dtype=torch.long)

    def update(self, outputs: list[Tensor], batch: Batch) -> None:
        classes = self.confusion.shape[0]
        truth = targets(batch, outputs[0].shape[2:]).flatten()
        pairs = (truth * classes + outputs[0].argmax(1).flatten()).cpu()
        self.confusion += torch.bincount(pairs, minlength=classes * classes).view(classes, classes)

    def compute(self) -> dict[str, Any]:
        c = self.confusion.double()
        intersection = c.diag()
        union = c.sum(0) + c.sum(1) - intersection
        present = union > 0
        return {"pixel_accuracy": float(intersection.sum() / c.sum().clamp(min=1)),
                "mean_iou": float((intersection[present] / union[present]).mean()) if present.any() else 0.0}


class Segmentation(Task):
    name = "segmentation"
    needs = ("masks",)
    data_hints = {"objects": 2}
    arity = (1, None)

    def __init__(self, *args: Any):
        super().__init__(*args)
        for node, shape in zip(self.outputs, self.shapes):
            if len(shape) != 3:
                raise TrainingError(
                    f"segmentation needs a score map [classes + 1, H, W], but the output '{node}' has shape "
                    f"{list(shape)}; end the design with a Conv2d of kernel 1 instead of a dense head"
                )
            if shape[0] < len(self.classes) + 1:
                raise TrainingError(
                    f"the output '{node}' has {shape[0]} channel(s) but segmentation needs {len(self.classes) + 1}: "
                    f"one for the background and one per class ({', '.join(self.classes)})"
                )

    def output_losses(self, outputs: list[Tensor], batch: Batch) -> list[Tensor]:
        return [F.cross_entropy(out.float(), targets(batch, out.shape[2:])) for out in outputs]

    def meter(self) -> Meter:
        return SegmentationMeter(self.shapes[0][0])

    def predict(self, outputs: list[Tensor]) -> Tensor:
        return outputs[0].argmax(1)
