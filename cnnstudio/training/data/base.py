"""Preloaded datasets and the train/validation split."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import torch
from torch import Tensor

from cnnstudio.core.display import shorten
from cnnstudio.training.errors import TrainingError


@dataclass
class TensorData:
    """A whole dataset as tensors; every per-sample tensor has the samples along dim 0.

    ``images`` are uint8 (0-255) or float in [0, 1]. Boxes are (x, y, w, h), centre-based, as
    fractions of the image; images with fewer objects than ``M`` pad with label -1. Masks hold 0
    for background and class + 1 for each object's pixels.
    """

    images: Tensor  # [N, C, H, W] or [N, C, L]
    labels: Tensor  # [N] int64: the class of the (first) object
    classes: list[str]
    boxes: Tensor | None = None  # [N, M, 4]
    box_labels: Tensor | None = None  # [N, M] int64
    masks: Tensor | None = None  # [N, H, W] uint8

    def __len__(self) -> int:
        return self.images.shape[0]

    def per_sample(self) -> dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), Tensor)}

    def subset(self, index: Tensor) -> TensorData:
        return replace(self, **{name: value[index] for name, value in self.per_sample().items()})

    def to(self, device: torch.device) -> TensorData:
        return replace(self, **{name: value.to(device) for name, value in self.per_sample().items()})


def split(data: TensorData, val_fraction: float, seed: int) -> tuple[TensorData, TensorData]:
    """A seeded random split, so that folders sorted by class still validate on every class."""
    count = len(data)
    val_count = max(1, round(count * val_fraction))
    if count - val_count < 1:
        raise TrainingError(f"the data has only {count} sample(s): too few to keep some for validation")
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    return data.subset(order[val_count:]), data.subset(order[:val_count])


def select_classes(data: TensorData, keep: list[int]) -> TensorData:
    """Only the samples of the classes in ``keep``, renumbered 0, 1, ... in that order."""
    unknown = [c for c in keep if c >= len(data.classes)]
    if not keep or unknown or len(set(keep)) != len(keep):
        raise TrainingError(
            f"'classes' must name one or more distinct classes of the data, from 0 to {len(data.classes) - 1}; got {shorten(str(keep))}"
        )
    renumber = torch.full((len(data.classes),), -1, dtype=torch.int64)
    renumber[torch.tensor(keep)] = torch.arange(len(keep))
    chosen = renumber[data.labels.cpu()] >= 0
    subset = data.subset(chosen.nonzero().squeeze(1))
    return replace(subset, labels=renumber[subset.labels.cpu()].to(subset.labels.device),
                   classes=[data.classes[c] for c in keep])
