"""The one protocol every training-data source implements, whether held in memory or read from disk.

The engine, the loader and the studio's dataset browser see only this: how many samples, their
classes (known without decoding an image, for histograms and class selection), which targets
they carry, and the samples of any index, decoded. :class:`~cnnstudio.training.data.base.TensorData`
(everything in memory as tensors) and :class:`~cnnstudio.training.data.files.FileSource` (image
files decoded lazily, in worker processes while training) implement it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from torch import Tensor

    from cnnstudio.training.data.base import TensorData

TARGETS = ("boxes", "box_labels", "masks")


@runtime_checkable
class Source(Protocol):
    classes: list[str]
    labels: Tensor  # [N] int64, the class of each sample's (first) object

    def __len__(self) -> int: ...

    @property
    def targets(self) -> frozenset[str]:
        """Which of :data:`TARGETS` the samples carry."""
        ...

    @property
    def streaming(self) -> bool:
        """True when samples are decoded as they are read (never all in memory at once)."""
        ...

    @property
    def nbytes(self) -> int:
        """The memory all its samples take (or would take) decoded."""
        ...

    def subset(self, index: Tensor) -> Source:
        """The samples at ``index`` (a 1-D int64 tensor), as a source of the same kind."""
        ...

    def read(self, index: Tensor) -> TensorData:
        """The samples at ``index``, decoded; unreadable ones are left out (see :attr:`TensorData.skipped`)."""
        ...

    def name(self, i: int) -> str:
        """What a person calls sample ``i``: its file, or its number."""
        ...


@dataclass
class Dataset:
    """What a data spec opens: its samples, and the validation samples it defines itself, if any."""

    source: Source
    validation: Source | None = None  # MNIST's t10k files, a folder's val/ sub-folder...
    validation_name: str = ""  # where those come from, in words ("the t10k files")
