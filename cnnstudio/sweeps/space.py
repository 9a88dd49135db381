"""What a sweep varies: ``--param KEY=SPEC`` parsed and checked against the design, and a trial's
values applied to a copy of it. Qt-free and torch-free.

A KEY names one of three things: ``training.SETTING`` (``training.augment.NAME`` for an
augmentation), ``nodes.ID.PARAM`` (node ids may hold dots: the parameter is after the last one) or
``groups.ID.repeat`` (copies a Repeat chains after the group; 0 leaves it alone). A SPEC is
``float:LOW:HIGH[:log]``, ``int:LOW:HIGH[:STEP]`` or ``choice:A,B,C``. Every bound and choice is
checked by the rules the design and the training settings already have (the layer's
:class:`~cnnstudio.core.params.Param`, the settings' field metadata), so a sweep refuses before
its first trial exactly what the design file would refuse.
"""

from __future__ import annotations

import json
import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any, Literal

from cnnstudio.core.design import Design, DesignError
from cnnstudio.core.params import FloatParam, ParamError
from cnnstudio.core.repeat import MAX_TIMES, plan_repeat, repeat_group
from cnnstudio.training.defaults import with_defaults
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.fields import names as fields_of
from cnnstudio.training.fields import unknown_key
from cnnstudio.training.settings import (
    COMMON_KEYS,
    AugmentSettings,
    TrainingSettings,
    parse_settings,
)
from cnnstudio.training.task_options import TASK_OPTIONS

Kind = Literal["float", "int", "choice"]
PRIMITIVE = (str, int, float, bool, type(None))


class SweepError(ValueError):
    """Input a sweep cannot use; the message is a sentence for the user."""


@dataclass(frozen=True)
class Dimension:
    """One ``--param``: the KEY, its range or choices, and the text it was given as."""

    key: str
    kind: Kind
    low: float = 0.0
    high: float = 0.0
    step: int = 1
    log: bool = False
    choices: tuple[Any, ...] = ()
    text: str = ""

    @property
    def encoded(self) -> bool:
        """Choices Optuna cannot store as they are (lists such as a kernel size [3, 5]) go as JSON text."""
        return any(not isinstance(c, PRIMITIVE) for c in self.choices)

    def suggest(self, trial: Any) -> Any:
        """This dimension's value for an Optuna trial, decoded."""
        if self.kind == "float":
            return trial.suggest_float(self.key, self.low, self.high, log=self.log)
        if self.kind == "int":
            return trial.suggest_int(self.key, int(self.low), int(self.high), step=self.step)
        return self.decode(trial.suggest_categorical(self.key, self.stored_choices()))

    def stored_choices(self) -> list[Any]:
        return [json.dumps(c) for c in self.choices] if self.encoded else list(self.choices)

    def decode(self, stored: Any) -> Any:
        return json.loads(stored) if self.encoded and isinstance(stored, str) else stored

    def grid(self) -> Sequence[Any]:
        """Every value, for the grid sampler (stored form); an int range as a ``range``, so that
        counting a huge one costs nothing."""
        if self.kind == "float":
            raise SweepError(f"--param {self.text}: the grid sampler needs int or choice values, not a float range")
        if self.kind == "int":
            return range(int(self.low), int(self.high) + 1, self.step)
        return self.stored_choices()

    def checked_order(self) -> Dimension:
        if self.low > self.high:
            raise SweepError(f"LOW ({self.low:g}) is above HIGH ({self.high:g})")
        return self

    def values(self) -> list[Any]:
        """The values whose checks stand for the whole range: its bounds, or every choice."""
        if self.kind == "choice":
            return list(self.choices)
        if self.kind == "int":
            return [int(self.low), int(self.high)]
        return [self.low, self.high]


def one_line(text: str) -> str:
    """``text`` as a message shows it: as typed, or quoted with its control characters escaped
    (a newline in a name must not break a one-line message)."""
    return text if text.isprintable() else json.dumps(text)


