"""Metric learning: an embedding where same-class samples are close and others far.

Triplets and pairs are formed inside each batch from its labels, so the one designed embedding
network embeds every member (anchor, positive, negative; or both sides of a Siamese pair): the
shared weights are shared because there is only one network. Triplet loss (margin alpha) with
batch-all, batch-hard or semi-hard selection, and per batch the counts of easy, semi-hard and
hard triplets; or the contrastive loss over every pair. Validation: nearest-neighbour accuracy.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.tasks.base import Batch, Meter, Task

NEIGHBOUR_SAMPLES = 4000  # validation embeddings kept for nearest-neighbour accuracy


class MetricLearning(Task):
    name = "metric"
    wants_logits = False

    def embed(self, output: Tensor) -> Tensor:
        flat = output.float().flatten(1)
        return F.normalize(flat, dim=1) if self.options.normalize else flat

    def output_losses(self, outputs: list[Tensor], batch: Batch) -> list[Tensor]:
        return [self._loss(outputs[0], batch)[0]]

    def loss(self, outputs: list[Tensor], taps: list[Tensor], batch: Batch) -> tuple[Tensor, dict[str, float]]:
        loss, stats = self._loss(outputs[0], batch)
        return self.weights[0] * loss, stats

    def _loss(self, output: Tensor, batch: Batch) -> tuple[Tensor, dict[str, float]]:
        """The unweighted loss, with the triplet counts."""
        z = self.embed(output)
        dist = torch.cdist(z, z)
        same = batch.labels.unsqueeze(0) == batch.labels.unsqueeze(1)
        eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
        positive, negative = same & ~eye, ~same
        if self.options.loss == "contrastive":
            return self._contrastive(dist, positive, negative), {}
        return self._triplet(dist, positive, negative)

    def _contrastive(self, dist: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        """Positives pulled together, negatives pushed past the margin; each kind averaged on its own."""
        pull = dist[positive].pow(2).mean() if positive.any() else dist.sum() * 0
        push = F.relu(self.options.margin - dist[negative]).pow(2).mean() if negative.any() else dist.sum() * 0
        return pull + push

    def _triplet(self, dist: Tensor, positive: Tensor, negative: Tensor) -> tuple[Tensor, dict[str, float]]:
        margin = self.options.margin
        d_ap = dist.unsqueeze(2)  # [anchor, positive, 1]
        d_an = dist.unsqueeze(1)  # [anchor, 1, negative]
        valid = positive.unsqueeze(2) & negative.unsqueeze(1)
        hard = valid & (d_an <= d_ap)
        semi = valid & (d_an > d_ap) & (d_an < d_ap + margin)
        stats = {"triplets_easy": float((valid & ~hard & ~semi).sum()), "triplets_semi_hard": float(semi.sum()),
                 "triplets_hard": float(hard.sum())}
        if not valid.any():
            return dist.sum() * 0, stats
        mining = self.options.mining
        if mining == "batch-all":
            losses = F.relu(d_ap - d_an + margin)[valid]
            active = losses > 0
            return (losses[active].mean() if active.any() else losses.sum() * 0), stats
        if mining == "batch-hard":
            has = positive.any(1) & negative.any(1)
            hardest_pos = dist.masked_fill(~positive, float("-inf")).amax(1)
            hardest_neg = dist.masked_fill(~negative, float("inf")).amin(1)
            return F.relu(hardest_pos - hardest_neg + margin)[has].mean(), stats
        # semi-hard (FaceNet): per (anchor, positive), the closest negative farther than the positive,
        # or the farthest negative when none is.
        inf = torch.tensor(float("inf"), device=dist.device)
        outside = torch.where(valid & (d_an > d_ap), d_an.expand_as(valid), inf).amin(2)
        inside = torch.where(valid, d_an.expand_as(valid), -inf).amax(2)
        chosen = torch.where(torch.isfinite(outside), outside, inside)
        pairs = positive & negative.any(1, keepdim=True)
        return F.relu(dist - chosen + margin)[pairs].mean(), stats

    def meter(self) -> Meter:
        return NeighbourMeter(self)

    def predict(self, outputs: list[Tensor]) -> Tensor:
        return self.embed(outputs[0])


class NeighbourMeter(Meter):
    """Leave-one-out 1-nearest-neighbour accuracy over (up to 4,000) validation embeddings."""

    def __init__(self, task: MetricLearning):
        self.task = task
        self.embeddings: list[Tensor] = []
        self.labels: list[Tensor] = []
        self.kept = 0

    def update(self, outputs: list[Tensor], batch: Batch) -> None:
        room = NEIGHBOUR_SAMPLES - self.kept
        if room > 0:
            self.embeddings.append(self.task.embed(outputs[0])[:room].cpu())
            self.labels.append(batch.labels[:room].cpu())
            self.kept += len(self.labels[-1])

    def compute(self) -> dict[str, Any]:
        z, labels = torch.cat(self.embeddings), torch.cat(self.labels)
        if len(z) < 2:
            return {"nn_accuracy": 0.0}
        dist = torch.cdist(z, z).fill_diagonal_(float("inf"))
        return {"nn_accuracy": float((labels[dist.argmin(1)] == labels).float().mean())}
