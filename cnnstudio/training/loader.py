"""Batches straight from preloaded tensors: an index per batch, no worker processes, no copies.

The order of each epoch comes from a generator seeded by (seed, epoch), so a run resumed in the
middle of an epoch sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import torch
from torch import Tensor
from torch.utils.data import DistributedSampler

from cnnstudio.training.data import augment
from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.convert import fit_images, to_float
from cnnstudio.training.tasks.base import Batch

if TYPE_CHECKING:  # torchvision takes seconds to import; only augmentation needs it
    from torchvision.transforms import v2


class Loader:
    def __init__(self, data: TensorData, input_shapes: list[tuple[int, ...]], batch_size: int,
                 seed: int, transform: v2.Transform | None = None, channels_last: bool = False,
                 shard: tuple[int, int] = (0, 1)):
        """``shard``: (rank, processes) under torchrun; this loader yields the rank's share of
        every global batch, and ``batch_size`` is that share."""
        self.data = data
        self.rank, self.processes = shard
        self.input_shapes = input_shapes
        self.batch_size = min(batch_size, len(data))
        self.seed = seed
        self.transform = transform
        self.channels_last = channels_last

    def __len__(self) -> int:
        """Batches per epoch; a last, incomplete batch is dropped (a batch of one breaks BatchNorm)."""
        return len(self.data) // self.processes // self.batch_size

    def order(self, epoch: int) -> Tensor:
        """This rank's samples of ``epoch``, in order. Rank r takes every processes-th sample from r,
        so step k of all ranks together is step k of one process with the global batch."""
        sampler = DistributedSampler(range(len(self.data)), self.processes, self.rank, shuffle=True,
                                     seed=self.seed, drop_last=True)
        sampler.set_epoch(epoch)
        return torch.tensor(list(sampler), dtype=torch.int64, device=self.data.images.device)

    def batch(self, index: Tensor) -> Batch:
        d = self.data
        images = to_float(d.images[index])
        boxes = d.boxes[index] if d.boxes is not None else None
        masks = d.masks[index] if d.masks is not None else None
        if self.transform is not None:
            images, boxes, masks = augment.apply(self.transform, images, boxes, masks)
        inputs = [images if tuple(images.shape[1:]) == shape else fit_images(images, shape) for shape in self.input_shapes]
        if self.channels_last:
            inputs = [x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x for x in inputs]
        box_labels = d.box_labels[index] if d.box_labels is not None else None
        return Batch(inputs, d.labels[index], boxes, box_labels, masks)

    def epoch(self, epoch: int, start: int = 0) -> Iterator[Tensor]:
        """The sample indices of each batch of ``epoch``, from step ``start`` on."""
        order = self.order(epoch)
        for step in range(start, len(self)):
            yield order[step * self.batch_size : (step + 1) * self.batch_size]

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        """Every sample once, in stored order (validation)."""
        for start in range(0, len(self.data), batch_size):
            yield self.batch(torch.arange(start, min(start + batch_size, len(self.data)), device=self.data.images.device))
