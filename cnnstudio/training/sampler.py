"""Which samples each step of each epoch takes: a pure function of (seed, epoch, step).

Nothing about the order lives in an iterator, so a run resumed at any step takes exactly the
batches an uninterrupted one would, whatever the source (in memory or streaming from disk). Under
torchrun, rank r of N processes takes every N-th sample from r (DistributedSampler's sharding), so
step k of all ranks together is step k of one process with the global batch. The checkpoint keeps
:meth:`EpochSampler.state`, and :meth:`EpochSampler.check` refuses to resume on different data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.utils.data import DistributedSampler

from cnnstudio.training.errors import TrainingError


@dataclass(frozen=True)
class EpochSampler:
    samples: int
    batch_size: int
    seed: int
    rank: int = 0
    processes: int = 1

    def __len__(self) -> int:
        """Batches per epoch; a last, incomplete batch is dropped (a batch of one breaks BatchNorm)."""
        return self.samples // self.processes // self.batch_size

    def order(self, epoch: int) -> Tensor:
        """This rank's samples of ``epoch``, in order."""
        sampler = DistributedSampler(range(self.samples), self.processes, self.rank, shuffle=True,
                                     seed=self.seed, drop_last=True)
        sampler.set_epoch(epoch)
        return torch.tensor(list(sampler), dtype=torch.int64)

    def batches(self, epoch: int, start: int = 0) -> Iterator[Tensor]:
        """The sample indices of each step of ``epoch``, from step ``start`` on."""
        order = self.order(epoch)
        for step in range(start, len(self)):
            yield order[step * self.batch_size : (step + 1) * self.batch_size]

    def state(self, epoch: int, step: int) -> dict[str, Any]:
        """What a checkpoint keeps: enough to take the same batches again, and to notice other data."""
        return {"samples": self.samples, "batch_size": self.batch_size, "seed": self.seed,
                "processes": self.processes, "epoch": epoch, "step": step}

    def check(self, state: dict[str, Any]) -> None:
        """Refuse to continue a run whose data or batches were different."""
        for key, now in (("samples", self.samples), ("batch_size", self.batch_size), ("processes", self.processes)):
            if state.get(key, now) != now:
                raise TrainingError(
                    f"the checkpoint was written with {key.replace('_', ' ')} {state[key]} but this run has {now}; "
                    "a run resumes exactly only on the same data, batch size and number of processes"
                )
