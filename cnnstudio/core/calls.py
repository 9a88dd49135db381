"""Running imported code that has no catalogue layer: a torch function call or a torch module.

An imported model may use any torch function (``torch.permute``, ``x.view(...)``) or a torch.nn
module the catalogue does not know. Such a step becomes an opaque node whose parameters describe
the call in JSON, and these modules run it again, exactly. A design file is data, so what it may
call is limited: functions from ``operator`` (arithmetic and indexing), the torch functions and
tensor methods that torch's ``__torch_function__`` protocol lists (which leaves out file and
network functions such as ``torch.save`` or ``torch.hub``), torch.export's ``torch.ops.aten``
operators, ``math``, ``torchvision.ops`` and ``timm.layers``; modules must be ``nn.Module`` classes of torch.nn, torchvision or timm.

Expressions (the ``call`` parameter) are JSON: numbers, strings, booleans, null and lists stand
for themselves; objects are ``{"input": i}`` (the node's i-th input), ``{"tensor": name}`` (a
tensor the node owns), ``{"function": "torch.permute", "args": [...], "kwargs": {...}}``,
``{"method": "view", "args": [self, ...], "kwargs": {...}}``, ``{"tuple": [...]}``,
``{"slice": [start, stop, step]}``, ``{"ellipsis": true}``, ``{"dtype": "float32"}``,
``{"float": "inf"}`` and ``{"attribute": "shape", "of": ...}`` (shape, dtype, device, ndim).
"""

from __future__ import annotations

import importlib
import math
import operator
from functools import lru_cache
from typing import Any

import torch
from torch import nn

OPERATORS = frozenset(
    "add sub mul truediv floordiv mod pow neg pos abs matmul getitem and_ or_ xor invert lt le gt ge eq ne "
    "iadd isub imul itruediv ifloordiv".split()
)
MODULE_PACKAGES = ("torch.nn.", "torchvision.", "timm.")
FUNCTION_PACKAGES = ("torchvision.ops.", "timm.layers.")


class CallError(ValueError):
    """A call a design may not make, or cannot make; the message says which and why."""


@lru_cache(maxsize=1)
def _torch_functions() -> frozenset:
    return frozenset(f for functions in torch.overrides.get_overridable_functions().values() for f in functions)


def _attribute_path(path: str) -> Any:
    """``package.module.attr`` imported (the longest importable module prefix, then attributes)."""
    parts = path.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            value = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for part in parts[cut:]:
                value = getattr(value, part)
        except AttributeError:
            break
        return value
    raise CallError(f"'{path}' cannot be found; is the package that defines it installed?")


@lru_cache(maxsize=512)
def resolve_function(name: str) -> Any:
    """The function a design names, if it is one a design may call."""
    if name.startswith("operator."):
        if name.removeprefix("operator.") not in OPERATORS:
            raise CallError(f"a design may not call '{name}'")
        return getattr(operator, name.removeprefix("operator."))
    if name.startswith("math."):
        function = getattr(math, name.removeprefix("math."), None)
        if not callable(function):
            raise CallError(f"'{name}' is not a function of math")
        return function
    if name.startswith(FUNCTION_PACKAGES):
        return _attribute_path(name)
    if name.startswith("torch.ops.aten."):  # torch.export's operators: tensor arithmetic only
        return _attribute_path(name)
    if name.startswith("torch."):
        function = _attribute_path(name)
        if function in _torch_functions():
            return function
    raise CallError(
        f"a design may not call '{name}': only tensor operations (operator, math, torch's tensor functions, "
        "torchvision.ops, timm.layers) can be named in a design file"
    )


def resolve_method(name: str) -> str:
    function = getattr(torch.Tensor, name, None)
    if function is None or function not in _torch_functions():
        raise CallError(f"a design may not call the tensor method '{name}'")
    return name


def resolve_module_class(path: str) -> type[nn.Module]:
    if not path.startswith(MODULE_PACKAGES):
        raise CallError(f"a design may only build modules of torch.nn, torchvision or timm, not '{path}'")
    cls = _attribute_path(path)
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise CallError(f"'{path}' is not a torch module class")
    return cls


ATTRIBUTES = {"shape", "dtype", "device", "ndim", "T", "mT"}
DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"}


def check(expression: Any) -> None:
    """Raise :class:`CallError` if ``expression`` names anything a design may not call."""
    evaluate(expression, None, None, dry=True)


def evaluate(expression: Any, inputs: Any, tensors: Any, dry: bool = False) -> Any:
    """The value of a call expression for these inputs and owned tensors (``dry``: check only)."""

    def value(e: Any) -> Any:
        if isinstance(e, list):
            return [value(v) for v in e]
        if not isinstance(e, dict):
            return e
        if "input" in e:
            return None if dry else inputs[e["input"]]
        if "tensor" in e:
            return None if dry else getattr(tensors, e["tensor"])
        if "tuple" in e:
            return tuple(value(v) for v in e["tuple"])
        if "slice" in e:
            return slice(*value(e["slice"]))
        if "ellipsis" in e:
            return Ellipsis
        if "float" in e:
            return float(e["float"])
        if "attribute" in e:
            if e["attribute"] not in ATTRIBUTES:
                raise CallError(f"a design may not read the attribute '{e['attribute']}'")
            return None if dry else getattr(value(e["of"]), e["attribute"])
        if "dtype" in e:
            if e["dtype"] not in DTYPES:
                raise CallError(f"unknown dtype '{e['dtype']}'")
            return getattr(torch, e["dtype"])
        args = [value(v) for v in e.get("args", [])]
        kwargs = {k: value(v) for k, v in e.get("kwargs", {}).items()}
        if "function" in e:
            function = resolve_function(e["function"])
            return None if dry else function(*args, **kwargs)
        if "method" in e:
            method = resolve_method(e["method"])
            return None if dry else getattr(args[0], method)(*args[1:], **kwargs)
        raise CallError(f"cannot read the expression {str(e)[:60]}")

    return value(expression)


class FunctionCall(nn.Module):
    """Runs one imported call expression on its inputs; owns the tensors the call reads."""

    def __init__(self, call: Any, tensors: dict[str, dict[str, Any]]):
        super().__init__()
        check(call)
        self.call, self.tensors = call, tensors
        self.owned = nn.Module()
        for name, spec in tensors.items():
            data = torch.zeros(spec["shape"], dtype=getattr(torch, spec.get("dtype", "float32")))
            if spec.get("buffer"):
                self.owned.register_buffer(name, data)
            else:
                self.owned.register_parameter(name, nn.Parameter(data, requires_grad=data.is_floating_point()))

    def forward(self, *inputs: torch.Tensor) -> Any:
        return evaluate(self.call, inputs, self.owned)


def build_module(class_path: str, arguments: dict[str, Any]) -> nn.Module:
    """An instance of a torch.nn / torchvision / timm module class, from JSON keyword arguments."""
    cls = resolve_module_class(class_path)
    decoded = {name: evaluate(value, None, None) for name, value in arguments.items()}
    try:
        return cls(**decoded)
    except (TypeError, ValueError) as error:
        raise CallError(f"cannot build {class_path}: {error}") from None
