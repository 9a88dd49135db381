"""The ``data_options`` of the generated sources, defined once and without torch.

The generators (``synthetic_shapes.py`` and its kin) need torch; ``cnnstudio check`` and the
studio's form must not import it, yet should refuse a misspelled or out-of-range option before
Start. So each option dataclass lives here, with its rules between keys in ``__post_init__``,
and the registry, the generators and :mod:`cnnstudio.training.check` all read it from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnstudio.training import fields
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.fields import option

SHAPE_NAMES = ("circle", "square", "triangle", "cross", "diamond", "ring")  # synthetic_shapes.SHAPES draws them
SOLID_NAMES = ("sphere", "cube", "cross", "shell")  # synthetic_volumes.SOLIDS fills them
MOTION_NAMES = ("left", "right", "up", "down")  # synthetic_video.MOTIONS moves the object so
DIGIT_NAMES = tuple("0123456789")  # synthetic_digits.glyphs() draws them


def _distinct(values: list[str], key: str, what: str) -> None:
    if not values or len(set(values)) != len(values):
        raise TrainingError(f"\"data_options\": '{key}' must list distinct {what}, at least one")


def _ordered(low: float, high: float) -> None:
    if low > high:
        raise TrainingError(f"\"data_options\": 'min_size' ({low:g}) must be at most 'max_size' ({high:g})")


@dataclass(frozen=True)
class ShapesOptions:
    count: int = option(4000, "Number of images (training and validation together).", minimum=10, maximum=1_000_000)
    objects: int = option(1, "Most objects per image; each image gets 1 to this many, in separate cells.", minimum=1, maximum=16)
    noise: float = option(0.05, "Standard deviation of the Gaussian pixel noise.", minimum=0.0, maximum=1.0)
    shapes: list[str] = option(list(SHAPE_NAMES), "The classes, in order.", choices=SHAPE_NAMES)
    min_size: float = option(0.3, "Smallest object, as a fraction of its cell's side.", minimum=0.05, maximum=1.0)
    max_size: float = option(0.9, "Largest object, as a fraction of its cell's side.", minimum=0.05, maximum=1.0)

    def __post_init__(self) -> None:
        _distinct(self.shapes, "shapes", "shapes")
        _ordered(self.min_size, self.max_size)

    @property
    def class_names(self) -> list[str]:
        return list(self.shapes)


@dataclass(frozen=True)
class DigitsOptions:
    count: int = option(4000, "Number of images (training and validation together).", minimum=10, maximum=1_000_000)
    noise: float = option(0.05, "Standard deviation of the Gaussian pixel noise.", minimum=0.0, maximum=1.0)
    digits: list[str] = option(list(DIGIT_NAMES), "The classes, in order.", choices=DIGIT_NAMES)
    rotation: float = option(15.0, "Largest rotation either way, in degrees.", minimum=0.0, maximum=180.0)
    shift: float = option(0.15, "Largest move from the centre, as a fraction of half the image's side.", minimum=0.0, maximum=1.0)
    min_size: float = option(0.55, "Smallest digit height, as a fraction of the image's height.", minimum=0.1, maximum=1.0)
    max_size: float = option(0.8, "Largest digit height, as a fraction of the image's height.", minimum=0.1, maximum=1.0)

    def __post_init__(self) -> None:
        _distinct(self.digits, "digits", "digits")
        _ordered(self.min_size, self.max_size)

    @property
    def class_names(self) -> list[str]:
        return list(self.digits)


@dataclass(frozen=True)
class SequenceOptions:
    count: int = option(4000, "Number of sequences (training and validation together).", minimum=10, maximum=1_000_000)
    pattern: str = option("1011", "The bits to look for.")

    def __post_init__(self) -> None:
        if not self.pattern or set(self.pattern) - {"0", "1"}:
            raise TrainingError(f"\"data_options\": 'pattern' must be a string of 0s and 1s, got '{self.pattern}'")

    @property
    def class_names(self) -> list[str]:
        return [f"no {self.pattern}", f"has {self.pattern}"]


@dataclass(frozen=True)
class VolumeOptions:
    count: int = option(2000, "Number of volumes (training and validation together).", minimum=10, maximum=1_000_000)
    noise: float = option(0.05, "Standard deviation of the Gaussian voxel noise.", minimum=0.0, maximum=1.0)
    solids: list[str] = option(list(SOLID_NAMES), "The classes, in order.", choices=SOLID_NAMES)
    min_size: float = option(0.4, "Smallest object, as a fraction of the volume's side.", minimum=0.05, maximum=1.0)
    max_size: float = option(0.9, "Largest object, as a fraction of the volume's side.", minimum=0.05, maximum=1.0)

    def __post_init__(self) -> None:
        _distinct(self.solids, "solids", "solids")
        _ordered(self.min_size, self.max_size)

    @property
    def class_names(self) -> list[str]:
        return list(self.solids)


@dataclass(frozen=True)
class VideoOptions:
    count: int = option(1000, "Number of clips (training and validation together).", minimum=10, maximum=1_000_000)
    noise: float = option(0.05, "Standard deviation of the Gaussian pixel noise.", minimum=0.0, maximum=1.0)
    motions: list[str] = option(list(MOTION_NAMES), "The classes, in order: the way the object moves.", choices=MOTION_NAMES)
    size: float = option(0.3, "The object's diameter, as a fraction of the frame's shorter side.", minimum=0.05, maximum=0.8)

    def __post_init__(self) -> None:
        _distinct(self.motions, "motions", "motions")

    @property
    def class_names(self) -> list[str]:
        return list(self.motions)


@dataclass(frozen=True)
class GeneratedKind:
    """What a generated source gives (images, sequences, volumes) and the dataclass of its options."""

    gives: str
    options: type


GENERATED = {
    "synthetic-shapes": GeneratedKind("images", ShapesOptions),
    "synthetic-digits": GeneratedKind("images", DigitsOptions),
    "synthetic-sequences": GeneratedKind("sequences", SequenceOptions),
    "synthetic-volumes": GeneratedKind("volumes", VolumeOptions),
    "synthetic-video": GeneratedKind("video", VideoOptions),
}


def parse_options(kind: str, raw: Mapping[str, Any]) -> Any:
    """The options of the generated source ``kind``; TrainingError naming the key otherwise."""
    return fields.parse(GENERATED[kind].options, raw, f'"data_options" of {kind}')
