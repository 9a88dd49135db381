"""A torch model as a design: trace it with torch.fx, then turn each step into a node.

Tracing stops at modules the catalogue knows (its layer types' ``reverse``) and at torch.nn's own
modules; other modules are traced through, so a user's blocks dissolve into the steps they are
made of. Shapes come from one pass on the meta device (no memory, no arithmetic). Every step that
computes a per-sample tensor becomes one node: the catalogue layer whose reverse claims it (checked:
the same weights by name and shape, the same output shape), else an opaque ``Module`` (a torch.nn
module rebuilt from its constructor arguments) or ``Function`` (the call itself, with the tensors
it reads). Values that are not per-sample tensors (``x.size(0)``, a channel count, a constant)
are written into the calls that use them, so the design computes exactly what the model does.
"""

from __future__ import annotations

import inspect
import math
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from cnnstudio.core import catalogue
from cnnstudio.core.catalogue import Call, Ctx, Owned, Reversed, ShapeError, TensorArg
from cnnstudio.core.design import Design, DesignError
from cnnstudio.core.layout import layered_positions
from cnnstudio.core.params import ParamError
from cnnstudio.importers.constants import fixed_nodes, value_of

BATCH = 2
OTHER_BATCH = "value at batch 3"  # node.meta key of the values at BATCH + 1


class ImportFailed(ValueError):
    """The model cannot be imported; the message says which step and why."""


class NestedTooDeep(ImportFailed):
    """A Function node's call would nest deeper than a design allows."""


class NeedsTracing(ImportFailed):
    """Modules that cannot be rebuilt as one opaque node (module path -> why): trace into them."""

    def __init__(self, reasons: dict[str, str]):
        self.reasons = reasons
        path, why = next(iter(reasons.items()))
        more = f" (and {len(reasons) - 1} more module(s))" if len(reasons) > 1 else ""
        super().__init__(f"{why}{more}")


@dataclass
class Converted:
    """The design, its weights keyed by node id, and each node's module scope (for groups)."""

    design: Design
    weights: dict[str, torch.Tensor] = field(default_factory=dict)
    scopes: dict[str, str] = field(default_factory=dict)  # node id -> innermost module path ("" at top)
    fx_nodes: dict[str, fx.Node] = field(default_factory=dict)  # node id -> the traced step it computes
    graph_module: fx.GraphModule | None = None  # the traced model, which verification runs
    folds: dict[str, int] = field(default_factory=dict)  # node id -> k: its edge is the model's (k * batch, ...) unflattened


class Placeholder:
    """Stands for a value no reverse can match (a computed size): makes every comparison fail."""

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__


def claims(module: nn.Module) -> bool:
    """True when a catalogue layer recognises this module (tracing then stops at it)."""
    call = Call(class_path(type(module)), module=module)
    return any(t.reverse and _safe(t.reverse, call) not in (None, False) for t in catalogue.all_types())


def _safe(reverse, call: Call) -> Any:
    try:
        return reverse(call)
    except (AttributeError, TypeError, ValueError):
        return None


class CatalogueTracer(fx.Tracer):
    """Leaves: torch.nn modules, modules a catalogue layer recognises, and timm's own leaves, except
    the modules named in ``trace_into`` (whose rebuild as one opaque node computed something else)."""

    def __init__(self, extra_leaves: tuple[type, ...] = (), autowrap_functions: tuple = (),
                 trace_into: frozenset[str] = frozenset()):
        super().__init__(autowrap_functions=autowrap_functions)
        self.extra_leaves, self.trace_into = extra_leaves, trace_into

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if module_qualified_name in self.trace_into:
            return False
        return super().is_leaf_module(m, module_qualified_name) or isinstance(m, self.extra_leaves) or claims(m)


def class_path(cls: type) -> str:
    module = cls.__module__
    # torch.nn's classes live in torch.nn.modules.*; name them as users do when they are public.
    if module.startswith("torch.nn.modules") and getattr(nn, cls.__name__, None) is cls:
        return f"torch.nn.{cls.__name__}"
    return f"{module}.{cls.__qualname__}"


def function_name(function: Any) -> str:
    from torch.nn import functional

    if isinstance(function, (torch._ops.OpOverload, torch._ops.OpOverloadPacket)):  # torch.export's aten ops
        return f"torch.ops.{function}"
    name = getattr(function, "__name__", repr(function))
    module = getattr(function, "__module__", None) or ""
    if module in ("_operator", "operator"):
        return f"operator.{name}"
    if getattr(functional, name, None) is function:
        return f"torch.nn.functional.{name}"
    if getattr(torch, name, None) is function:
        return f"torch.{name}"
    if module == "math":
        return f"math.{name}"
    return f"{module}.{name}"


