"""Datasets held in memory as tensors, and choosing classes from any source."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace
from typing import TypeVar

import torch
from torch import Tensor

from cnnstudio.training.data.source import TARGETS, Source
from cnnstudio.training.errors import TrainingError

S = TypeVar("S", bound=Source)


@dataclass
class TensorData:
    """A whole dataset as tensors; every per-sample tensor has the samples along dim 0.

    ``images`` are uint8 (0-255) or float in [0, 1]. Boxes are (x, y, w, h), centre-based, as
    fractions of the image; images with fewer objects than ``M`` pad with label -1. Masks hold 0
    for background and class + 1 for each object's pixels. It is the in-memory :class:`Source`,
    and also what a streaming source's :meth:`~Source.read` returns.
    """

    images: Tensor  # [N, C, H, W] or [N, C, L]
    labels: Tensor  # [N] int64: the class of the (first) object
    classes: list[str]
    boxes: Tensor | None = None  # [N, M, 4]
    box_labels: Tensor | None = None  # [N, M] int64
    masks: Tensor | None = None  # [N, H, W] uint8
    skipped: list[str] = field(default_factory=list)  # files left out of a read because they are unreadable

    def __len__(self) -> int:
        return self.images.shape[0]

    @property
    def targets(self) -> frozenset[str]:
        return frozenset(name for name in TARGETS if getattr(self, name) is not None)

    @property
    def streaming(self) -> bool:
        return False

    @property
    def device(self) -> torch.device:
        return self.images.device

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in self.per_sample().values())

    def per_sample(self) -> dict[str, Tensor]:
        return {f.name: getattr(self, f.name) for f in fields(self) if isinstance(getattr(self, f.name), Tensor)}

    def subset(self, index: Tensor) -> TensorData:
        return replace(self, **{name: value[index] for name, value in self.per_sample().items()})

    read = subset

    def name(self, i: int) -> str:
        return f"sample {i}"

    def to(self, device: torch.device, non_blocking: bool = False) -> TensorData:
        return replace(self, **{name: value.to(device, non_blocking=non_blocking) for name, value in self.per_sample().items()})

    def pin_memory(self) -> TensorData:
        """A copy in page-locked memory, for fast copies to a GPU (DataLoader calls this by name)."""
        return replace(self, **{name: value.pin_memory() for name, value in self.per_sample().items()})


def stack(parts: list[TensorData], classes: list[str]) -> TensorData:
    """Several reads joined into one (the in-memory path of a file source)."""
    joined = {}
    for f in dataclasses.fields(TensorData):
        values = [getattr(p, f.name) for p in parts]
        if f.name in ("classes", "skipped"):
            continue
        joined[f.name] = torch.cat(values) if values and values[0] is not None else None
    return TensorData(**joined, classes=classes, skipped=[name for p in parts for name in p.skipped])


def select_classes(data: S, keep: list[int]) -> S:
    """Only the samples of the classes in ``keep``, renumbered 0, 1, ... in that order."""
    unknown = [c for c in keep if c >= len(data.classes)]
    if unknown or len(set(keep)) != len(keep):
        raise TrainingError(
            f"'classes' must name distinct classes of the data, from 0 to {len(data.classes) - 1}; got {keep}"
        )
    renumber = torch.full((len(data.classes),), -1, dtype=torch.int64)
    renumber[torch.tensor(keep)] = torch.arange(len(keep))
    chosen = renumber[data.labels.cpu()] >= 0
    subset = data.subset(chosen.nonzero().squeeze(1))
    return replace(subset, labels=renumber[subset.labels.cpu()].to(subset.labels.device),  # type: ignore[type-var]
                   classes=[data.classes[c] for c in keep])
