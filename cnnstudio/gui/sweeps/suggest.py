"""A first SPEC for a KEY the user right-clicked, from its current value and its rules: half to
twice a whole number, a quarter to four times a number (log for a learning rate), every choice."""

from __future__ import annotations

import dataclasses
import json
import typing

from cnnstudio.core.design import Design
from cnnstudio.core.params import BoolParam, ChoiceParam, FloatParam, IntParam
from cnnstudio.sweeps.space import setting_type
from cnnstudio.training.defaults import default_settings
from cnnstudio.training.fields import names
from cnnstudio.training.settings import TrainingSettings


def suggest(key: str, design: Design) -> str:
    kind, rest = key.split(".", 1)
    if kind == "groups":
        return "int:0:3"
    if kind == "nodes":
        node_id, name = rest.rsplit(".", 1)
        node = design.node(node_id)
        spec = node.layer_type.param(name)
        value = node.params[name]
        if isinstance(spec, BoolParam):
            return "choice:true,false"
        if isinstance(spec, ChoiceParam):
            return "choice:" + ",".join(spec.choices)
        if isinstance(spec, FloatParam):
            return _float(value, spec.minimum, spec.maximum, log=False)
        if isinstance(spec, IntParam) and isinstance(value, int):
            return _int(value, spec.minimum, spec.maximum)
        return f"choice:{json.dumps(value)}"
    return _setting(rest, design)


def _setting(name: str, design: Design) -> str:
    declared = setting_type(name)
    allowed = {a for a in typing.get_args(declared) if a is not type(None)} or {declared}
    try:
        settings = default_settings(design)
        value = settings.augmentation.__dict__.get(name.removeprefix("augment.")) if name.startswith("augment.") \
            else getattr(settings, name, None) if name in names(TrainingSettings) else getattr(settings.task_options, name, None)
    except Exception:  # noqa: BLE001 - settings the form marks wrong: suggest from the type alone
        value = None
    field = {f.name: f for f in dataclasses.fields(TrainingSettings)}.get(name)
    choices = field.metadata.get("choices") if field is not None else None
    if choices:
        return "choice:" + ",".join(choices)
    if bool in allowed:
        return "choice:true,false"
    if float in allowed:
        return _float(value if isinstance(value, (int, float)) else 0.0, 0.0, None, log=name in ("lr", "weight_decay"))
    if int in allowed:
        return _int(value if isinstance(value, int) else 1, 1, None)
    return f"choice:{json.dumps(value)}"


def _int(value: int, low: float, high: float | None) -> str:
    top = value * 2 if high is None else min(int(high), value * 2)
    bottom = max(int(low), value // 2)
    return f"int:{bottom}:{max(top, bottom + 1)}"


def _float(value: float, low: float, high: float | None, log: bool) -> str:
    if value <= 0:
        return f"float:{low:g}:{1.0 if high is None else high:g}"
    top = value * 4 if high is None else min(high, value * 4)
    return f"float:{max(low, value / 4):g}:{top:g}" + (":log" if log else "")