def trace(model: nn.Module, trace_into: frozenset[str] = frozenset()) -> fx.GraphModule:
    leaves, functions = _timm_notrace()
    tracer = CatalogueTracer(leaves, functions, trace_into)
    try:
        graph = tracer.trace(model)
    except Exception as error:  # torch.fx's complaint about Python it cannot follow
        raise ImportFailed(
            f"cannot trace {type(model).__name__}: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}"
        ) from None
    _read_after_in_place_calls(graph)
    return fx.GraphModule(tracer.root, graph, class_name=type(model).__name__)


def _read_after_in_place_calls(graph: fx.Graph) -> None:
    """Make what reads a tensor after an in-place call on it (``t.add_(u)``, whose result the code
    drops) read the call's result instead, which is the same tensor: a design's edge or call
    expression then carries the change. Without it, a tensor made from weights alone, written into
    each call that uses it, was made afresh there without the change (MViT v1's position embedding:
    ``pos.add_(...)`` then ``torch.cat((..., pos))``)."""
    order = {node: i for i, node in enumerate(graph.nodes)}
    for node in list(graph.nodes):
        if not (node.op == "call_method" and _in_place(node.target) and node.args and isinstance(node.args[0], fx.Node)):
            continue
        changed = node.args[0]
        for user in list(changed.users):
            if order[user] > order[node]:
                user.replace_input_with(changed, node)


def _on_a_copy(node: fx.Node, expression: Any) -> Any:
    """An in-place method call on an edge that other steps read, made on a copy of it: what read the
    tensor before the change keeps reading it unchanged, whatever order the design's steps run in,
    and what reads it after reads this step (``_read_after_in_place_calls``). Not for a view of
    another tensor, whose change the other tensor must see."""
    changed = node.args[0].meta.get("value")
    first = expression.get("args", [None])[0] if isinstance(expression, dict) else None
    if (node.op != "call_method" or not isinstance(changed, torch.Tensor) or changed._base is not None
            or not isinstance(first, dict) or first.keys() != {"input"}):
        return expression
    return {**expression, "args": [{"method": "clone", "args": [first], "kwargs": {}}, *expression["args"][1:]]}


def _in_place(method: str) -> bool:
    """A tensor method that changes its tensor and returns it (``add_``, ``relu_``), by torch's naming."""
    return method.endswith("_") and not method.endswith("__")


def _timm_notrace() -> tuple[tuple[type, ...], tuple]:
    """timm's own list of modules and functions that torch.fx must not trace into, if timm is loaded."""
    import sys

    if "timm" not in sys.modules:
        return (), ()
    from timm.layers import _fx

    return tuple(_fx.get_notrace_modules()), tuple(_fx.get_notrace_functions())


class Interpreter(fx.Interpreter):
    """fx's interpreter, handing each call fresh lists as the traced code does (its arguments are
    fx's immutable lists otherwise; torchvision's ``_get_window_and_shift_size`` sets their items)."""

    def fetch_args_kwargs_from_env(self, n: fx.Node) -> tuple[tuple, dict]:
        args, kwargs = super().fetch_args_kwargs_from_env(n)
        return _mutable(args), _mutable(kwargs)


def _mutable(value: Any) -> Any:
    if isinstance(value, list):
        return [_mutable(v) for v in value]
    if isinstance(value, dict):
        return {k: _mutable(v) for k, v in value.items()}
    if type(value) is tuple:
        return tuple(_mutable(v) for v in value)
    return value


@contextmanager
def _attributes_kept(module: nn.Module) -> Iterator[None]:
    """Put back the plain attributes and buffers of ``module`` and its children after a run on the
    meta device: a forward that caches a tensor it makes (ConViT's non-persistent ``rel_indices``)
    would keep a meta one."""
    kept = [(m, {k: v for k, v in vars(m).items() if not k.startswith("_")}, dict(m._buffers))
            for m in module.modules()]
    try:
        yield
    finally:
        for m, attributes, buffers in kept:
            for name in [k for k in vars(m) if not k.startswith("_") and k not in attributes]:
                delattr(m, name)
            for name, value in attributes.items():
                if vars(m).get(name) is not value:
                    object.__setattr__(m, name, value)
            m._buffers.clear()
            m._buffers.update(buffers)


