"""The data sources, registered like the catalogue's layers: one :class:`SourceKind` per kind.

A kind has its spec (``folder:PATH``, ``synthetic-shapes``), a line of help, its ``data_options``
dataclass when it has options, and the function that opens a spec into a
:class:`~cnnstudio.training.data.source.Dataset`. Each source module registers its kind when
imported; :func:`kinds` imports them all the first time it is asked. This module imports no torch.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnstudio.training.errors import TrainingError

if TYPE_CHECKING:
    from cnnstudio.training.data.base import TensorData
    from cnnstudio.training.data.source import Dataset


@dataclass(frozen=True)
class OpenRequest:
    """What opening a spec may depend on: the Input's shape and the run's choices."""

    shape: tuple[int, ...]
    options: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    warn: Callable[[str], None] = print


@dataclass(frozen=True)
class SourceKind:
    name: str  # "folder"
    usage: str  # as written in a spec: "folder:PATH"
    help: str
    open: Callable[[str, OpenRequest], Dataset]  # (PATH, or "" for a named kind) -> the dataset
    targets: str = "label"  # what its samples carry, in words
    options: type | None = None  # the dataclass of its data_options, for generated kinds

    @property
    def takes_path(self) -> bool:
        return ":" in self.usage


_KINDS: dict[str, SourceKind] = {}


def generated(load: Callable[[tuple[int, ...], dict[str, Any], int], TensorData]) -> Callable[[str, OpenRequest], Dataset]:
    """The opener of a generated kind: its samples from the Input's shape, its options and the seed."""

    def open_generated(_path: str, request: OpenRequest) -> Dataset:
        from cnnstudio.training.data.source import Dataset

        return Dataset(load(request.shape, request.options, request.seed))

    return open_generated


def register(*new: SourceKind) -> None:
    for kind in new:
        if kind.name in _KINDS:
            raise ValueError(f"data source {kind.name} registered twice")
        _KINDS[kind.name] = kind


def kinds() -> list[SourceKind]:
    """Every registered kind, in registration order."""
    from cnnstudio.training.data import (  # noqa: F401 - importing registers them
        csvfile,
        folder,
        idx,
        synthetic_digits,
        synthetic_sequences,
        synthetic_shapes,
        synthetic_video,
        synthetic_volumes,
        torchvision_sets,
    )

    return list(_KINDS.values())


def usages() -> list[str]:
    return [kind.usage for kind in kinds()]


def find(spec: str) -> tuple[SourceKind, str]:
    """The kind of ``spec`` and its path (empty for named kinds), or an error listing the kinds."""
    name, colon, path = spec.partition(":")
    known = {kind.name: kind for kind in kinds()}
    kind = known.get(name)
    if kind is None or kind.takes_path != bool(colon):
        hint = difflib.get_close_matches(name, list(known), n=1)
        extra = f" (did you mean '{known[hint[0]].usage}'?)" if hint else ""
        raise TrainingError(f"unknown data '{spec}'{extra}; use one of: {', '.join(usages())}")
    if kind.takes_path and not path:
        raise TrainingError(f"'{spec}' needs a path after the colon: {kind.usage}")
    return kind, path


def open_data(spec: str, request: OpenRequest) -> Dataset:
    kind, path = find(spec)
    if request.options and kind.options is None:
        generated = ", ".join(k.name for k in kinds() if k.options is not None)
        raise TrainingError(f'"data_options" apply to generated data ({generated}), not to {spec}')
    return kind.open(path, request)


def load_data(spec: str, shape: tuple[int, ...], options: dict[str, Any], seed: int,
              warn: Callable[[str], None]) -> TensorData:
    """Every training sample of ``spec`` in memory (scripts and benchmarks)."""
    from cnnstudio.training.data.placement import load_whole

    return load_whole(open_data(spec, OpenRequest(shape, options, seed, warn)).source, spec, warn)
