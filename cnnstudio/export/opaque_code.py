"""Imported opaque nodes as readable code: a ``Function`` node's call expression becomes a Python
expression (``torch.permute(x0, [0, 2, 3, 1])``) in a small ``Call`` module that owns its
tensors, and a ``Module`` node becomes its constructor call (``torch.nn.PixelShuffle(2)``).
State-dict names stay those of the compiled model, so weights load into either. Nothing is
written before :mod:`cnnstudio.core.calls` accepted the node: its names are then ASCII identifiers
and allowed objects, so the source holds no text a design file chose besides ``repr`` values."""

from __future__ import annotations

import re
from typing import Any

from cnnstudio.core.calls import check_arguments, check_function_node, resolve_module_class

CALL_CLASS = '''class Call(nn.Module):
    """A step imported without a layer of its own: ``function(owned, parts, *inputs)``; owns its
    tensors and the modules it runs."""

    def __init__(self, function, tensors, parts=None):
        super().__init__()
        self.function = function
        self.parts = nn.Module()
        for name, module in (parts or {}).items():
            self.parts.add_module(name, module)
        self.owned = nn.Module()
        for name, (shape, buffer, dtype) in tensors.items():
            data = torch.zeros(shape, dtype=getattr(torch, dtype))
            if buffer:
                self.owned.register_buffer(name, data)
            else:
                self.owned.register_parameter(name, nn.Parameter(data, requires_grad=data.is_floating_point()))

    def forward(self, *inputs):
        return self.function(self.owned, self.parts, *inputs)
'''
PACKAGES = ("operator", "math", "torchvision", "timm")


def expression_source(e: Any) -> str:
    """Python source for a call expression (cnnstudio.core.calls) whose inputs are x0, x1, ..."""
    if isinstance(e, list):
        return "[" + ", ".join(expression_source(v) for v in e) + "]"
    if not isinstance(e, dict):
        return repr(e)
    if "input" in e:
        return f"x{e['input']}"
    if "tensor" in e:
        return f"owned.{e['tensor']}"
    if "tuple" in e:
        items = [expression_source(v) for v in e["tuple"]]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    if "slice" in e:
        return "slice(" + ", ".join(expression_source(v) for v in e["slice"]) + ")"
    if "ellipsis" in e:
        return "..."
    if "float" in e:
        return f"float({e['float']!r})"
    if "dtype" in e:
        return f"torch.{e['dtype']}"
    if "memory_format" in e:
        return f"torch.{e['memory_format']}"
    if "attribute" in e:
        return f"{_operand(expression_source(e['of']))}.{e['attribute']}"
    args = [expression_source(v) for v in e.get("args", [])]
    kwargs = [f"{k}={expression_source(v)}" for k, v in e.get("kwargs", {}).items()]
    if "method" in e:
        return f"{_operand(args[0])}.{e['method']}({', '.join(args[1:] + kwargs)})"
    if "module" in e:
        return f"parts.{e['module']}({', '.join(args + kwargs)})"
    return f"{e['function']}({', '.join(args + kwargs)})"


def _operand(source: str) -> str:
    """``source`` ready for ``.name`` after it: a name as it is, anything else (``0``, ``a + b``) in parentheses."""
    return source if re.fullmatch(r"[A-Za-z_][\w.]*", source) else f"({source})"


def function_code(params: dict[str, Any], inputs: int) -> str:
    check_function_node(params)
    arguments = ", ".join(["owned", "parts", *(f"x{i}" for i in range(inputs))])
    tensors = {name: (spec["shape"], bool(spec.get("buffer")), spec.get("dtype", "float32"))
               for name, spec in params["tensors"].items()}
    parts = ", ".join(f"{name!r}: {module_code(spec)}" for name, spec in params.get("modules", {}).items())
    return f"Call(lambda {arguments}: {expression_source(params['call'])}, {tensors!r}" + (f", {{{parts}}})" if parts else ")")


def module_code(params: dict[str, Any]) -> str:
    resolve_module_class(params["class"])
    check_arguments(params["arguments"])
    arguments = ", ".join(f"{k}={argument_source(v)}" for k, v in params["arguments"].items())
    return f"{params['class']}({arguments})"


def argument_source(value: Any) -> str:
    """Python source for a checked constructor argument (cnnstudio.core.calls.plain_argument)."""
    if isinstance(value, list):
        return "[" + ", ".join(argument_source(v) for v in value) + "]"
    if isinstance(value, dict) and "class" in value:
        return value["class"]
    if isinstance(value, dict) and "tuple" in value:
        items = [argument_source(v) for v in value["tuple"]]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
    return expression_source(value)


def imports_for(source: str) -> list[str]:
    """The ``import`` lines the generated module source needs beyond torch."""
    return [f"import {package}" for package in PACKAGES if f"{package}." in source]
