"""Decoding whole batches in worker processes with ``torch.utils.data.DataLoader``.

Each item the DataLoader fetches is a batch (a list of sample indices) that a worker reads with
:meth:`Source.read`, so the per-sample work stays in the source and the DataLoader only ferries
batches: ``prefetch`` batches ahead per worker, into pinned memory for a CUDA device.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

import torch

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.source import Source

if TYPE_CHECKING:
    from torch.utils.data import DataLoader

PREFETCH = 4


def batch_reader(source: Source, batches: Iterable[list[int]], workers: int, *, pin: bool = False,
                 persistent: bool = False) -> DataLoader:
    """A DataLoader yielding ``source.read`` of each index list of ``batches``, in order."""
    from torch.utils.data import DataLoader

    return DataLoader(_Reader(source), sampler=batches, batch_size=None, collate_fn=_as_is, num_workers=workers,
                      prefetch_factor=PREFETCH if workers else None, persistent_workers=persistent and workers > 0,
                      pin_memory=pin, worker_init_fn=_one_thread if workers else None,
                      generator=torch.Generator())  # its workers' seeds must not come from, and move, the global one


class Plan:
    """Batches to read next, changed between passes of a persistent DataLoader (its workers stay)."""

    def __init__(self) -> None:
        self.batches: Iterable[torch.Tensor] = ()

    def __iter__(self) -> Iterator[list[int]]:
        return (index.tolist() for index in self.batches)


class _Reader:
    def __init__(self, source: Source):
        self.source = source

    def __getitem__(self, index: list[int]) -> TensorData:
        return self.source.read(torch.tensor(index, dtype=torch.int64))


def _as_is(batch: TensorData) -> TensorData:
    return batch


def _one_thread(worker: int) -> None:
    """Workers leave the cores to training: one thread each."""
    torch.set_num_threads(1)
