"""Box helpers shared by localization and detection; boxes are (x, y, w, h), centre-based."""

from __future__ import annotations

import torch
from torch import Tensor


def corners(boxes: Tensor) -> Tensor:
    from torchvision.ops import box_convert  # torchvision only for the box tasks: it takes seconds to import

    return box_convert(boxes, "cxcywh", "xyxy")


def paired_iou(a: Tensor, b: Tensor) -> Tensor:
    """IoU of a[i] with b[i] (shapes [..., 4])."""
    a, b = corners(a), corners(b)
    low = torch.maximum(a[..., :2], b[..., :2])
    high = torch.minimum(a[..., 2:], b[..., 2:])
    inter = (high - low).clamp(min=0).prod(-1)
    return inter / (_area_of(a) + _area_of(b) - inter).clamp(min=1e-9)


def _area_of(box: Tensor) -> Tensor:
    return (box[..., 2:] - box[..., :2]).clamp(min=0).prod(-1)


def average_precision(detections: list[tuple[int, int, float, Tensor]], truths: dict[tuple[int, int], Tensor],
                      threshold: float = 0.5) -> float:
    """Mean over classes of the area under the precision-recall curve (VOC all-point).

    ``detections``: (image, class, score, box); ``truths``: (image, class) -> boxes [K, 4].
    """
    from torchvision.ops import box_iou

    aps = []
    for cls in sorted({c for _, c in truths}):
        found = sorted((d for d in detections if d[1] == cls), key=lambda d: -d[2])
        total = sum(len(boxes) for (_, c), boxes in truths.items() if c == cls)
        used = {key: torch.zeros(len(boxes), dtype=torch.bool) for key, boxes in truths.items() if key[1] == cls}
        hits = []
        for image, _, _, box in found:
            boxes = truths.get((image, cls))
            hit = False
            if boxes is not None:
                ious = box_iou(corners(box.view(1, 4)), corners(boxes))[0]
                ious[used[(image, cls)]] = -1
                best = int(ious.argmax())
                if ious[best] >= threshold:
                    used[(image, cls)][best] = True
                    hit = True
            hits.append(hit)
        aps.append(_area(torch.tensor(hits, dtype=torch.float64), total))
    return sum(aps) / len(aps) if aps else 0.0


def _area(hits: Tensor, total: int) -> float:
    if not len(hits):
        return 0.0
    tp = hits.cumsum(0)
    recall = torch.cat([torch.zeros(1, dtype=torch.float64), tp / total])
    precision = torch.cat([torch.ones(1, dtype=torch.float64), tp / torch.arange(1, len(hits) + 1)])
    precision = precision.flip(0).cummax(0).values.flip(0)  # the envelope: best precision at this recall or more
    return float(((recall[1:] - recall[:-1]) * precision[1:]).sum())
