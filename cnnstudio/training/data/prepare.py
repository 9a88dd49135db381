"""From a run's settings to its training and validation sources, ready for the loaders.

One function, :func:`prepare`, in the order that keeps memory flat: open the spec (file sources
list names only), check the task's targets, split, select classes, and only then decide whether
to decode everything into memory (and onto the GPU) or to stream (see
:mod:`cnnstudio.training.data.placement`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from cnnstudio.training.data import placement, splits
from cnnstudio.training.data.base import select_classes
from cnnstudio.training.data.images import report_skipped
from cnnstudio.training.data.registry import OpenRequest, open_data
from cnnstudio.training.data.source import Dataset, Source
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import TrainingSettings


@dataclass
class Prepared:
    train: Source
    validation: Source
    split: splits.Split
    streaming: bool
    workers: int  # decoding processes per streaming loader

    @property
    def classes(self) -> list[str]:
        return self.train.classes


def open_split(settings: TrainingSettings, shape: tuple[int, ...], needs: tuple[str, ...], hints: dict[str, Any],
               warn: Callable[[str], None]) -> splits.Split:
    """The run's training and validation sources, classes selected, nothing decoded yet for image files.
    ``needs``: the targets the task trains on; ``hints``: the task's defaults for synthetic-shapes."""
    s = settings
    options = {**hints, **s.data_options} if s.data == "synthetic-shapes" else s.data_options
    if s.classes is not None and s.task not in ("classification", "metric"):
        raise TrainingError(f"'classes' selects classes for classification and metric learning, not for {s.task}")

    def open_spec(spec: str, options: dict[str, Any]) -> Dataset:
        found = open_data(spec, OpenRequest(shape, options, s.seed, warn))
        if s.classes is None:
            return found
        own = found.validation
        return Dataset(select_classes(found.source, s.classes),
                       None if own is None else select_classes(own, s.classes), found.validation_name)

    dataset = open_spec(s.data, options)
    unlisted = [name for part in (dataset.source, dataset.validation) for name in getattr(part, "unlisted", [])]
    report_skipped(s.data, unlisted, warn, "not images")
    missing = [name for name in needs if name not in dataset.source.targets]
    if missing:
        raise TrainingError(f"the {s.task} task needs {' and '.join(missing)} in its data, which {s.data} does not "
                            "have; train it on synthetic-shapes, or give them in a csv: file")
    return splits.choose(dataset, s.validation, s.val_split, s.split_seed, lambda spec: open_spec(spec, {}))


def prepare(settings: TrainingSettings, shape: tuple[int, ...], needs: tuple[str, ...], hints: dict[str, Any],
            device: torch.device, warn: Callable[[str], None]) -> Prepared:
    """:func:`open_split`, then each part decoded into memory (and onto the GPU) or left to stream."""
    s = settings
    split = open_split(settings, shape, needs, hints, warn)
    train, validation = split.train, split.validation
    can_stream = train.streaming and validation.streaming
    if s.data_loading == "stream" and not can_stream:
        warn(f'"data_loading": "stream" applies to image files (folder:, csv:); {s.data} is held in memory')
    streaming = placement.streams(train.nbytes + validation.nbytes, can_stream, s.data_loading, s.memory_limit_mb)
    workers = s.workers if s.workers is not None else placement.default_workers()
    if not streaming:
        val_spec = s.data if s.validation in splits.WORDS else s.validation
        train = placement.place(placement.load_whole(train, s.data, warn, workers), device)
        validation = placement.place(placement.load_whole(validation, val_spec, warn, workers), device)
    return Prepared(train, validation, split, streaming, workers)
