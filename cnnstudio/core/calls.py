"""Running imported code that has no catalogue layer: a torch function call or a torch module.

An imported model may use any torch function (``torch.permute``, ``x.view(...)``) or a torch.nn
module the catalogue does not know. Such a step becomes an opaque node whose parameters describe
the call in JSON, and these modules run it again, exactly. A design file is data, so what it may
call is a closed list of objects (see docs/security.md), kept here alone so the importers write
only what the checker accepts:

- ``operator``'s arithmetic, comparison and indexing (``OPERATORS``) and ``math``'s functions;
- the functions of torch, ``torch.nn.functional``, ``linalg``, ``fft`` and ``special`` that
  torch's ``__torch_function__`` protocol lists (computations on tensors: ``torch.save``,
  ``torch.load``, ``torch.hub``, ``torch.jit`` and ``torch.set_*`` are not among them), and the
  tensor methods it lists less those that reach beyond the tensor (``REFUSED_METHODS``), and the
  factories of plain values among both (``TORCH_FACTORIES``, ``TENSOR_FACTORIES``);
- ``torch.ops.aten`` operators that are one of those functions or that torch tags as core or
  pointwise tensor operators, and the shape bookkeeping torch.export writes (``ATEN_BOOKKEEPING``);
  not ``aten.save``, ``aten.from_file``, ``aten.manual_seed``, ``aten._print``...;
- the torchvision and timm functions their library registered as tracing leaves (``torch.fx.wrap``,
  timm's ``register_notrace_function``): tensor code such as ``timm.models.swin_transformer.window_reverse``.

A name is resolved without following attributes: ``package.module.function`` must name a module
its package has already imported (``sys.modules``, never imported because a design asked) and a
function defined in that module's own namespace; the object found must itself be on the list, so
``torchvision.ops.boxes.torch.os.system`` or ``torch.serialization.save`` are refused however they
are spelled. Modules must be ``nn.Module`` classes defined in torch.nn, torchvision or timm, built
from plain JSON arguments (a class argument, such as an activation, names a module class again).

Expressions (the ``call`` parameter) are JSON: numbers, strings, booleans, null and lists stand
for themselves; objects are ``{"input": i}`` (the node's i-th input), ``{"tensor": name}`` (a
tensor the node owns), ``{"function": "torch.permute", "args": [...], "kwargs": {...}}``,
``{"method": "view", "args": [self, ...], "kwargs": {...}}``, ``{"tuple": [...]}``,
``{"slice": [start, stop, step]}``, ``{"ellipsis": true}``, ``{"dtype": "float32"}``,
``{"memory_format": "contiguous_format"}``, ``{"float": "inf"}``, ``{"attribute": "shape", "of": ...}`` (shape, dtype, device, ndim) and
``{"module": name, "args": [...]}`` (a module the node owns, listed in its ``modules``). Every
name in an expression is an ASCII identifier, so the code export writes it as it is.
"""

from __future__ import annotations

import importlib
import keyword
import math
import operator
import re
import sys
import types
from functools import lru_cache
from typing import Any

import torch
from torch import nn

