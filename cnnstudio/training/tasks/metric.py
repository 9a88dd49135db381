"""Metric learning: an embedding where same-class samples are close and others far.

Triplets and pairs are formed inside each batch from its labels, so the one designed embedding
network embeds every member (anchor, positive, negative; or both sides of a Siamese pair): the
shared weights are shared because there is only one network. Triplet loss (margin alpha) with
batch-all, batch-hard or semi-hard selection, and per batch the counts of easy, semi-hard and
hard triplets; or the contrastive loss over every pair. Validation: nearest-neighbour accuracy.

A design with one Input per member (:mod:`cnnstudio.training.members`) gets each sample with its
mates instead, one to each Input, and has one embedding output per Input: a pair trains the
contrastive loss on its same/different label; a triplet the triplet loss, mined as above over
the batch's positives (from the positive Input) and negatives (from the negative Input) of each
anchor, so the given triplets are among those considered. Validation adds the share of pairs
judged right (closer than half the margin when same) or of triplets in order (the positive closer).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.core.analysis import Analysis
from cnnstudio.training.members import KINDS
from cnnstudio.training.settings import TrainingSettings
from cnnstudio.training.tasks.base import Batch, Meter, Task

NEIGHBOUR_SAMPLES = 4000  # validation embeddings kept for nearest-neighbour accuracy
AGREEMENT = {2: "pair_accuracy", 3: "triplet_accuracy"}  # members -> the validation metric of their order


class MetricLearning(Task):
    name = "metric"
    wants_logits = False

    def __init__(self, settings: TrainingSettings, analysis: Analysis, outputs: list[str], classes: list[str]):
        members = len(analysis.inputs) if len(analysis.inputs) in KINDS else 1
        self.arity = (members, members)  # one embedding per member
        super().__init__(settings, analysis, outputs, classes)

    def embed(self, output: Tensor) -> Tensor:
        flat = output.float().flatten(1)
        return F.normalize(flat, dim=1) if self.options.normalize else flat

    def output_losses(self, outputs: list[Tensor], batch: Batch) -> list[Tensor]:
        return [self._loss(outputs, batch)[0]]

    def loss(self, outputs: list[Tensor], taps: list[Tensor], batch: Batch) -> tuple[Tensor, dict[str, float]]:
        loss, stats = self._loss(outputs, batch)
        return self.weights[0] * loss, stats

    def _loss(self, outputs: list[Tensor], batch: Batch) -> tuple[Tensor, dict[str, float]]:
        """The unweighted loss, with the triplet counts."""
        if batch.members is not None:
            return self._members_loss([self.embed(out) for out in outputs], batch.members)
        z = self.embed(outputs[0])
        dist = torch.cdist(z, z)
        same = batch.labels.unsqueeze(0) == batch.labels.unsqueeze(1)
        eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
        positive, negative = same & ~eye, ~same
        if self.options.loss == "contrastive":
            return self._contrastive(dist, positive, negative), {}
        return self._triplet(dist, dist, positive, negative)

    def _members_loss(self, z: list[Tensor], members: list[Tensor]) -> tuple[Tensor, dict[str, float]]:
        """A pair's contrastive loss on its same/different label, or the triplet loss mined over each
        anchor's positives and negatives in the batch."""
        if len(z) == 2:
            same = members[0] == members[1]
            return self._contrastive(F.pairwise_distance(z[0], z[1]), same, ~same), {}
        anchor, positive, negative = members
        return self._triplet(torch.cdist(z[0], z[1]), torch.cdist(z[0], z[2]),
                             anchor.unsqueeze(1) == positive.unsqueeze(0), anchor.unsqueeze(1) != negative.unsqueeze(0))

    def agreement(self, outputs: list[Tensor], members: list[Tensor]) -> Tensor:
        """Per sample: a pair judged right (closer than half the margin exactly when the same class),
        or a triplet in order (the positive closer than the negative)."""
        z = [self.embed(out) for out in outputs]
        if len(z) == 2:
            return (F.pairwise_distance(z[0], z[1]) < self.options.margin / 2) == (members[0] == members[1])
        return F.pairwise_distance(z[0], z[1]) < F.pairwise_distance(z[0], z[2])

    def _contrastive(self, dist: Tensor, positive: Tensor, negative: Tensor) -> Tensor:
        """Positives pulled together, negatives pushed past the margin; each kind averaged on its own."""
        pull = dist[positive].pow(2).mean() if positive.any() else dist.sum() * 0
        push = F.relu(self.options.margin - dist[negative]).pow(2).mean() if negative.any() else dist.sum() * 0
        return pull + push

    def _triplet(self, dist: Tensor, dist_neg: Tensor, positive: Tensor, negative: Tensor) -> tuple[Tensor, dict[str, float]]:
        """``dist``: anchors to positive candidates, ``dist_neg``: to negative candidates (the same
        matrix when one network embeds the whole batch)."""
        margin = self.options.margin
        d_ap = dist.unsqueeze(2)  # [anchor, positive, 1]
        d_an = dist_neg.unsqueeze(1)  # [anchor, 1, negative]
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
            hardest_neg = dist_neg.masked_fill(~negative, float("inf")).amin(1)
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
        self.agreed = self.judged = 0  # pairs judged right, triplets in order

    def update(self, outputs: list[Tensor], batch: Batch) -> None:
        if batch.members is not None:
            self.agreed += int(self.task.agreement(outputs, batch.members).sum())
            self.judged += batch.size
        room = NEIGHBOUR_SAMPLES - self.kept
        if room > 0:
            self.embeddings.append(self.task.embed(outputs[0])[:room].cpu())
            self.labels.append(batch.labels[:room].cpu())
            self.kept += len(self.labels[-1])

    def compute(self) -> dict[str, Any]:
        """The first Input's embeddings' nearest-neighbour accuracy, and for pairs or triplets their share right."""
        z, labels = torch.cat(self.embeddings), torch.cat(self.labels)
        found = {AGREEMENT[len(self.task.outputs)]: self.agreed / self.judged} if self.judged else {}
        if len(z) < 2:
            return {"nn_accuracy": 0.0, **found}
        dist = torch.cdist(z, z).fill_diagonal_(float("inf"))
        return {"nn_accuracy": float((labels[dist.argmin(1)] == labels).float().mean()), **found}