def propagate(graph_module: fx.GraphModule, shapes: list[tuple[int, ...]], batch: int = BATCH,
              key: str = "value") -> None:
    """Fill ``node.meta[key]`` with values on the meta device: shapes without memory or arithmetic.

    Modules run with meta copies of their tensors (``functional_call``), so the model is untouched.
    """
    from torch.func import functional_call

    def meta(tensor: torch.Tensor) -> torch.Tensor:
        return torch.empty_like(tensor, device="meta")

    class Recorder(Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            result = super().run_node(n)
            n.meta[key] = result
            return result

        def call_module(self, target: str, args: tuple, kwargs: dict) -> Any:
            module = self.fetch_attr(target)
            state = {k: meta(v) for k, v in module.state_dict(keep_vars=True).items()}
            with _attributes_kept(module):
                return functional_call(module, state, args, kwargs)

        def call_function(self, target: Any, args: tuple, kwargs: dict) -> Any:
            if target is torch._assert and isinstance(args[0], torch.Tensor):  # a check of values: meta tensors
                return None  # hold none; verification runs it on real ones
            return super().call_function(target, args, kwargs)

        def get_attr(self, target: str, args: tuple, kwargs: dict) -> Any:
            value = self.fetch_attr(target)
            return meta(value) if isinstance(value, torch.Tensor) else value

    try:  # inside: an input declared 2e9 x 2e9 overflows even on the meta device
        inputs = [torch.empty((batch, *shape), device="meta") for shape in shapes]
        Recorder(graph_module).run(*inputs)
    except Exception as error:
        raise ImportFailed(
            f"the model does not run on inputs {', '.join('x'.join(map(str, s)) for s in shapes)}: "
            f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}. Give the right size with --input."
        ) from None


