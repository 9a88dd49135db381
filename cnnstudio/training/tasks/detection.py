"""Detection, YOLO v1 style: an S x S grid; per cell B boxes (x, y, w, h, confidence) and classes.

The output is [B*5 + K, S, S] (a convolutional head) or a flat vector of S*S*(B*5 + K) values
(a dense head, as in YOLO v1; then "grid" gives S). Per cell the values are B groups of
(x, y, sqrt w, sqrt h, confidence), then K class scores. x and y are offsets in the cell, w and h
fractions of the image. Sigmoids bound the box values and a softmax the classes; the loss is YOLO
v1's sum of squared errors with lambda_coord and lambda_noobj. Boxes shown are filtered by score
and non-maximum suppression; validation reports mean average precision at IoU 0.5.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from cnnstudio.training.errors import TrainingError
from cnnstudio.training.tasks.base import Batch, Meter, Task
from cnnstudio.training.tasks.boxes import average_precision, corners, paired_iou


class Detection(Task):
    name = "detection"
    needs = ("boxes", "box_labels")
    data_hints = {"objects": 3}

    def __init__(self, *args: Any):
        super().__init__(*args)
        o = self.options
        per_cell = o.boxes_per_cell * 5 + len(self.classes)
        shape, node = self.shapes[0], self.outputs[0]
        if len(shape) == 3 and shape[0] == per_cell and shape[1] == shape[2]:
            self.grid, self.flat = shape[1], False
        elif len(shape) == 1 and o.grid and shape[0] == o.grid * o.grid * per_cell:
            self.grid, self.flat = o.grid, True
        else:
            raise TrainingError(
                f"detection with B={o.boxes_per_cell} boxes per cell and {len(self.classes)} classes needs "
                f"{per_cell} values per cell: an output [{per_cell}, S, S], or a flat S*S*{per_cell} with \"grid\": S; "
                f"the output '{node}' has shape {list(shape)}"
            )

    def _cells(self, output: Tensor) -> tuple[Tensor, Tensor]:
        """Boxes [N, S, S, B, 5] (x, y, sqrt w, sqrt h, confidence in 0..1) and class probabilities [N, S, S, K]."""
        s, b = self.grid, self.options.boxes_per_cell
        cells = output.float().view(output.shape[0], s, s, -1) if self.flat else output.float().permute(0, 2, 3, 1)
        boxes = cells[..., : b * 5].reshape(*cells.shape[:3], b, 5).sigmoid()
        return boxes, cells[..., b * 5 :].softmax(-1)

    def _image_boxes(self, boxes: Tensor) -> Tensor:
        """Cell-relative (x, y, sqrt w, sqrt h) as image fractions (x, y, w, h)."""
        s = self.grid
        steps = torch.arange(s, device=boxes.device, dtype=boxes.dtype)
        x = (boxes[..., 0] + steps.view(1, 1, s, 1)) / s
        y = (boxes[..., 1] + steps.view(1, s, 1, 1)) / s
        return torch.stack([x, y, boxes[..., 2] ** 2, boxes[..., 3] ** 2], -1)

    def output_losses(self, outputs: list[Tensor], batch: Batch) -> list[Tensor]:
        o, s = self.options, self.grid
        boxes, probs = self._cells(outputs[0])
        n = boxes.shape[0]
        # Targets: each object belongs to the cell holding its centre (a later object wins a shared cell).
        has = torch.zeros(n, s, s, dtype=torch.bool, device=boxes.device)
        truth = torch.zeros(n, s, s, 4, device=boxes.device)
        labels = torch.zeros(n, s, s, dtype=torch.long, device=boxes.device)
        for k in range(batch.boxes.shape[1]):
            present = batch.box_labels[:, k] >= 0
            gt = batch.boxes[:, k]
            col = (gt[:, 0] * s).long().clamp(0, s - 1)
            row = (gt[:, 1] * s).long().clamp(0, s - 1)
            index = torch.nonzero(present).flatten()
            has[index, row[index], col[index]] = True
            truth[index, row[index], col[index]] = gt[index]
            labels[index, row[index], col[index]] = batch.box_labels[index, k]
        predicted = self._image_boxes(boxes)
        ious = paired_iou(predicted, truth.unsqueeze(3).expand_as(predicted))
        responsible = torch.zeros_like(ious, dtype=torch.bool)
        responsible.scatter_(3, ious.argmax(3, keepdim=True), True)
        responsible &= has.unsqueeze(3)
        steps = torch.arange(s, device=boxes.device, dtype=boxes.dtype)
        cell_truth = torch.stack([truth[..., 0] * s - steps.view(1, 1, s), truth[..., 1] * s - steps.view(1, s, 1),
                                  truth[..., 2].sqrt(), truth[..., 3].sqrt()], -1).unsqueeze(3)
        coord = ((boxes[..., :4] - cell_truth) ** 2).sum(-1)
        confidence = boxes[..., 4]
        one_hot = torch.nn.functional.one_hot(labels, probs.shape[-1]).float()
        loss = (o.lambda_coord * coord[responsible].sum()
                + ((confidence - ious.detach()) ** 2)[responsible].sum()
                + o.lambda_noobj * (confidence ** 2)[~responsible].sum()
                + ((probs - one_hot) ** 2).sum(-1)[has].sum())
        return [loss / n]

    def detect(self, output: Tensor) -> list[Tensor]:
        """Per image, the kept boxes as rows (x, y, w, h, class, score), best first."""
        from torchvision.ops import batched_nms  # imported when used: torchvision takes seconds

        boxes, probs = self._cells(output)
        best = probs.max(-1)
        scores = (boxes[..., 4] * best.values.unsqueeze(-1)).flatten(1)
        classes = best.indices.unsqueeze(-1).expand_as(boxes[..., 4]).flatten(1)
        found = self._image_boxes(boxes).flatten(1, 3)
        result = []
        for i in range(output.shape[0]):
            keep = scores[i] >= self.options.score_threshold
            b, c, sc = found[i][keep], classes[i][keep], scores[i][keep]
            kept = batched_nms(corners(b), sc, c, self.options.nms_iou)
            result.append(torch.cat([b[kept], c[kept].unsqueeze(1).float(), sc[kept].unsqueeze(1)], 1))
        return result

    def meter(self) -> Meter:
        return DetectionMeter(self)

    def predict(self, outputs: list[Tensor]) -> Tensor:
        """[N, M, 6] rows (x, y, w, h, class, score), padded with class -1."""
        found = self.detect(outputs[0])
        width = max((len(f) for f in found), default=0)
        padded = torch.zeros(len(found), width, 6)
        padded[..., 4] = -1
        for i, rows in enumerate(found):
            padded[i, : len(rows)] = rows.cpu()
        return padded


class DetectionMeter(Meter):
    def __init__(self, task: Detection):
        self.task = task
        self.detections: list[tuple[int, int, float, Tensor]] = []
        self.truths: dict[tuple[int, int], Tensor] = {}
        self.seen = 0

    def update(self, outputs: list[Tensor], batch: Batch) -> None:
        for i, rows in enumerate(self.task.detect(outputs[0])):
            image = self.seen + i
            self.detections += [(image, int(r[4]), float(r[5]), r[:4].cpu()) for r in rows]
            for cls in batch.box_labels[i].unique().tolist():
                if cls >= 0:
                    self.truths[(image, cls)] = batch.boxes[i][batch.box_labels[i] == cls].cpu()
        self.seen += batch.size

    def compute(self) -> dict[str, Any]:
        return {"map50": average_precision(self.detections, self.truths, 0.5)}
