"""Parameter specifications: what a layer accepts, its default, range and help.

Each spec turns a raw value (from a design file, the inspector or a script) into a clean value or
raises :class:`ParamError` with a sentence a user can act on. Editors in the studio and the
generated layer reference read the same specs, so they never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class ParamError(ValueError):
    """A parameter value that cannot be used; the message says what is allowed."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


@dataclass(frozen=True)
class Param:
    """Base of every parameter spec. ``coerce`` validates; ``kind`` names the editor to use."""

    name: str
    default: Any
    help: str

    kind = "any"

    def coerce(self, value: Any) -> Any:
        return value

    def describe(self) -> str:
        """The allowed values, in words, for error messages and the layer reference."""
        return "any value"


@dataclass(frozen=True)
class IntParam(Param):
    minimum: int = 0
    maximum: int = 1_000_000

    kind = "int"

    def coerce(self, value: Any) -> int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not _is_int(value) or not self.minimum <= value <= self.maximum:
            raise ParamError(f"'{self.name}' must be {self.describe()}, got {_describe(value)}")
        return value

    def describe(self) -> str:
        return f"a whole number from {self.minimum} to {self.maximum}"


@dataclass(frozen=True)
class OptionalIntParam(IntParam):
    """An integer or ``None`` (e.g. a pooling stride that defaults to the kernel size)."""

    kind = "optional_int"

    def coerce(self, value: Any) -> int | None:
        return None if value is None else super().coerce(value)

    def describe(self) -> str:
        return f"null or {super().describe()}"


@dataclass(frozen=True)
class FloatParam(Param):
    minimum: float = 0.0
    maximum: float = 1e6

    kind = "float"

    def coerce(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParamError(f"'{self.name}' must be {self.describe()}, got {_describe(value)}")
        try:
            value = float(value)
        except OverflowError:  # an integer too large for a float (JSON allows any length)
            raise ParamError(f"'{self.name}' must be {self.describe()}, got {_describe(value)}") from None
        if not math.isfinite(value) or not self.minimum <= value <= self.maximum:
            raise ParamError(f"'{self.name}' must be {self.describe()}, got {_describe(value)}")
        return value

    def describe(self) -> str:
        return f"a number from {self.minimum:g} to {self.maximum:g}"


@dataclass(frozen=True)
class BoolParam(Param):
    kind = "bool"

    def coerce(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ParamError(f"'{self.name}' must be true or false, got {_describe(value)}")
        return value

    def describe(self) -> str:
        return "true or false"


@dataclass(frozen=True)
class ChoiceParam(Param):
    choices: tuple[str, ...] = ()

    kind = "choice"

    def coerce(self, value: Any) -> str:
        if value not in self.choices:
            raise ParamError(f"'{self.name}' must be {self.describe()}, got {_describe(value)}")
        return value

    def describe(self) -> str:
        return "one of " + ", ".join(f'"{c}"' for c in self.choices)


@dataclass(frozen=True)
class SizeParam(Param):
    """A size per spatial dimension: one integer for all, or a list with one per dimension.

    ``dims`` is the layer's spatial rank (1, 2 or 3). Values stay as written (int or tuple);
    :func:`expand` gives the per-dimension tuple.
    """

    dims: int = 2
    minimum: int = 1
    maximum: int = 1024

    kind = "size"

    def coerce(self, value: Any) -> int | tuple[int, ...]:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if _is_int(value) and self.minimum <= value <= self.maximum:
            return value
        if isinstance(value, (list, tuple)) and len(value) == self.dims and all(
            _is_int(v) and self.minimum <= v <= self.maximum for v in value
        ):
            return tuple(value)
        raise ParamError(f"'{self.name}' must be {self.describe()}, got {_describe(value)}")

    def describe(self) -> str:
        one = f"a whole number from {self.minimum} to {self.maximum}"
        return one if self.dims == 1 else f"{one}, or a list of {self.dims} such numbers"


@dataclass(frozen=True)
class OptionalSizeParam(SizeParam):
    kind = "optional_size"

    def coerce(self, value: Any) -> int | tuple[int, ...] | None:
        return None if value is None else super().coerce(value)

    def describe(self) -> str:
        return f"null or {super().describe()}"


PADDING_MODES = ("valid", "same", "causal")


@dataclass(frozen=True)
class PaddingParam(SizeParam):
    """Convolution padding: "valid", "same", "causal" (1D only) or explicit integers."""

    minimum: int = 0
    kind = "padding"

    def coerce(self, value: Any) -> str | int | tuple[int, ...]:
        if isinstance(value, str):
            if value in PADDING_MODES:
                return value
            raise ParamError(f"'{self.name}' must be {self.describe()}, got {_describe(value)}")
        try:
            return super().coerce(value)
        except ParamError:
            raise ParamError(
                f"'{self.name}' must be {self.describe()}, got {_describe(value)}"
            ) from None

    def describe(self) -> str:
        return '"valid", "same", "causal" (1D only), or ' + super().describe()


@dataclass(frozen=True)
class ShapeParam(Param):
    """A tensor shape without the batch: [C, L], [C, H, W] or [C, D, H, W]."""

    kind = "shape"

    def coerce(self, value: Any) -> tuple[int, ...]:
        if (
            isinstance(value, (list, tuple))
            and 1 <= len(value) <= 4
            and all(_is_int(v) and 1 <= v <= 1_000_000 for v in value)
        ):
            return tuple(value)
        raise ParamError(f"'{self.name}' must be {self.describe()}, got {_describe(value)}")

    def describe(self) -> str:
        return "a list of 1 to 4 positive whole numbers, channels first: [C, L], [C, H, W] or [C, D, H, W]"


def expand(value: int | tuple[int, ...], dims: int) -> tuple[int, ...]:
    """One value per spatial dimension."""
    return (value,) * dims if isinstance(value, int) else tuple(value)


@dataclass(frozen=True)
class JsonParam(Param):
    """Structured data (objects, lists) written by the importer, such as an opaque node's call."""

    kind = "json"

    def coerce(self, value: Any) -> Any:
        import json

        try:
            return json.loads(json.dumps(value, allow_nan=False))
        except (TypeError, ValueError):
            raise ParamError(f"'{self.name}' must be JSON data (objects, lists, numbers, strings)") from None

    def describe(self) -> str:
        return "JSON data"
