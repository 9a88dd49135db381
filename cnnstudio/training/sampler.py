"""Which samples each step of each epoch takes: a pure function of (seed, epoch, step).

Nothing about the order lives in an iterator, so a run resumed at any step takes exactly the
batches an uninterrupted one would, whatever the source (in memory or streaming from disk). Under
torchrun, rank r of N processes takes every N-th sample from r (DistributedSampler's sharding), so
step k of all ranks together is step k of one process with the global batch. The checkpoint keeps
:meth:`EpochSampler.state`, and :meth:`EpochSampler.check` refuses to resume on different data.

Step k of an epoch takes samples ``k*G`` to ``(k+1)*G`` of the epoch's permutation, whatever the
number of processes sharing the global batch G (each takes every N-th of them). So a run resumed
on another number of processes continues at the same step with exactly the samples not yet seen;
only which process sees which sample of a batch changes (:meth:`EpochSampler.check` says so).
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

    @property
    def global_batch(self) -> int:
        return self.batch_size * self.processes

    def state(self, epoch: int, step: int) -> dict[str, Any]:
        """What a checkpoint keeps: enough to take the same batches again, to notice other data, and
        to continue on another number of processes (the global batch, the samples of the epoch consumed)."""
        return {"samples": self.samples, "batch_size": self.batch_size, "seed": self.seed,
                "processes": self.processes, "global_batch": self.global_batch, "epoch": epoch, "step": step,
                "consumed": step * self.global_batch}

    def check(self, state: dict[str, Any]) -> None:
        """Refuse to continue a run whose data or global batch were different; the number of
        processes may differ (the steps, and the samples of each, stay the same)."""
        if state.get("samples", self.samples) != self.samples:
            raise TrainingError(f"the checkpoint was written with {state['samples']} training samples but this run has "
                                f"{self.samples}; a run resumes only on the same data")
        before = int(state.get("processes", self.processes))
        global_batch = int(state.get("global_batch", int(state.get("batch_size", self.batch_size)) * before))
        if global_batch != self.global_batch:
            raise TrainingError(f"the checkpoint was trained with a global batch of {global_batch} samples but this run "
                                f"has {self.global_batch}; a resumed run keeps its batch size (leave out --batch-size)")
