"""What the studio's dataset browser reads, without Qt: a run's two splits, a page of samples, the
class histogram and augmented copies of one sample.

Opening lists image files by name only, the histogram comes from the labels, and pages are read a
few dozen samples at a time, so browsing a streaming source never loads it whole. Call these from
a background thread: they may import torch and decode files.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from cnnstudio.training.data.convert import to_float
from cnnstudio.training.data.prepare import open_split
from cnnstudio.training.settings import AugmentSettings, TrainingSettings

PARTS = ("training", "validation")


@dataclass(frozen=True)
class Sample:
    """One decoded sample as the browser shows it; ``image`` is float [C, H, W] in [0, 1] on the CPU."""

    index: int  # within its split
    name: str
    label: int
    image: Tensor
    boxes: Tensor | None = None  # [M, 4] (x, y, w, h) fractions, centre-based
    box_labels: Tensor | None = None  # [M], -1 for padding
    mask: Tensor | None = None  # [H, W]: 0 background, class + 1


class Browsing:
    """The samples of one run's settings (its data, validation choice and classes) for an Input of ``shape``."""

    def __init__(self, settings: TrainingSettings, shape: tuple[int, ...], warn: Callable[[str], None] = print):
        from cnnstudio.training.tasks import TASKS

        task = TASKS[settings.task]
        split = open_split(settings, shape, (), task.data_hints, warn)
        self.drawn = set(task.needs)  # boxes for localization and detection, masks for segmentation
        self.parts = {"training": split.train, "validation": split.validation}
        self.classes: list[str] = split.train.classes
        self.description = split.description
        self.streaming = split.train.streaming

    def histogram(self) -> dict[str, list[int]]:
        """Samples per class in each split, from the labels alone."""
        return {part: torch.bincount(source.labels.cpu(), minlength=len(self.classes)).tolist()
                for part, source in self.parts.items()}

    def indices(self, part: str, label: int | None = None) -> list[int]:
        """The samples of ``part``, of one class or all."""
        labels = self.parts[part].labels.cpu()
        return (labels == label).nonzero().squeeze(1).tolist() if label is not None else list(range(len(labels)))

    def read(self, part: str, indices: list[int]) -> tuple[list[Sample], list[str]]:
        """Those samples decoded, and the names of the ones that could not be read."""
        source = self.parts[part]
        data = source.read(torch.tensor(indices, dtype=torch.int64))
        skipped = set(data.skipped)
        kept = [i for i in indices if source.name(i) not in skipped]
        images = to_float(data.images.cpu())
        boxes = data.boxes is not None and "boxes" in self.drawn
        masks = data.masks is not None and "masks" in self.drawn
        samples = [
            Sample(i, source.name(i), int(data.labels[k]), images[k],
                   data.boxes[k].cpu() if boxes else None, data.box_labels[k].cpu() if boxes else None,
                   data.masks[k].cpu() if masks else None)
            for k, i in enumerate(kept)
        ]
        return samples, sorted(skipped)

    def augmented(self, sample: Sample, augment: AugmentSettings, count: int) -> list[Sample]:
        """``count`` copies of ``sample`` under ``augment``, each drawn anew (the same sample unchanged
        when nothing is on or the data is not images)."""
        if not augment.active or sample.image.ndim != 3:
            return [sample] * count
        from cnnstudio.training.data import augment as augmentation

        transform = augmentation.build(augment)
        images = sample.image.unsqueeze(0).expand(count, -1, -1, -1).contiguous()
        boxes = None if sample.boxes is None else sample.boxes.unsqueeze(0).expand(count, -1, -1).contiguous()
        masks = None if sample.mask is None else sample.mask.unsqueeze(0).expand(count, -1, -1).contiguous()
        images, boxes, masks = augmentation.apply(transform, images, boxes, masks)
        return [Sample(sample.index, sample.name, sample.label, images[k],
                       None if boxes is None else boxes[k], sample.box_labels, None if masks is None else masks[k])
                for k in range(count)]
