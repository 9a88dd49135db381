"""The mates of each sample for a design with one Input per member: pairs and triplets.

Each sample of an epoch is an anchor once. A pair adds a sample of the same class or, as often,
of another (the pair's same/different label follows from the two classes); a triplet adds a
positive (same class, another sample where the class has one) and a negative (another class).
The mates are a pure function of (seed, epoch, anchor), drawn for the whole epoch at once, so a
run resumed at any step, on any number of processes, takes the same members again; validation
draws once with its own key, so its pairs are the same every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor

from cnnstudio.training.errors import TrainingError
from cnnstudio.training.members import KINDS

VALIDATION = -1  # the epoch key of the validation pairs, drawn once
_SPREAD = 1_000_003  # keeps (seed, epoch) keys apart


@dataclass
class Pairing:
    """Mates for the samples whose classes are ``labels`` (any device; kept on the CPU)."""

    labels: Tensor
    members: int  # 2: pairs, 3: triplets
    seed: int
    _cached: tuple[int, Tensor] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        self.labels = self.labels.detach().cpu().long()
        if len(self.labels) and int(self.labels.unique().numel()) < 2:
            raise TrainingError(f"{KINDS[self.members]} need samples of at least 2 classes (a different one for "
                                f"each sample), but the data has only class {int(self.labels[0])}")
        self.order = torch.argsort(self.labels, stable=True)  # the samples, class by class
        counts = torch.bincount(self.labels - self.labels.min())
        starts = torch.cumsum(counts, 0) - counts
        klass = self.labels - self.labels.min()
        self.size, self.start = counts[klass], starts[klass]  # each sample's class: its count and first place
        self.place = torch.empty_like(self.order)
        self.place[self.order] = torch.arange(len(self.order))  # each sample's place in ``order``

    def expand(self, index: Tensor, epoch: int) -> Tensor:
        """``index`` (the anchors), then each one's mates: ``members`` blocks of ``len(index)``."""
        mates = self.mates(epoch)[index.cpu()]
        return torch.cat([index.cpu(), *mates.T]).to(index.device)

    def mates(self, epoch: int) -> Tensor:
        """[N, members - 1]: each sample's mates in ``epoch`` (:data:`VALIDATION`: the fixed ones)."""
        if self._cached is None or self._cached[0] != epoch:
            self._cached = (epoch, self._draw(epoch))
        return self._cached[1]

    def _draw(self, epoch: int) -> Tensor:
        count = len(self.labels)
        generator = torch.Generator().manual_seed((self.seed * _SPREAD + epoch + 1) % 2**63)
        coin, u_pos, u_neg = torch.rand(3, count, generator=generator, dtype=torch.float64)
        # a positive: another sample of the class (the sample itself when it is its class's only one)
        others = (self.size - 1).clamp(min=1)
        rank = (u_pos * others).long()
        rank = torch.where(self.size > 1, rank + (rank >= self.place - self.start).long(), self.place - self.start)
        positive = self.order[self.start + rank]
        # a negative: any sample outside the class's block of ``order``
        spot = (u_neg * (count - self.size)).long()
        negative = self.order[torch.where(spot < self.start, spot, spot + self.size)]
        if self.members == 3:
            return torch.stack([positive, negative], 1)
        return torch.where(coin < 0.5, positive, negative).unsqueeze(1)
