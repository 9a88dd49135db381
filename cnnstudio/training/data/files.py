"""Image files as a :class:`~cnnstudio.training.data.source.Source`, decoded only when read.

Only the file names, labels and (for detection) box coordinates stay in memory; a million-image
folder costs tens of megabytes until it is read. Training reads it a batch at a time in worker
processes (:mod:`cnnstudio.training.loader`), or all at once into a :class:`TensorData` when it
is small enough (:func:`cnnstudio.training.data.placement.load_whole`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import Tensor

from cnnstudio.training.data import images
from cnnstudio.training.data.base import TensorData


@dataclass
class FileSource:
    root: Path
    paths: list[str]  # relative to root
    labels: Tensor  # [N] int64
    classes: list[str]
    shape: tuple[int, int, int]  # (C, H, W) each image is decoded to: the Input's
    corners: Tensor | None = None  # [N, M, 4] float: boxes as (x0, y0, x1, y1) in the file's pixels
    box_labels: Tensor | None = None  # [N, M] int64, -1 where an image has fewer than M objects
    masks: list[str] | None = None  # mask files, relative to root
    unlisted: list[str] = field(default_factory=list)  # files found that are not images, never read

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def targets(self) -> frozenset[str]:
        found = {"boxes", "box_labels"} if self.corners is not None else set()
        return frozenset(found | ({"masks"} if self.masks is not None else set()))

    @property
    def streaming(self) -> bool:
        return True

    @property
    def nbytes(self) -> int:
        """The memory the decoded samples would take, from the Input's shape alone."""
        channels, height, width = self.shape
        per_sample = channels * height * width + (height * width if self.masks is not None else 0)
        boxes = 0 if self.corners is None else self.corners.shape[1] * (16 + 8)
        return len(self) * (per_sample + boxes + 8)

    def name(self, i: int) -> str:
        return self.paths[i]

    def subset(self, index: Tensor) -> FileSource:
        chosen = index.tolist()
        return replace(
            self,
            paths=[self.paths[i] for i in chosen],
            labels=self.labels[index],
            corners=None if self.corners is None else self.corners[index],
            box_labels=None if self.box_labels is None else self.box_labels[index],
            masks=None if self.masks is None else [self.masks[i] for i in chosen],
            unlisted=[],
        )

    def read(self, index: Tensor) -> TensorData:
        channels, height, width = self.shape
        pixels, masks, sizes, kept, skipped = [], [], [], [], []
        for position, i in enumerate(index.tolist()):
            try:
                image, size = images.decode(self.root / self.paths[i], self.shape)
                mask = images.decode_mask(self.root / self.masks[i], height, width) if self.masks is not None else None
            except images.UNREADABLE:
                skipped.append(self.paths[i])
                continue
            pixels.append(image)
            masks.append(mask)
            sizes.append(size)
            kept.append(position)
        keep = index[torch.tensor(kept, dtype=torch.int64)]
        return TensorData(
            torch.stack(pixels) if pixels else torch.zeros(0, channels, height, width, dtype=torch.uint8),
            self.labels[keep],
            self.classes,
            boxes=None if self.corners is None else _centred(self.corners[keep], sizes),
            box_labels=None if self.box_labels is None else self.box_labels[keep],
            masks=None if self.masks is None else (torch.stack(masks) if masks else torch.zeros(0, height, width, dtype=torch.uint8)),
            skipped=skipped,
        )


def _centred(corners: Tensor, sizes: list[tuple[int, int]]) -> Tensor:
    """(x0, y0, x1, y1) in pixels of each file to (x, y, w, h) as fractions of the image."""
    scale = torch.tensor([[w, h, w, h] for w, h in sizes], dtype=torch.float32).view(-1, 1, 4)
    fractions = corners / scale.clamp(min=1) if len(sizes) else corners
    x0, y0, x1, y1 = fractions.clamp(0, 1).unbind(-1)
    return torch.stack([(x0 + x1) / 2, (y0 + y1) / 2, x1 - x0, y1 - y0], dim=-1)