OPERATORS = frozenset(
    "add sub mul truediv floordiv mod pow neg pos abs matmul getitem and_ or_ xor invert lt le gt ge eq ne "
    "iadd isub imul itruediv ifloordiv".split()
)
FUNCTION_ROOTS = ("operator", "math", "torch", "torchvision", "timm")
MODULE_ROOTS = ("torch", "torchvision", "timm")
MODULE_HOMES = ("torch.nn.modules.", "torchvision.", "timm.")  # where an allowed module class is defined
TORCH_NAMESPACES = ("torch", "torch.functional", "torch.nn.functional", "torch.linalg", "torch.fft", "torch.special")
# Tensor methods torch's protocol lists that reach beyond the tensor: they take a Python callable,
# run autograd, expose or share its memory, move it to a device or out of torch, or restore pickled state.
REFUSED_METHODS = frozenset(
    "apply_ map_ map2_ register_hook register_post_accumulate_grad_hook backward retain_grad storage untyped_storage "
    "share_memory_ pin_memory record_stream module_load numpy cuda tolist __reduce_ex__ __setstate__ __deepcopy__ "
    "__array__ __array_wrap__ __dlpack__ __dlpack_device__ __format__ __repr__".split()
)
ATEN_BOOKKEEPING = frozenset(
    "sym_size sym_numel sym_stride sym_storage_offset _assert_scalar _assert_tensor_metadata sym_constrain_range "
    "sym_constrain_range_for_size lift_fresh lift_fresh_copy alias".split()
)
# torch's functions that make a tensor from plain values (no tensor argument, so the protocol above
# does not list them) and nothing else: no randomness, no file, no shared or uninitialised memory.
TORCH_FACTORIES = frozenset("zeros ones full arange linspace logspace eye tensor as_tensor scalar_tensor".split())
# The same as tensor methods (a tensor of plain values with the dtype and device of the one it is
# called on; torchvision's Swin3D makes its attention mask so). Not new_empty: uninitialised memory.
TENSOR_FACTORIES = frozenset("new_zeros new_ones new_full new_tensor".split())
ATTRIBUTES = {"shape", "dtype", "device", "ndim", "T", "mT"}
DTYPES = {"float32", "float64", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool"}
MEMORY_FORMATS = {"contiguous_format", "preserve_format", "channels_last", "channels_last_3d"}
MAX_DEPTH = 64  # an expression nested deeper is not one an importer writes
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+")


class CallError(ValueError):
    """A call a design may not make, or cannot make; the message says which and why."""


class TooDeep(CallError):
    """An expression or argument nested deeper than MAX_DEPTH (an importer then writes it shallower)."""


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def is_identifier(name: Any) -> bool:
    """An ASCII Python identifier: written into generated code as it is (Python would read other
    letters after NFKC normalisation, so 'ｓave' could become 'save')."""
    return isinstance(name, str) and bool(_IDENTIFIER.fullmatch(name)) and not keyword.iskeyword(name)


def _refused(name: str, why: str) -> CallError:
    return CallError(f"a design may not call '{_short(name)}': {why}")


# -- the allowed list --------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _torch_functions() -> dict[int, Any]:
    overridable = torch.overrides.get_overridable_functions()
    found = {id(f): f for f in (getattr(torch, name) for name in TORCH_FACTORIES)}
    for namespace, functions in overridable.items():
        if getattr(namespace, "__name__", None) in TORCH_NAMESPACES:
            found.update((id(f), f) for f in functions if callable(f) and not isinstance(f, type))
    return found


@lru_cache(maxsize=1)
def tensor_methods() -> dict[str, Any]:
    """Tensor methods a design may call, by name."""
    methods = {}
    for function in torch.overrides.get_overridable_functions()[torch.Tensor]:
        name = getattr(function, "__name__", "")
        if name and getattr(torch.Tensor, name, None) is function and name not in REFUSED_METHODS and (
                not name.startswith("_") or (name.startswith("__") and name.endswith("__"))):
            methods[name] = function
    methods.update((name, getattr(torch.Tensor, name)) for name in TENSOR_FACTORIES)
    return methods


@lru_cache(maxsize=None)
def _root_functions(root: str) -> dict[int, Any]:
    """The functions of ``root`` a design may call, by identity; imports only the package itself."""
    if root == "operator":
        return {id(f): f for f in (getattr(operator, n) for n in OPERATORS)}
    if root == "math":
        return {id(f): f for f in vars(math).values() if isinstance(f, types.BuiltinFunctionType)}
    if root == "torch":
        return _torch_functions()
    return _library_leaves(root)


@lru_cache(maxsize=None)
def _library_leaves(root: str) -> dict[int, Any]:
    """torchvision's or timm's tensor functions its authors marked as tracing leaves."""
    _import_root(root)
    from torch.fx import _symbolic_trace

    found = [namespace.get(name) for (_, name), namespace in _symbolic_trace._wrapped_fns_to_patch.items()]
    if root == "timm":
        from timm.layers import _fx

        found += list(_fx.get_notrace_functions())
    return {id(f): f for f in found
            if isinstance(f, types.FunctionType) and (f.__module__ or "").startswith(f"{root}.")}


def _import_root(root: str) -> None:
    """Import one of the fixed packages (never a module a design names)."""
    if root not in sys.modules:
        try:
            importlib.import_module(root)
        except ImportError:
            raise CallError(f"this design needs {root}, which is not installed: pip install {root}") from None


def is_allowed_function(function: Any) -> bool:
    """True when ``function`` (an object) is one a design may call."""
    if isinstance(function, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):
        packet = function if isinstance(function, torch._ops.OpOverloadPacket) else function.overloadpacket
        namespace, _, name = packet._qualified_op_name.partition("::")
        return namespace == "aten" and aten_allowed(name)
    loaded = [r for r in FUNCTION_ROOTS if r in ("operator", "math", "torch") or r in sys.modules]
    return any(_root_functions(r).get(id(function)) is function for r in loaded)


@lru_cache(maxsize=None)
def aten_allowed(name: str) -> bool:
    """An aten operator a design may call: one of the torch functions or tensor methods above by
    name, tagged core or pointwise, or torch.export's shape bookkeeping."""
    if name in ATEN_BOOKKEEPING:
        return True
    if name in tensor_methods() or name in {getattr(f, "__name__", "") for f in _torch_functions().values()}:
        return name not in REFUSED_METHODS
    packet = getattr(torch.ops.aten, name, None)
    if not isinstance(packet, torch._ops.OpOverloadPacket):
        return False
    tags = {tag for overload in packet.overloads() for tag in getattr(packet, overload).tags}
    return bool(tags & {torch.Tag.core, torch.Tag.pointwise})


# -- resolving names ---------------------------------------------------------------------------
def _module_attribute(name: str, roots: tuple[str, ...], kind: str) -> Any:
    """The object ``name`` names directly in a module its package has imported, without walking
    attributes: ``a.b.c`` is ``vars(sys.modules['a.b'])['c']``."""
    if not (isinstance(name, str) and _DOTTED.fullmatch(name)):
        raise CallError(f"'{_short(name)}' is not a {kind} name (module.name, ASCII letters, digits and dots)")
    root = name.partition(".")[0]
    if root not in roots:
        raise _refused(name, f"only {', '.join(roots)} are open to a design file")
    _import_root(root)
    module_path, _, attribute = name.rpartition(".")
    module = sys.modules.get(module_path)
    if not isinstance(module, types.ModuleType) or module.__name__ != module_path:
        raise _refused(name, f"'{module_path}' is not a module of {root} (a design names a {kind} by its own "
                             "module, never through attributes of other objects)")
    if attribute not in vars(module):
        raise CallError(f"'{_short(name)}' cannot be found: {module_path} has no '{attribute}'")
    return vars(module)[attribute]


def resolve_function(name: Any) -> Any:
    """The function a design names, if it is on the allowed list."""
    if not isinstance(name, str):
        raise CallError(f"a function is named by a string, not {_short(name)}")
    return _resolve_function(name)


@lru_cache(maxsize=1024)
def _resolve_function(name: str) -> Any:
    if name.startswith("torch.ops."):
        return _resolve_aten(name)
    function = _module_attribute(name, FUNCTION_ROOTS, "function")
    if not is_allowed_function(function):
        raise _refused(name, "it is not one of the tensor operations a design may call (operator, math, torch's "
                             "tensor functions, aten operators and the tensor functions torchvision and timm mark)")
    return function


def _resolve_aten(name: str) -> Any:
    parts = name.split(".")
    if len(parts) not in (4, 5) or parts[2] != "aten" or not all(is_identifier(p) for p in parts[3:]):
        raise _refused(name, "only torch.ops.aten.OPERATOR or torch.ops.aten.OPERATOR.OVERLOAD can be named")
    if not aten_allowed(parts[3]):
        raise _refused(name, "that aten operator is not a tensor computation a design may run")
    packet = getattr(torch.ops.aten, parts[3], None)
    if packet is None:
        raise CallError(f"'{_short(name)}' cannot be found in this torch")
    if len(parts) == 4:
        return packet
    if parts[4] not in packet.overloads():
        raise CallError(f"'{_short(name)}' cannot be found: aten.{parts[3]} has no overload '{parts[4]}'")
    return getattr(packet, parts[4])


def resolve_method(name: str) -> str:
    if not is_identifier(name) or name not in tensor_methods():
        raise CallError(f"a design may not call the tensor method '{_short(name)}'")
    return name


def resolve_module_class(path: Any) -> type[nn.Module]:
    """The torch.nn / torchvision / timm module class a design names."""
    if not isinstance(path, str):
        raise CallError(f"a module class is named by a string, not {_short(path)}")
    return _resolve_module_class(path)


@lru_cache(maxsize=512)
def _resolve_module_class(path: str) -> type[nn.Module]:
    cls = _module_attribute(path, MODULE_ROOTS, "module class")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise CallError(f"'{_short(path)}' is not a torch module class")
    if not cls.__module__.startswith(MODULE_HOMES):
        raise CallError(f"a design may only build modules defined in torch.nn, torchvision or timm; "
                        f"'{_short(path)}' is defined in {cls.__module__}")
    if issubclass(cls, (torch.fx.GraphModule, torch.jit.ScriptModule)):
        raise CallError(f"a design may not build '{_short(path)}': it compiles code")
    return cls


# -- expressions -------------------------------------------------------------------------------
_SHAPES = {  # the keys each kind of expression object may have
    "input": {"input"}, "tensor": {"tensor"}, "tuple": {"tuple"}, "slice": {"slice"}, "ellipsis": {"ellipsis"},
    "float": {"float"}, "dtype": {"dtype"}, "memory_format": {"memory_format"}, "attribute": {"attribute", "of"},
    "function": {"function", "args", "kwargs"}, "method": {"method", "args", "kwargs"},
    "module": {"module", "args", "kwargs"},
}


def _kind(e: dict) -> str:
    kinds = [k for k in _SHAPES if k in e]
    if len(kinds) != 1 or not set(e) <= _SHAPES[kinds[0]]:
        raise CallError(f"cannot read the expression {_short(str(e))}")
    return kinds[0]


def check(expression: Any, tensors: Any = None, modules: Any = None) -> None:
    """Raise :class:`CallError` if ``expression`` names anything a design may not call, or is not
    an expression; ``tensors`` and ``modules``: the names the node owns, when known."""
    evaluate(expression, None, None, dry=True, owned_names=(tensors, modules))


def evaluate(expression: Any, inputs: Any, tensors: Any, dry: bool = False, parts: Any = None,
             owned_names: tuple[Any, Any] = (None, None)) -> Any:
    """The value of a call expression for these inputs, owned tensors and owned modules
    (``parts``); ``dry``: check only."""
    tensor_names, module_names = owned_names

    def value(e: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise TooDeep(f"the expression is nested deeper than {MAX_DEPTH} levels")
        if isinstance(e, list):
            return [value(v, depth + 1) for v in e]
        if not isinstance(e, dict):
            if e is None or isinstance(e, (bool, int, float, str)):
                return e
            raise CallError(f"cannot read the value {_short(str(e))}")
        kind = _kind(e)
        if kind == "input":
            if type(e["input"]) is not int or e["input"] < 0:
                raise CallError(f"an input is numbered 0, 1, ..., not {_short(str(e['input']))}")
            return None if dry else inputs[e["input"]]
        if kind == "tensor":
            if not is_identifier(e["tensor"]) or (tensor_names is not None and e["tensor"] not in tensor_names):
                raise CallError(f"the call reads a tensor '{_short(str(e['tensor']))}' that the node does not own")
            return None if dry else getattr(tensors, e["tensor"])
        if kind == "tuple":
            return tuple(value(_list(e, "tuple"), depth + 1))
        if kind == "slice":
            bounds = _list(e, "slice")
            if not 1 <= len(bounds) <= 3:
                raise CallError("a slice has a stop, or a start, stop and step")
            return slice(*value(bounds, depth + 1))
        if kind == "ellipsis":
            if e["ellipsis"] is not True:  # never a value read and dropped: whatever it holds would go unchecked
                raise CallError(f"an ellipsis is written {{\"ellipsis\": true}}, not {_short(str(e))}")
            return Ellipsis
        if kind == "float":
            try:
                return float(e["float"])
            except (TypeError, ValueError):
                raise CallError(f"'{_short(str(e['float']))}' is not a number") from None
        if kind == "attribute":
            if not _member(e["attribute"], ATTRIBUTES):
                raise CallError(f"a design may not read the attribute '{_short(str(e['attribute']))}'")
            of = value(e.get("of"), depth + 1)
            return None if dry else getattr(of, e["attribute"])
        if kind == "dtype":
            if not _member(e["dtype"], DTYPES):
                raise CallError(f"unknown dtype '{_short(str(e['dtype']))}'")
            return getattr(torch, e["dtype"])
        if kind == "memory_format":  # torch.export's clone(..., memory_format=torch.contiguous_format)
            if not _member(e["memory_format"], MEMORY_FORMATS):
                raise CallError(f"unknown memory format '{_short(str(e['memory_format']))}'")
            return getattr(torch, e["memory_format"])
        args = value(_list(e, "args"), depth + 1)
        raw_kwargs = e.get("kwargs", {})
        if not isinstance(raw_kwargs, dict) or not all(is_identifier(k) for k in raw_kwargs):
            raise CallError("a call's keyword arguments are an object keyed by Python names")
        kwargs = {k: value(v, depth + 1) for k, v in raw_kwargs.items()}
        if kind == "function":
            function = resolve_function(e["function"])
            return None if dry else function(*args, **kwargs)
        if kind == "method":
            method = resolve_method(e["method"])
            if not args:
                raise CallError(f"the method '{method}' needs the tensor it is called on as its first argument")
            if dry:
                return None
            if not isinstance(args[0], torch.Tensor):
                raise CallError(f"the method '{method}' is called on a {type(args[0]).__name__}, not a tensor")
            return getattr(args[0], method)(*args[1:], **kwargs)
        if not is_identifier(e["module"]) or (module_names is not None and e["module"] not in module_names):
            raise CallError(f"the call runs a module '{_short(str(e['module']))}' that the node does not own")
        return None if dry else parts.get_submodule(e["module"])(*args, **kwargs)

    return value(expression, 0)


def _member(value: Any, names: set[str]) -> bool:
    return isinstance(value, str) and value in names


def _list(e: dict, key: str) -> list:
    items = e.get(key, [])
    if not isinstance(items, list):
        raise CallError(f"'{key}' of an expression is a list, not {_short(str(items))}")
    return items


def plain_argument(value: Any, depth: int = 0) -> Any:
    """A module's constructor argument from JSON: numbers, strings, booleans, null, lists,
    ``{"tuple": [...]}``, ``{"float": "inf"}``, ``{"dtype": ...}``, or ``{"class": "torch.nn.ReLU"}``
    (a module class the same rules allow). Never a call."""
    if depth > MAX_DEPTH:
        raise TooDeep(f"an argument is nested deeper than {MAX_DEPTH} levels")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [plain_argument(v, depth + 1) for v in value]
    if isinstance(value, dict) and len(value) == 1:
        key = next(iter(value))
        if key == "class":
            return resolve_module_class(value["class"])
        if key == "tuple":
            return tuple(plain_argument(v, depth + 1) for v in _list(value, "tuple"))
        if key in ("float", "dtype"):
            return evaluate(value, None, None)
    raise CallError(f"a constructor argument is a plain value (number, text, list, tuple or a module class), "
                    f"not {_short(str(value))}")


def check_arguments(arguments: Any) -> dict[str, Any]:
    """A Module node's ``arguments`` decoded, or a CallError saying what is wrong with them."""
    if not isinstance(arguments, dict) or not all(is_identifier(k) for k in arguments):
        raise CallError("a module's arguments are an object keyed by its constructor's argument names")
    return {name: plain_argument(value) for name, value in arguments.items()}


def check_function_node(params: dict[str, Any]) -> None:
    """Raise :class:`CallError` if a Function node's call, tensors or modules are not allowed."""
    tensors, modules = params.get("tensors", {}), params.get("modules", {})
    if not isinstance(tensors, dict) or not isinstance(modules, dict):
        raise CallError("a Function's tensors and modules are objects keyed by name")
    for name, spec in tensors.items():
        shape = spec.get("shape") if isinstance(spec, dict) else None
        if not is_identifier(name) or not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
            raise CallError(f"the owned tensor '{_short(name)}' is not a name with a list of sizes")
        if not _member(spec.get("dtype", "float32"), DTYPES) or not isinstance(spec.get("buffer", False), bool):
            raise CallError(f"the owned tensor '{_short(name)}' has an unknown dtype or buffer flag")
    for name, spec in modules.items():
        if not is_identifier(name) or not isinstance(spec, dict):
            raise CallError(f"the module '{_short(name)}' is not a name with a class and arguments")
        resolve_module_class(spec.get("class"))
        check_arguments(spec.get("arguments", {}))
    check(params.get("call"), tensors, modules)


class FunctionCall(nn.Module):
    """Runs one imported call expression on its inputs; owns the tensors the call reads."""

    def __init__(self, call: Any, tensors: dict[str, dict[str, Any]], modules: dict[str, dict[str, Any]] | None = None):
        super().__init__()
        check_function_node({"call": call, "tensors": tensors, "modules": modules or {}})
        self.call, self.tensors, self.modules_spec = call, tensors, modules or {}
        self.parts = nn.Module()  # modules the call runs, e.g. a MultiheadAttention whose tuple it indexes
        for name, spec in self.modules_spec.items():
            self.parts.add_module(name, build_module(spec["class"], spec.get("arguments", {})))
        self.owned = nn.Module()
        for name, spec in tensors.items():
            data = torch.zeros(spec["shape"], dtype=getattr(torch, spec.get("dtype", "float32")))
            if spec.get("buffer"):
                self.owned.register_buffer(name, data)
            else:
                self.owned.register_parameter(name, nn.Parameter(data, requires_grad=data.is_floating_point()))

    def forward(self, *inputs: torch.Tensor) -> Any:
        return evaluate(self.call, inputs, self.owned, parts=self.parts)


def build_module(class_path: str, arguments: dict[str, Any]) -> nn.Module:
    """An instance of a torch.nn / torchvision / timm module class, from JSON keyword arguments."""
    cls = resolve_module_class(class_path)
    decoded = check_arguments(arguments)
    try:
        return cls(**decoded)
    except (TypeError, ValueError) as error:
        raise CallError(f"cannot build {class_path}: {error}") from None