class Converter:
    def __init__(self, graph_module: fx.GraphModule, shapes: list[tuple[int, ...]], name: str, exported: bool = False):
        self.gm = graph_module
        self.exported = exported  # torch.export's graph: each call knows the module it came from
        self.shapes = shapes
        self.result = Converted(Design(name=name))
        self.ids: dict[fx.Node, str] = {}  # fx node -> design node id, for per-sample tensors
        self.parts: dict[str, nn.Module] = {}  # modules the Function node being written runs
        self.unbuildable: dict[str, str] = {}  # module path -> why one opaque node cannot rebuild it
        self.folds: dict[fx.Node, int] = {}  # per-sample tensors whose first axis holds k rows of each sample
        self.fixed = fixed_nodes(graph_module) if exported else set()  # the same values for every input
        self.constants: dict[fx.Node, Any] = {}  # the values of fixed nodes held as tensors
        self.fold_fixed = False  # while writing a call that nests too deep otherwise
        self.sample = self._per_sample_nodes()

    def _per_sample_nodes(self) -> set[fx.Node]:
        """Nodes whose value depends on an input: the tensors become design nodes. A design's
        edges carry floating-point tensors (its shape rules run each node on float inputs), so a
        mask or an index computed from the input (``~zeros(shape).bool()``) is written into the
        calls that use it instead, unless the model takes or returns it."""
        depends: set[fx.Node] = set()
        inputs = set(required_inputs(self.gm))
        for node in self.gm.graph.nodes:
            if node in inputs or (node not in self.fixed and any(a in depends for a in node.all_input_nodes)):
                depends.add(node)
        self.depends = depends
        returned: set[fx.Node] = set()
        fx.node.map_arg(_output_args(self.gm), returned.add)
        self.folds = {n: k for n in depends if n.op != "output" and n not in returned
                      and (k := _folded(n)) and n.meta["value"].is_floating_point()}
        return set(self.folds) | {n for n in depends if n.op != "output" and _is_batch_tensor(n)
                                  and (n.meta["value"].is_floating_point() or n in inputs or n in returned)}

    # -- the walk ------------------------------------------------------------------------------
    def run(self) -> Converted:
        design = self.result.design
        placeholders = required_inputs(self.gm)
        if len(placeholders) != len(self.shapes):
            raise ImportFailed(f"the model takes {len(placeholders)} inputs; give one --input shape for each")
        for node, shape in zip(placeholders, self.shapes):
            self._add(node, "Input", {"shape": list(shape)}, node.name)
        for node in self.gm.graph.nodes:
            if node in self.sample and node.op != "placeholder":
                self._convert(node)
        outs: list[str] = []
        fx.node.map_arg(_output_args(self.gm), lambda a: outs.append(self.ids[a]) if a in self.ids else None)
        if not outs:
            raise ImportFailed("the model returns no tensor computed from its input")
        if self.unbuildable:
            raise NeedsTracing(self.unbuildable)
        self.result.folds = {self.ids[n]: k for n, k in self.folds.items() if n in self.ids}
        design.output_order = list(dict.fromkeys(outs))
        return self.result

    def _convert(self, node: fx.Node) -> None:
        inputs: list[fx.Node] = []
        module = self.gm.get_submodule(node.target) if node.op == "call_module" else None
        owned: dict[str, torch.Tensor] = {}
        args = tuple(self._marker(a, inputs, owned) for a in node.args)
        kwargs = {k: self._marker(v, inputs, owned) for k, v in node.kwargs.items()}
        if node.op == "call_module":
            name = class_path(type(module))
        elif node.op == "call_method":
            name = f"Tensor.{node.target}"
        else:
            name = function_name(node.target)
        shapes = [tuple(self._value(i).shape[1:]) for i in inputs]
        call = Call(name, args, kwargs, shapes, module, {k: tuple(t.shape) for k, t in owned.items()})
        out_shape = tuple(node.meta["value"].shape[1:])
        node_id = self._node_id(node)
        sources = [self.ids[i] for i in inputs]
        plain_inputs = call.tensors_in_order(*args) and not kwargs
        folded = node in self.folds or any(i in self.folds for i in inputs)  # only a call can unfold and fold
        if (node.op != "call_module" or plain_inputs) and not folded and not self._mutates_a_shared_input(node, name):
            for layer_type in catalogue.all_types():
                params = layer_type.reverse and _safe(layer_type.reverse, call)
                if params is None or params is False:
                    continue
                tensors = module.state_dict() if module is not None else {}
                if isinstance(params, Reversed):
                    if not all(isinstance(v, Owned) and v.key in owned for v in params.weights.values()):
                        continue
                    tensors = {k: owned[v.key] for k, v in params.weights.items()}
                    node_id = self._owner_id(node, [v.key for v in params.weights.values()]) or node_id
                    params = params.params
                extra = self._fits(layer_type, params, shapes, sources, out_shape, tensors)
                if extra is not None:
                    self._add(node, layer_type.name, params, node_id, inputs, {**tensors, **extra})
                    return
        if module is not None and not folded:  # an opaque node; found all in one pass, those that cannot be one are traced into
            arguments: dict[str, Any] = {}
            try:
                if not plain_inputs:
                    raise ImportFailed(f"{node_id}: a {name} called with other arguments than its inputs cannot be imported")
                arguments = constructor_arguments(module)
            except ImportFailed as error:
                self.unbuildable[node.target] = f"{node_id}: {error}"
            self._add(node, "Module", {"class": name, "arguments": arguments}, node_id, inputs, module.state_dict())
            if node.target not in self.unbuildable and (problem := self._module_problem(node_id, module, shapes, out_shape)):
                self.unbuildable[node.target] = problem
            return
        owned: dict[str, torch.Tensor] = {}
        self.parts = {}
        inputs.clear()
        expression = self._call_of(node, inputs, owned)
        if self._mutates_a_shared_input(node, name):
            expression = _on_a_copy(node, expression)
        if node in self.folds:  # the design's edge keeps the batch first: (k * batch, ...) -> (batch, k, ...)
            expression = {"function": "torch.unflatten", "args": [expression, 0, {"tuple": [-1, self.folds[node]]}],
                          "kwargs": {}}
        tensors = {k: {"shape": list(t.shape), **_tensor_kind(t)} for k, t in owned.items()}
        modules = {k: {"class": class_path(type(m)), "arguments": constructor_arguments(m)} for k, m in self.parts.items()}
        params = {"call": expression, "tensors": tensors, "modules": modules}
        _refuse_what_a_design_may_not_call(node_id, params)
        self._add(node, "Function", params, node_id, inputs)
        for key, tensor in owned.items():
            self.result.weights[f"{node_id}.owned.{key}"] = tensor.detach()
        for key, module in self.parts.items():
            for name, tensor in module.state_dict().items():
                self.result.weights[f"{node_id}.parts.{key}.{name}"] = tensor.detach()

    def _call_of(self, node: fx.Node, inputs: list[fx.Node], owned: dict[str, torch.Tensor]) -> Any:
        """The call a Function node makes. When written out in full it would nest too deep, the
        steps whose values no input changes are held as the tensors they compute."""
        try:
            expression = self._expression(node, inputs, owned, top=True)
            if not (self.fixed and _too_deep(expression)):
                return expression
        except NestedTooDeep:
            if not self.fixed:
                raise
        inputs.clear()
        owned.clear()
        self.parts = {}
        self.fold_fixed = True
        try:
            return self._expression(node, inputs, owned, top=True)
        finally:
            self.fold_fixed = False

    def _mutates_a_shared_input(self, node: fx.Node, name: str) -> bool:
        """An in-place call (``relu_``, ``add_``) whose input is read again: only the call itself
        does exactly that, so no catalogue layer may stand for it."""
        parts = name.split(".")
        in_place = name.endswith("_") or name.startswith("operator.i") or (
            name.startswith("torch.ops.aten.") and parts[-2].endswith("_"))
        first = node.args[0] if node.args else None
        return in_place and isinstance(first, fx.Node) and len(first.users) > 1

    def _fits(self, layer_type, params, shapes, sources, out_shape, tensors) -> dict[str, torch.Tensor] | None:
        """When the catalogue layer computes the same shape and holds the same tensors as the source,
        the tensors it holds besides (an exported batch norm's count of batches, 0); else None."""
        try:
            clean = layer_type.coerce_params(params)
            ctx = Ctx(shapes, clean, sources)
            if tuple(layer_type.infer(ctx).shape) != out_shape:
                return None
            with torch.device("meta"):
                built = layer_type.build(ctx)
        except (ParamError, ShapeError, ValueError, TypeError):
            return None
        want = {k: tuple(v.shape) for k, v in tensors.items()}
        have = {k: tuple(v.shape) for k, v in built.state_dict().items()}
        extra = {k: torch.zeros((), dtype=torch.long) for k in have.keys() - want.keys() if k.endswith("num_batches_tracked")}
        return extra if {k: s for k, s in have.items() if k not in extra} == want else None

    def _module_problem(self, node_id: str, module: nn.Module, shapes: list[tuple[int, ...]],
                        out_shape: tuple[int, ...]) -> str | None:
        """Why the opaque node cannot stand for ``module`` (its rebuild fails, holds other tensors or
        gives another shape: a constructor argument it does not keep, such as timm's ``padding='same'``),
        or None; whether it computes the same is verified with real values afterwards."""
        from cnnstudio.core.calls import CallError, build_module

        node = self.result.design.node(node_id)
        try:
            with torch.device("meta"):
                rebuilt = build_module(node.params["class"], node.params["arguments"])
        except CallError as error:
            return f"{node_id}: {error}"
        if {k: v.shape for k, v in rebuilt.state_dict().items()} != {k: v.shape for k, v in module.state_dict().items()}:
            return f"{node_id}: a {type(module).__name__} rebuilt from its attributes does not match the original"
        try:
            with torch.device("meta"):
                out = rebuilt.eval()(*(torch.empty((BATCH, *shape)) for shape in shapes))
            got = tuple(out.shape[1:]) if isinstance(out, torch.Tensor) else None
        except Exception:  # noqa: BLE001 - any failure of the rebuild is a reason to trace into it
            got = None
        if got != out_shape:
            return (f"{node_id}: a {type(module).__name__} rebuilt from its attributes gives "
                    f"{'x'.join(map(str, got)) if got else 'no tensor'}, not {'x'.join(map(str, out_shape))}")
        return None

    def _add(self, node: fx.Node, type_name: str, params: dict, node_id: str,
             inputs: list[fx.Node] = (), tensors: dict[str, torch.Tensor] | None = None) -> None:
        design = self.result.design
        try:
            design.add_node(type_name, params, node_id)
        except DesignError as error:
            raise ImportFailed(f"{node_id}: {error}") from None
        for source in inputs:
            design.connect(self.ids[source], node_id)
        self.ids[node] = node_id
        self.result.fx_nodes[node_id] = node
        self.result.scopes[node_id] = self._scope(node)
        for key, tensor in (tensors or {}).items():
            self.result.weights[f"{node_id}.{key}"] = tensor.detach()

    # -- arguments ----------------------------------------------------------------------------
    def _value(self, node: fx.Node) -> Any:
        return node.meta["value"]

    def _marker(self, arg: Any, inputs: list[fx.Node], owned: dict[str, torch.Tensor]) -> Any:
        """An argument as a reverse sees it: inputs as TensorArg, weights read from the model as
        Owned, fixed values as they are."""
        if isinstance(arg, fx.Node):
            if arg in self.sample:
                if arg not in inputs:
                    inputs.append(arg)
                return TensorArg(inputs.index(arg))
            if arg.op == "get_attr" and isinstance(value := _fetch(self.gm, arg.target), torch.Tensor):
                owned[arg.target] = value
                return Owned(arg.target)
            return Placeholder()
        if isinstance(arg, (list, tuple)):
            return type(arg)(self._marker(a, inputs, owned) for a in arg)
        return arg

    def _expression(self, arg: Any, inputs: list[fx.Node], owned: dict[str, torch.Tensor], top: bool = False,
                    depth: int = 0, folded: fx.Node | None = None) -> Any:
        """``arg`` as a JSON call expression (see cnnstudio.core.calls). ``folded``: the outermost
        tensor written in whose first axis is not the batch (their steps cannot be nodes)."""
        from cnnstudio.core.calls import MAX_DEPTH

        if depth > MAX_DEPTH:
            raise NestedTooDeep(
                f"{folded.name if folded is not None else arg}: the steps that use it would be written as one call "
                f"nested deeper than {MAX_DEPTH} levels" + (
                    f", because they do not keep the batch as the first axis (it is {_dims(folded)}; the batch is "
                    f"{BATCH} here), so none of them can be a node of its own" if folded is not None else ""))
        if isinstance(arg, fx.Node) and folded is None and isinstance(arg.meta.get("value"), torch.Tensor) \
                and not _is_batch_tensor(arg) and arg in self.depends:
            folded = arg

        def sub(value: Any, levels: int) -> Any:  # levels: as core/calls.py counts them (a call's args: a list in a dict)
            return self._expression(value, inputs, owned, depth=depth + levels, folded=folded)

        if isinstance(arg, fx.Node):
            if arg in self.sample and not top:
                if arg not in inputs:
                    inputs.append(arg)
                if arg in self.folds:  # back to the model's (k * batch, ...)
                    return {"method": "flatten", "args": [{"input": inputs.index(arg)}, 0, 1], "kwargs": {}}
                return {"input": inputs.index(arg)}
            if self.fold_fixed and arg in self.fixed and isinstance(arg.meta.get("value"), torch.Tensor) and not top:
                return sub(value_of(arg, self.gm, self.fixed, self.constants), 0)
            if arg.op == "placeholder":  # an optional argument of forward: its default
                return sub(arg.args[0], 0)
            if arg.op == "get_attr":
                value = _fetch(self.gm, arg.target)
                if not isinstance(value, torch.Tensor):
                    return sub(value, 0)
                key = base = re.sub(r"\W", "_", arg.target.rpartition(".")[2])
                while key in owned and owned[key] is not value:
                    key = f"{base}_{len(owned)}"
                owned[key] = value
                return {"tensor": key}
            if arg.op == "call_function" and arg.target is getattr:
                return {"attribute": arg.args[1], "of": sub(arg.args[0], 1)}
            args = [sub(a, 2) for a in arg.args]
            kwargs = {k: sub(v, 1) for k, v in arg.kwargs.items()}
            if arg.op == "call_function":
                return {"function": function_name(arg.target), "args": args, "kwargs": kwargs}
            if arg.op == "call_method":
                return {"method": arg.target, "args": args, "kwargs": kwargs}
            if arg.op == "call_module":  # a module whose result is not one tensor (attention's tuple)
                key = re.sub(r"\W", "_", arg.target)
                self.parts[key] = self.gm.get_submodule(arg.target)
                return {"module": key, "args": args, "kwargs": kwargs}
            raise ImportFailed(f"{arg.name}: a {arg.op} that does not depend on the input cannot be imported")
        if isinstance(arg, torch.Size):
            return {"tuple": [int(v) for v in arg]}
        if isinstance(arg, tuple):
            return {"tuple": [sub(v, 2) for v in arg]}
        if isinstance(arg, list):
            return [sub(v, 1) for v in arg]
        if isinstance(arg, slice):
            return {"slice": [sub(arg.start, 2), sub(arg.stop, 2), sub(arg.step, 2)]}
        if arg is Ellipsis:
            return {"ellipsis": True}
        if isinstance(arg, torch.dtype):
            return {"dtype": str(arg).removeprefix("torch.")}
        if isinstance(arg, torch.memory_format):
            return {"memory_format": str(arg).removeprefix("torch.")}
        if isinstance(arg, float) and not math.isfinite(arg):
            return {"float": str(arg)}
        if arg is None or isinstance(arg, (bool, int, float, str)):
            return arg
        if isinstance(arg, torch.Tensor):
            key = f"constant{len(owned)}"
            owned[key] = arg
            return {"tensor": key}
        raise ImportFailed(f"cannot write a {type(arg).__name__} ({str(arg)[:40]}) into a design")

    # -- names --------------------------------------------------------------------------------
    def _scope(self, node: fx.Node) -> str:
        if "scope" in node.meta:
            return node.meta["scope"]
        if node.op == "call_module":
            return node.target.rpartition(".")[0]
        stack = node.meta.get("nn_module_stack") or {}
        if not stack:
            return ""
        path = list(stack.values())[-1][0]
        return path.rpartition(".")[0] if self._leaf_call(node) else path

    def _owner_id(self, node: fx.Node, keys: list[str]) -> str | None:
        """The module path the weights come from (``layer1.0.conv1`` for ``layer1.0.conv1.weight``),
        as the id of a node that reads them (torch.export's calls), if it is free."""
        owners = {key.rpartition(".")[0] for key in keys}
        owner = owners.pop() if len(owners) == 1 else ""
        if not owner or owner in self.result.design:
            return None
        node.meta["scope"] = owner.rpartition(".")[0]
        return owner

    def _leaf_call(self, node: fx.Node) -> bool:
        """In torch.export's graph, a call that is all a torch.nn module (not a container) does."""
        stack = list((node.meta.get("nn_module_stack") or {}).values())
        if not (self.exported and stack and stack[-1][0]):
            return False
        module_type = stack[-1][1]
        type_name = module_type if isinstance(module_type, str) else f"{module_type.__module__}.{module_type.__qualname__}"
        return type_name.startswith("torch.nn.modules") and not type_name.endswith(("Sequential", "ModuleList", "ModuleDict"))

    def _node_id(self, node: fx.Node) -> str:
        stack = node.meta.get("nn_module_stack") or {}
        if node.op == "call_module":
            base = node.target
        elif self._leaf_call(node):  # torch.export's call of module layer1.0.conv1 is node layer1.0.conv1
            base = list(stack.values())[-1][0]
        else:
            scope = self._scope(node)
            base = f"{scope}.{node.name}" if scope else node.name
        node_id, index = base, 2
        while node_id in self.result.design:
            node_id, index = f"{base}_{index}", index + 1
        return node_id


