"""From a data spec ("synthetic-shapes", "idx:PATH", "folder:PATH", "mnist"...) to tensors."""

from __future__ import annotations

from collections.abc import Callable

from cnnstudio.training.data import folder, idx, synthetic_sequences, synthetic_shapes, synthetic_volumes, torchvision_sets
from cnnstudio.training.data.base import TensorData
from cnnstudio.training.errors import TrainingError

GENERATED = {
    "synthetic-shapes": synthetic_shapes.load,
    "synthetic-sequences": synthetic_sequences.load,
    "synthetic-volumes": synthetic_volumes.load,
}
NAMES = [*GENERATED, *torchvision_sets.SETS, "idx:PATH", "folder:PATH"]


def load_data(
    spec: str, shape: tuple[int, ...], options: dict, seed: int, warn: Callable[[str], None]
) -> TensorData:
    """The whole dataset for an Input of ``shape``; ``options`` go to generated sources only."""
    kind, _, path = spec.partition(":")
    known = kind in GENERATED or kind in torchvision_sets.SETS if not path else kind in ("idx", "folder")
    if not known:
        raise TrainingError(f"unknown data '{spec}'; use one of: {', '.join(NAMES)}")
    if kind in GENERATED:
        return GENERATED[kind](shape, options, seed)
    if options:
        raise TrainingError(f'"data_options" apply to generated data ({", ".join(GENERATED)}), not to {spec}')
    if kind == "idx":
        return idx.load(path, shape)
    if kind == "folder":
        return folder.load(path, shape, warn)
    return torchvision_sets.load(kind, shape)