def parse_param(text: str, design: Design) -> Dimension:
    """``KEY=SPEC`` as a checked :class:`Dimension`; :class:`SweepError` names the ``--param``."""
    key, sep, spec = text.partition("=")
    key = key.strip()
    shown = one_line(text)
    if not sep or not key or not spec.strip():
        raise SweepError(f"--param {shown}: write KEY=SPEC, e.g. training.lr=float:0.0001:0.1:log")
    try:
        dimension = _parse_spec(key, spec.strip(), text)
        _check(dimension, design)
    except (SweepError, TrainingError, DesignError, ParamError) as error:
        raise SweepError(f"--param {shown}: {error}") from None
    return dimension


def _parse_spec(key: str, spec: str, text: str) -> Dimension:
    kind, _, rest = spec.partition(":")
    parts = rest.split(":")
    if kind == "float" and len(parts) in (2, 3) and (len(parts) == 2 or parts[2] == "log"):
        low, high = (_number(p, float) for p in parts[:2])
        log = len(parts) == 3
        if log and low <= 0:
            raise SweepError("a log range needs LOW above 0")
        return Dimension(key, "float", low, high, log=log, text=text).checked_order()
    if kind == "int" and len(parts) in (2, 3):
        low, high = (_number(p, int) for p in parts[:2])
        step = _number(parts[2], int) if len(parts) == 3 else 1
        if step < 1:
            raise SweepError("STEP must be a whole number from 1")
        return Dimension(key, "int", low, high, step=step, text=text).checked_order()
    if kind == "choice" and rest.strip():
        choices = tuple(parse_choice(part) for part in split_choices(rest))
        if len({json.dumps(c, sort_keys=True) for c in choices}) != len(choices):
            raise SweepError("a choice is listed twice")
        return Dimension(key, "choice", choices=choices, text=text)
    raise SweepError("SPEC must be float:LOW:HIGH[:log], int:LOW:HIGH[:STEP] or choice:A,B,C")


def _number(text: str, kind: type) -> Any:
    try:
        value = kind(text.strip())
    except ValueError:
        raise SweepError(f"'{text}' is not a {'whole number' if kind is int else 'number'}") from None
    if kind is float and not math.isfinite(value):
        raise SweepError(f"'{text}' is not a finite number")
    return value


def split_choices(text: str) -> list[str]:
    """``A,B,C`` split at the commas outside brackets and quotes, so ``[3,3],[5,5]`` is two choices."""
    parts, depth, quoted, current = [], 0, False, ""
    for char in text:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in "[{":
            depth += 1
        elif not quoted and char in "]}":
            depth -= 1
        if char == "," and depth == 0 and not quoted:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current]


def parse_choice(text: str) -> Any:
    text = text.strip()
    if not text:
        raise SweepError("a choice is empty")
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if isinstance(value, float) and not math.isfinite(value):
        return text
    return value


# -- checks against the design ---------------------------------------------------------------------
def _check(dimension: Dimension, design: Design) -> None:
    kind, _, rest = dimension.key.partition(".")
    if kind == "training" and rest:
        _check_setting(dimension, rest, design)
    elif kind == "nodes" and "." in rest:
        _check_node_param(dimension, *rest.rsplit(".", 1), design)
    elif kind == "groups" and rest.endswith(".repeat"):
        _check_repeat(dimension, rest.removesuffix(".repeat"), design)
    else:
        raise SweepError("KEY must be training.SETTING, nodes.ID.PARAM or groups.ID.repeat")


def setting_type(name: str) -> Any:
    """The declared type of a training setting (``augment.shift`` included); None for an unknown one."""
    owner: type = TrainingSettings
    if name.startswith("augment."):
        owner, name = AugmentSettings, name.removeprefix("augment.")
    for cls in (owner, *TASK_OPTIONS.values()) if owner is TrainingSettings else (owner,):
        if name in {f.name for f in fields(cls)} and name != "task_options":
            return typing.get_type_hints(cls)[name]
    return None