def _refuse_what_a_design_may_not_call(node_id: str, params: dict[str, Any]) -> None:
    """The checker's own allowed list (cnnstudio.core.calls): a step it would refuse is not written."""
    from cnnstudio.core.calls import CallError, check_function_node

    try:
        check_function_node(params)
    except CallError as error:
        raise ImportFailed(f"{node_id}: {error}") from None


def is_exported(model: nn.Module) -> bool:
    """A torch.export program's module (``ExportedProgram.module()``): already a graph of aten calls."""
    return isinstance(model, fx.GraphModule) and "_in_spec" in model.__dict__


def required_inputs(gm: fx.GraphModule) -> list[fx.Node]:
    """The forward's arguments without a default value: the model's inputs."""
    return [n for n in gm.graph.nodes if n.op == "placeholder" and not n.args]


def _folded(node: fx.Node) -> int:
    """k when the node's tensor holds k rows per sample on its first axis (k * batch at both
    batches propagated: windows or heads folded into the batch), else 0."""
    value, other = node.meta.get("value"), node.meta.get(OTHER_BATCH)
    if not (isinstance(value, torch.Tensor) and isinstance(other, torch.Tensor) and value.dim() >= 1
            and other.dim() == value.dim() and value.shape[1:] == other.shape[1:]):
        return 0
    k, rest = divmod(value.shape[0], BATCH)
    return k if k > 1 and not rest and other.shape[0] == k * (BATCH + 1) else 0


