"""Batches for the training loop from any :class:`~cnnstudio.training.data.source.Source`.

In memory, a batch is an index into tensors already on the training device: no worker processes,
no copies. Streaming, a ``torch.utils.data.DataLoader`` decodes whole batches in worker processes,
a few batches ahead, into pinned memory when training on CUDA. Either way the order comes from
:class:`~cnnstudio.training.sampler.EpochSampler`, and augmentation happens here, in the training
process, with torch's global generator (whose state checkpoints keep): resume stays exact.

With a :class:`~cnnstudio.training.data.pairing.Pairing` (a design with one Input per member of
a pair or triplet), each batch of anchors is read together with their mates, and each Input gets
its own member; otherwise every Input gets the same sample, fitted to its shape.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.convert import fit_images, to_float
from cnnstudio.training.data.pairing import VALIDATION, Pairing
from cnnstudio.training.data.source import Source
from cnnstudio.training.data.workers import Plan, batch_reader
from cnnstudio.training.sampler import EpochSampler
from cnnstudio.training.tasks.base import Batch

if TYPE_CHECKING:
    from torch.utils.data import DataLoader


class Loader:
    def __init__(self, source: Source, input_shapes: list[tuple[int, ...]], sampler: EpochSampler,
                 transform: Any = None, channels_last: bool = False, *, device: torch.device | None = None,
                 workers: int = 0, pairing: Pairing | None = None):
        """``source``: in memory (on the training device, or pinned for it), or streaming. ``transform``:
        augmentation from :func:`cnnstudio.training.data.augment.build`. ``workers``: decoding processes
        for a streaming source (0 decodes in this process). ``pairing``: each sample's mates, one
        member to each Input (None: the same sample to every Input)."""
        self.source = source
        self.pairing = pairing
        self.input_shapes = input_shapes
        self.sampler = sampler
        self.transform = transform
        self.channels_last = channels_last
        self.device = device or getattr(source, "device", torch.device("cpu"))
        self.workers = workers
        self.skipped: dict[str, None] = {}  # unreadable files met so far, in order
        self._plan: Plan | None = None
        self._stream: DataLoader | None = None

    def __len__(self) -> int:
        return len(self.sampler)

    # -- the loop ------------------------------------------------------------------------------------
    def epoch(self, epoch: int, start: int = 0) -> Iterator[TensorData]:
        """Each step's samples of ``epoch`` from step ``start`` on, decoded but not yet augmented: call
        :meth:`prepare` on each (after any pause, so augmentation draws its numbers in order)."""
        return self._read(self._with_mates(self.sampler.batches(epoch, start), epoch))

    def in_order(self, batch_size: int) -> Iterator[Batch]:
        """Every sample once, in stored order (validation)."""
        count = len(self.source)
        chunks = (torch.arange(start, min(start + batch_size, count)) for start in range(0, count, batch_size))
        for raw in self._read(self._with_mates(chunks, VALIDATION)):
            batch = self.prepare(raw, augment=False) if len(raw) else None
            if batch is not None and batch.size:
                yield batch

    def batch(self, index: Tensor) -> Batch:
        """The samples at ``index``, ready for the model, read here and now (the views' probes)."""
        index = index.to(self._index_device)
        if self.pairing is not None:
            index = self.pairing.expand(index, VALIDATION)
        return self.prepare(self._fetch(index), augment=False)

    def prepare(self, raw: TensorData, augment: bool = True) -> Batch:
        """A decoded batch on the device, augmented (training only), fitted to every Input."""
        if raw.device != self.device:
            raw = raw.to(self.device, non_blocking=True)
        if self.pairing is not None and raw.skipped:  # a member unreadable: its mates would pair wrongly
            raw = raw.subset(torch.arange(0, device=raw.device))
        images = to_float(raw.images)
        boxes, masks = raw.boxes, raw.masks
        if augment and self.transform is not None:
            from cnnstudio.training.data import augment as augmentation

            images, boxes, masks = augmentation.apply(self.transform, images, boxes, masks)
        if self.pairing is None:
            return self._batch([images] * len(self.input_shapes), raw.labels, boxes, raw.box_labels, masks)
        # anchors, then each kind of mate: one block per Input (metric learning: no boxes or masks)
        members = list(raw.labels.tensor_split(self.pairing.members))
        return self._batch(list(images.tensor_split(self.pairing.members)), members[0], members=members)

    def _batch(self, parts: list[Tensor], labels: Tensor, *targets: Tensor | None,
               members: list[Tensor] | None = None) -> Batch:
        """Each Input's part fitted to its shape."""
        inputs = [x if tuple(x.shape[1:]) == shape else fit_images(x, shape) for x, shape in zip(parts, self.input_shapes)]
        if self.channels_last:
            inputs = [x.contiguous(memory_format=torch.channels_last) if x.ndim == 4 else x for x in inputs]
        return Batch(inputs, labels, *targets, members=members)

    def close(self) -> None:
        """Let the decoding workers go (the DataLoader shuts them down when dropped); a later read
        starts new ones."""
        self._stream = self._plan = None

    # -- reading -------------------------------------------------------------------------------------
    def _with_mates(self, batches: Iterable[Tensor], epoch: int) -> Iterable[Tensor]:
        """Each batch of anchors followed by their mates (with a pairing), read in one go."""
        if self.pairing is None:
            return batches
        pairing = self.pairing
        return (pairing.expand(index, epoch) for index in batches)

    @property
    def _index_device(self) -> torch.device:
        return getattr(self.source, "device", torch.device("cpu"))

    def _fetch(self, index: Tensor) -> TensorData:
        raw = self.source.read(index)
        self._note(raw)
        return raw

    def _note(self, raw: TensorData) -> None:
        for name in raw.skipped:
            self.skipped.setdefault(name)

    def _read(self, batches: Iterable[Tensor]) -> Iterator[TensorData]:
        if not self.source.streaming:
            device = self._index_device
            for index in batches:
                yield self.source.read(index.to(device))
            return
        if self.workers == 0:
            yield from map(self._fetch, batches)
            return
        for raw in self._streamed(batches):
            self._note(raw)
            yield raw

    def _streamed(self, batches: Iterable[Tensor]) -> Iterator[TensorData]:
        """Batches decoded in worker processes, a few ahead; the workers live as long as the loader."""
        if self._stream is None:
            self._plan = Plan()
            self._stream = batch_reader(self.source, self._plan, self.workers, pin=self.device.type == "cuda",
                                        persistent=True)
        self._plan.batches = batches
        yield from self._stream