def _check_setting(dimension: Dimension, name: str, design: Design) -> None:
    declared = setting_type(name)
    if declared is None:
        known = [*COMMON_KEYS, *(f"augment.{n}" for n in fields_of(AugmentSettings))]
        known += [n for cls in TASK_OPTIONS.values() for n in fields_of(cls)]
        raise unknown_key(name, known, "the training object")
    allowed = {a for a in typing.get_args(declared) if a is not type(None)} or {declared}
    if dimension.kind == "float" and float not in allowed:
        raise SweepError(f"'{name}' takes {_type_words(allowed)}, so a float range cannot set it; use int: or choice:")
    if dimension.kind == "int" and not allowed & {int, float}:
        raise SweepError(f"'{name}' takes {_type_words(allowed)}; use choice:")
    for value in dimension.values():
        parse_settings(with_defaults(set_setting(design.training, name, value), design))  # as the trial will


def _type_words(types: set[Any]) -> str:
    words = {int: "whole numbers", float: "numbers", str: "text", bool: "true or false"}
    return " or ".join(words.get(t, getattr(t, "__name__", str(t))) for t in types)


def _check_node_param(dimension: Dimension, node_id: str, name: str, design: Design) -> None:
    if node_id not in design:
        known = ", ".join(list(design.graph)[:12])
        raise SweepError(f"the design has no node '{node_id}' (its nodes: {known})")
    node = design.node(node_id)
    try:
        spec = node.layer_type.param(name)
    except KeyError:
        names = ", ".join(p.name for p in node.layer_type.params) or "none"
        raise SweepError(f"{node.type} '{node_id}' has no parameter '{name}' (its parameters: {names})") from None
    if dimension.kind == "float" and not isinstance(spec, FloatParam):
        raise SweepError(f"'{name}' of '{node_id}' must be {spec.describe()}, so a float range cannot set it")
    for value in dimension.values():
        spec.coerce(value)


def _check_repeat(dimension: Dimension, group_id: str, design: Design) -> None:
    if group_id not in design.groups:
        known = ", ".join(design.groups) or "none"
        raise SweepError(f"the design has no group '{group_id}' (its groups: {known})")
    if dimension.kind == "float":
        raise SweepError("repeat counts copies: use int: or choice:")
    values = dimension.values()
    if any(not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_TIMES for v in values):
        raise SweepError(f"repeat takes whole numbers of copies from 0 to {MAX_TIMES}")
    if any(values):
        plan_repeat(design, group_id, 1)  # the group must be able to chain


# -- applying a trial ------------------------------------------------------------------------------
def set_setting(training: Mapping[str, Any], name: str, value: Any) -> dict[str, Any]:
    """A copy of a "training" object with one setting (``augment.NAME`` inside "augment") set."""
    if name.startswith("augment."):
        augment = training.get("augment")
        augment = dict(augment) if isinstance(augment, Mapping) else {}
        augment[name.removeprefix("augment.")] = value
        return {**training, "augment": augment}
    return {**training, name: value}


def apply(design: Design, values: Mapping[str, Any]) -> Design:
    """A copy of ``design`` with a trial's values set: layer parameters first, then the repeats (so
    the copies inherit them), then the training settings. Raises :class:`DesignError` when a
    repeat cannot be made."""
    result = design.copy()
    order = {"nodes": 0, "groups": 1, "training": 2}
    for key, value in sorted(values.items(), key=lambda item: order[item[0].split(".", 1)[0]]):
        kind, rest = key.split(".", 1)
        if kind == "nodes":
            node_id, name = rest.rsplit(".", 1)
            result.set_param(node_id, name, value)
        elif kind == "groups" and value:
            repeat_group(result, rest.removesuffix(".repeat"), int(value))
        elif kind == "training":
            result.training = set_setting(result.training, rest, value)
    return result