def _too_deep(expression: Any) -> bool:
    """Whether a design would refuse the call for its depth (anything else it refuses is told later, with the node's id)."""
    from cnnstudio.core.calls import CallError, TooDeep, check

    try:
        check(expression)
    except TooDeep:
        return True
    except CallError:
        return False
    return False


def _is_batch_tensor(node: fx.Node) -> bool:
    """Its first axis is the batch: BATCH long, and BATCH + 1 at the second batch where that was
    propagated (Swin's window mask, 2x7x2x7 from a 14x14 grid, is not a batch of two)."""
    value, other = node.meta.get("value"), node.meta.get(OTHER_BATCH)
    if not (isinstance(value, torch.Tensor) and value.dim() >= 1 and value.shape[0] == BATCH):
        return False
    return not isinstance(other, torch.Tensor) or (other.dim() >= 1 and other.shape[0] == BATCH + 1)


def _output_args(gm: fx.GraphModule) -> Any:
    """What the model returns; a named tuple built in forward (GoogLeNet's ``GoogLeNetOutputs``: the
    logits and the auxiliary heads' scores) is a call in the graph, so its fields are taken instead."""
    returned = next(n for n in gm.graph.nodes if n.op == "output").args[0]
    target = getattr(returned, "target", None)
    if getattr(returned, "op", None) == "call_function" and isinstance(target, type) and issubclass(target, tuple):
        return returned.args
    return returned


