"""Validated dataclass fields: the "training" object and its parts parse through one function.

A field declares its default, help, and allowed values once; :func:`parse` turns a JSON object into
the dataclass or raises :class:`TrainingError` naming the key, and docs/training.md lists the same
help. Keeping the rules in metadata avoids a hand-written check per key.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

from cnnstudio.core.display import shorten
from cnnstudio.training.errors import TrainingError

T = TypeVar("T")
FLOAT32_MAX = 3.4e38  # the bound of settings torch multiplies into 32-bit tensors (lr, weight decay)


def option(
    default: Any,
    help: str,
    *,
    choices: tuple[str, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive: bool = False,
) -> Any:
    """A dataclass field with its rules; ``exclusive`` makes the minimum a strict bound (lr > 0)."""
    metadata = {"help": help, "choices": choices, "minimum": minimum, "maximum": maximum, "exclusive": exclusive}
    if isinstance(default, (list, dict)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def names(cls: type) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def unknown_key(key: str, known: list[str], where: str) -> TrainingError:
    hint = difflib.get_close_matches(key, known, n=1)
    extra = f"; did you mean '{hint[0]}'?" if hint else f" (known keys: {', '.join(known)})"
    return TrainingError(f"{where} has no key '{key}'{extra}")


def parse(cls: type[T], raw: Mapping[str, Any], where: str) -> T:
    """``cls`` from ``raw``: defaults filled in, every value checked, unknown keys refused."""
    if not isinstance(raw, Mapping):
        raise TrainingError(f"{where} must be an object {{...}}, got {_show(raw)}")
    known = names(cls)
    for key in raw:
        if key not in known:
            raise unknown_key(key, known, where)
    hints = typing.get_type_hints(cls)
    values = {
        f.name: _check(f, hints[f.name], raw[f.name], f"{where}: '{f.name}'") for f in dataclasses.fields(cls) if f.name in raw
    }
    return cls(**values)


def _check(spec: dataclasses.Field, kind: Any, value: Any, where: str) -> Any:
    meta = spec.metadata
    args = typing.get_args(kind)
    if value is None and type(None) in args:
        return None
    if type(None) in args:
        kind = next(a for a in args if a is not type(None))
    origin = typing.get_origin(kind)
    if origin is list:
        if not isinstance(value, list):
            raise TrainingError(f"{where} must be a list, got {_show(value)}")
        (item,) = typing.get_args(kind)
        return [_scalar(item, v, f"{where}[{i}]", meta) for i, v in enumerate(value)]
    if origin is dict or kind is dict:
        if not isinstance(value, dict):
            raise TrainingError(f"{where} must be an object {{...}}, got {_show(value)}")
        return dict(value)
    return _scalar(kind, value, where, meta)


def _scalar(kind: type, value: Any, where: str, meta: Mapping[str, Any]) -> Any:
    if kind is bool:
        if not isinstance(value, bool):
            raise TrainingError(f"{where} must be true or false, got {_show(value)}")
        return value
    if kind is str:
        if not isinstance(value, str):
            raise TrainingError(f"{where} must be a string, got {_show(value)}")
        choices = meta["choices"]
        if choices and value not in choices:
            hint = difflib.get_close_matches(value, choices, n=1)
            extra = f"; did you mean '{hint[0]}'?" if hint else ""
            raise TrainingError(f"{where} must be one of {', '.join(choices)}; got '{value}'{extra}")
        return value
    if kind is int:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise TrainingError(f"{where} must be a whole number, got {_show(value)}")
    elif kind is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise TrainingError(f"{where} must be a number, got {_show(value)}")
        try:
            value = float(value)
        except OverflowError:  # an integer of hundreds of digits
            raise TrainingError(f"{where} is far too large: {_show(value)}") from None
        if not math.isfinite(value):
            raise TrainingError(f"{where} must be a number, got {_show(value)}")
    low, high = meta["minimum"], meta["maximum"]
    if low is not None and (value < low or (meta["exclusive"] and value == low)):
        bound = "greater than" if meta["exclusive"] else "at least"
        raise TrainingError(f"{where} must be {bound} {low:g}, got {_show(value)}")
    if high is not None and value > high:
        raise TrainingError(f"{where} must be at most {high:g}, got {_show(value)}")
    return value


def _show(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 10**40:
        return f"a number of {len(str(abs(value))):,} digits"
    try:
        text = json.dumps(value) if not isinstance(value, float) or math.isfinite(value) else repr(value)
    except (ValueError, RecursionError):  # nested too deeply to write out
        text = type(value).__name__
    return shorten(text, 40)
