"""Which samples validate a run: the source's own, a random fraction, the last ones, or another source.

``"validation": "auto"`` (the default) takes the source's own validation samples when it has them
(MNIST's t10k files beside the training files, a folder's ``val/``, a CSV's ``split`` column,
torchvision's test sets), else a random ``val_split`` of the samples drawn with ``split_seed``, a
seed of its own: changing the weights' ``seed`` keeps the same validation samples. Every run
records the choice in words (:attr:`Split.description`): in its log and its checkpoint.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from cnnstudio.training.data.source import Dataset, Source
from cnnstudio.training.errors import TrainingError

WORDS = ("auto", "random", "last", "source")


@dataclass(frozen=True)
class Split:
    train: Source
    validation: Source
    mode: str  # source, random, last or separate
    description: str

    def record(self) -> dict[str, str | int]:
        """What the checkpoint keeps."""
        return {"mode": self.mode, "description": self.description, "train": len(self.train),
                "validation": len(self.validation)}


def choose(dataset: Dataset, validation: str, fraction: float, split_seed: int,
           open_other: Callable[[str], Dataset]) -> Split:
    """The training and validation samples of ``dataset`` under the ``validation`` setting; a
    ``validation`` that is not one of :data:`WORDS` is a data spec, opened with ``open_other``."""
    samples = dataset.source
    if validation in ("auto", "source") and dataset.validation is not None:
        own = dataset.validation
        return Split(samples, own, "source", f"{dataset.validation_name} ({len(own):,} samples)")
    if validation == "source":
        raise TrainingError('"validation": "source" asks for the data\'s own validation samples, but this source has '
                            'none (MNIST\'s t10k files, a folder\'s val/, a CSV\'s split column have them); use "random" '
                            'or "last"')
    if validation in ("auto", "random", "last"):
        count = len(samples)
        val_count = max(1, round(count * fraction))
        if count - val_count < 1:
            raise TrainingError(f"the data has only {count} sample(s): too few to keep some for validation")
        if validation == "last":
            return Split(samples.subset(torch.arange(count - val_count)), samples.subset(torch.arange(count - val_count, count)),
                         "last", f"the last {fraction:.0%} ({val_count:,} samples)")
        order = torch.randperm(count, generator=torch.Generator().manual_seed(split_seed))
        return Split(samples.subset(order[val_count:]), samples.subset(order[:val_count]), "random",
                     f"a random {fraction:.0%} (split_seed {split_seed}, {val_count:,} samples)")
    other = open_other(validation).source
    if other.classes != samples.classes:
        raise TrainingError(f'"validation": {validation} has the classes {", ".join(other.classes)}, but the training '
                            f'data has {", ".join(samples.classes)}; they must be the same, in the same order')
    return Split(samples, other, "separate", f"{validation} ({len(other):,} samples)")