def _dims(node: fx.Node) -> str:
    return "x".join(map(str, node.meta["value"].shape))


def _fetch(gm: fx.GraphModule, target: str) -> Any:
    value: Any = gm
    for part in target.split("."):
        value = getattr(value, part)
    return value


def _tensor_kind(tensor: torch.Tensor) -> dict[str, Any]:
    """How an owned tensor is held: a buffer when the model did not make it a parameter; its dtype."""
    kind: dict[str, Any] = {}
    if not isinstance(tensor, nn.Parameter):
        kind["buffer"] = True
    if tensor.dtype != torch.float32:
        kind["dtype"] = str(tensor.dtype).removeprefix("torch.")
    return kind


def tied_tensors(converted: Converted) -> dict[tuple[str, str], tuple[str, str]]:
    """Weights that are one tensor of the model (the same memory, shape and strides): each later
    one -> the first, as (node id, tensor name). Both may be one node's: a Function node that reads
    a weight of a module it also runs (XCiT's positional encoding asks ``proj.weight`` for its
    device) holds it twice, as its own tensor and inside the module."""
    first: dict[tuple, tuple[str, str]] = {}
    tied: dict[tuple[str, str], tuple[str, str]] = {}
    ids = sorted(converted.fx_nodes, key=len, reverse=True)  # the longest id that prefixes a key names its node
    for key, tensor in converted.weights.items():
        if not tensor.numel() or not tensor.is_floating_point():
            continue
        node_id = next(i for i in ids if key.startswith(f"{i}."))
        where = (node_id, key[len(node_id) + 1:])
        identity = (tensor.untyped_storage().data_ptr(), tensor.storage_offset(), tuple(tensor.shape), tensor.stride())
        if identity in first:
            tied[where] = first[identity]
        first.setdefault(identity, where)
    return tied


def constructor_arguments(module: nn.Module) -> dict[str, Any]:
    """The keyword arguments that build ``module`` again, from its signature and attributes
    (torch.nn's modules keep their constructor arguments as attributes of the same name)."""
    arguments: dict[str, Any] = {}
    cls = type(module)
    for name, parameter in list(inspect.signature(cls.__init__).parameters.items())[1:]:
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD) or name in ("device", "dtype"):
            continue
        if not hasattr(module, name):
            if parameter.default is parameter.empty:
                raise ImportFailed(f"a {cls.__name__} does not keep its constructor argument '{name}', so it cannot be rebuilt")
            continue
        value = getattr(module, name)
        if name == "bias" and (value is None or isinstance(value, torch.Tensor)):
            value = value is not None
        if parameter.default is not parameter.empty and _equal(value, parameter.default):
            continue
        arguments[name] = _json_value(value, cls.__name__, name)
    return arguments


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # tensors and the like
        return False


def _json_value(value: Any, owner: str, name: str) -> Any:
    if isinstance(value, tuple):
        return {"tuple": [_json_value(v, owner, name) for v in value]}
    if isinstance(value, list):
        return [_json_value(v, owner, name) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return {"float": str(value)}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ImportFailed(f"a {owner}'s argument '{name}' ({type(value).__name__}) cannot be written into a design")


def convert(model: nn.Module, shapes: list[tuple[int, ...]], name: str, collapsed: bool = True,
            training_branches: bool = False, trace_into: frozenset[str] = frozenset()) -> Converted:
    """``model`` (in evaluation mode) as a design with its weights by node id, one group per
    module of its hierarchy (``collapsed`` or open), laid out left to right. ``training_branches``
    traces it in training mode, so what its forward computes only while training (GoogLeNet's
    auxiliary classifiers) is in the design as extra outputs; its layers then run in evaluation mode.
    ``trace_into``: module paths traced through although they would be leaves."""
    from cnnstudio.importers.groups import add_module_groups

    exported = is_exported(model)
    if not exported:  # torch.export's modules refuse eval(): they are in evaluation mode
        model.train(training_branches)
    graph_module = model if exported else trace(model, trace_into).eval()  # branches are fixed by the trace: now evaluate
    propagate(graph_module, shapes)
    try:  # a second batch tells a folded batch (windows, heads: k rows per sample) from a fixed size
        propagate(graph_module, shapes, BATCH + 1, OTHER_BATCH)
    except ImportFailed:  # the graph holds its batch (a program exported with a fixed one): nothing folds
        pass
    converted = Converter(graph_module, shapes, name, exported).run()
    converted.graph_module = graph_module
    converted.design.tied = tied_tensors(converted)
    module_types = {path: type(m).__name__ for path, m in model.named_modules() if path}
    add_module_groups(converted.design, converted.scopes, module_types, collapsed)
    for node_id, pos in layered_positions(converted.design).items():
        converted.design.node(node_id).pos = pos
    return converted
