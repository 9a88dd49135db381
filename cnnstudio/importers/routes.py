"""Two ways to read a model's graph, each the other's fallback: torch.fx and torch.export.

torch.fx traces the Python of ``forward`` symbolically, stopping at modules it can rebuild as one
node (see :mod:`cnnstudio.importers.graph`), so a design keeps the model's own blocks; it cannot
follow a branch on a size or a value (``if x.shape[-1] % 2``). torch.export (non-strict, a dynamic
batch) runs ``forward`` on fake tensors, so branches on sizes are taken as the sample takes them,
and writes every step as an aten operator; it refuses what fx takes in its stride (an assertion on
values, a leaf it would have to trace into). So the first route that gives an exact design wins,
the other is tried when it fails or is not exact, and the report keeps why each one failed.
"""

from __future__ import annotations

import contextlib
import io
import math
import operator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cnnstudio.importers.graph import BATCH, ImportFailed, NeedsTracing, convert, is_exported, required_inputs

if TYPE_CHECKING:
    import torch
    from torch import fx

    from cnnstudio.importers.graph import Converted
    from cnnstudio.importers.verify import Verification

TRACERS = {"fx": "torch.fx", "export": "torch.export"}
MAX_SAMPLE = 2**27  # values (512 MB) of the sample torch.export runs the model on
MAX_ROUNDS = 4  # fx conversions: each traces into the modules the one before could not rebuild


@dataclass
class Route:
    """A converted and verified design, how its graph was read, and why the other way failed."""

    converted: "Converted"
    verification: "Verification"
    tracer: str  # a key of TRACERS
    traced_into: frozenset[str] = frozenset()  # modules fx traced through because one opaque node differed
    failures: list[str] = field(default_factory=list)  # "torch.fx: why", for each route that failed first


def convert_verified(model: "torch.nn.Module", shapes: list[tuple[int, ...]], name: str,
                     training_branches: bool = False, first: str = "fx") -> Route:
    """The design of ``model`` through ``first`` (a key of TRACERS), else through the other route;
    the first exact one, or the first that converted when neither is exact. A program already
    exported, or one traced with its training-only branches (which export's evaluation mode
    leaves out), has only the fx route."""
    if first not in TRACERS:
        raise ValueError(f"tracer is one of {', '.join(TRACERS)}, not {first!r}")
    structured = _by_structure(model, shapes, name)
    if structured is not None:
        return structured
    only_fx = is_exported(model) or training_branches
    order = ["fx"] if only_fx else sorted(TRACERS, key=lambda t: t != first)
    failures: list[str] = []
    fallback: Route | None = None
    for tracer in order:
        try:
            route = _via_fx(model, shapes, name, training_branches) if tracer == "fx" else _via_export(model, shapes, name)
        except ImportFailed as error:
            if only_fx:
                raise
            failures.append(f"{TRACERS[tracer]}: {error}")
            continue
        if route.verification.exact:
            route.failures = failures
            return route
        fallback = fallback or route
        failures.append(f"{TRACERS[tracer]}: {route.verification.sentence()}")
    if fallback is not None:
        fallback.failures = [f for f in failures if not f.startswith(TRACERS[fallback.tracer])]
        return fallback
    raise ImportFailed(f"{name} could not be read: {'; '.join(failures)}")


def _by_structure(model: "torch.nn.Module", shapes: list[tuple[int, ...]], name: str) -> Route | None:
    """Models neither route reads whole, read by their structure: torchvision's detectors (backbone
    as layers, transform and heads as verified nodes) and RAFT (encoders as layers, the recurrent
    updates one verified node); None for any other model."""
    from cnnstudio.importers.detection import convert_detector, family_of
    from cnnstudio.importers.flow import convert_flow, is_flow_model

    if family_of(model) is not None:
        return Route(*convert_detector(model, shapes, name), "fx")
    if is_flow_model(model):
        return Route(*convert_flow(model, shapes, name), "fx")
    return None


def _via_fx(model: "torch.nn.Module", shapes: list[tuple[int, ...]], name: str, training_branches: bool) -> Route:
    """Convert and verify; trace into the modules whose opaque node cannot be rebuilt or computes
    something else, and convert again, until it is exact or nothing more can be traced into."""
    from cnnstudio.importers.verify import verify

    trace_into: frozenset[str] = frozenset()
    best: Route | None = None
    why = ""  # why the modules traced into could not stay opaque
    for _ in range(MAX_ROUNDS):
        try:
            converted = convert(model, shapes, name, training_branches=training_branches, trace_into=trace_into)
        except NeedsTracing as needs:
            if set(needs.reasons) <= trace_into:
                raise ImportFailed(str(needs)) from None
            trace_into |= set(needs.reasons)
            why = str(needs)
            continue
        except ImportFailed as error:
            if best is None:  # tracing into a module failed: keep the previous round's result, if any
                raise ImportFailed(f"{why}; tracing into it instead failed: {error}" if why else str(error)) from None
            break
        original = None if training_branches or is_exported(model) else model
        verification = verify(converted.design, converted.weights, converted.graph_module, converted.fx_nodes,
                              shapes, original, converted.folds)
        best = Route(converted, verification, "fx", trace_into)
        wrong_modules = {converted.fx_nodes[d.node].target for d in verification.differing
                         if converted.design.node(d.node).type == "Module"} - trace_into
        if verification.exact or not wrong_modules:
            break
        trace_into |= wrong_modules
    if best is None:
        raise ImportFailed(f"{name}: its modules could not be rebuilt even after tracing into them")
    return best


def _via_export(model: "torch.nn.Module", shapes: list[tuple[int, ...]], name: str) -> Route:
    """torch.export's program of ``model`` converted like a .pt2, verified against ``model`` itself."""
    from cnnstudio.importers.verify import verify

    program = export_graph(model, shapes)
    converted = convert(program, shapes, name)
    verification = verify(converted.design, converted.weights, converted.graph_module, converted.fx_nodes,
                          shapes, model, converted.folds)
    return Route(converted, verification, "export")


def export_graph(model: "torch.nn.Module", shapes: list[tuple[int, ...]]) -> "fx.GraphModule":
    """``model`` in evaluation mode exported by torch.export (non-strict: its Python runs as it is)
    with a dynamic batch, or a fixed one when the model fixes it (the verifier then says whether
    the design still computes the model at another batch). The program's module shares the
    model's tensors."""
    import torch
    from torch.export import Dim, export

    from cnnstudio.importers.sources import _quiet as quiet

    model.eval()
    if sum(BATCH * math.prod(shape) for shape in shapes) > MAX_SAMPLE:  # export runs on a real sample
        raise ImportFailed(f"a sample of {', '.join('x'.join(map(str, s)) for s in shapes)} would not fit in memory")
    sample = tuple(torch.randn(BATCH, *shape) for shape in shapes)
    batch = Dim("batch")
    # torch prints the partial graph of a failed export to stderr itself; the reason is in the report.
    with quiet(), contextlib.redirect_stderr(io.StringIO()), torch.no_grad():
        try:
            program = export(model, sample, strict=False, dynamic_shapes=tuple({0: batch} for _ in shapes))
        except Exception:  # noqa: BLE001 - the model fixes its batch (or cannot be exported: said below)
            try:
                program = export(model, sample, strict=False)
            except Exception as error:  # noqa: BLE001 - torch's own words, one line, in the report
                raise ImportFailed(f"cannot export {type(model).__name__}: {_first_line(error)}") from None
    return program_module(program)


def program_module(program: "torch.export.ExportedProgram") -> "fx.GraphModule":
    """The graph module a design is read from, of a program exported here or loaded from a .pt2:
    its writes into tensors made functional, context wrappers inlined, devices taken from the input."""
    graph_module = functional(program).module()
    _plain_views(graph_module)
    _inline_context_wrappers(graph_module)
    _devices_from_the_input(graph_module)
    return graph_module


def functional(program: "torch.export.ExportedProgram") -> "torch.export.ExportedProgram":
    """The program made functional by torch's own pass when it writes into a tensor and no step
    reads that write's result: ConViT's relative positions are zeros, then each coordinate copied
    into a slice of them, and a design made of the steps each output reads would use the zeros.
    Functional, each write is a step (``select_scatter``) the next one reads. Only then, as the pass
    rewrites more than the writes (a batch norm as an aten call no catalogue layer reads); a
    program the pass cannot take is kept as it is."""
    import torch

    from cnnstudio.importers.sources import _quiet as quiet

    graphs = [m.graph for m in program.graph_module.modules() if isinstance(getattr(m, "graph", None), torch.fx.Graph)]
    if not any(n.op == "call_function" and isinstance(n.target, torch._ops.OpOverload) and n.target._schema.is_mutable
               and not n.users for graph in graphs for n in graph.nodes):
        return program
    with quiet(), contextlib.redirect_stderr(io.StringIO()):
        try:
            return program.run_decompositions({})  # no decompositions: only functionalization
        except Exception:  # noqa: BLE001 - torch's pass refuses it (a buffer written with another shape)
            return program


def _plain_views(graph_module: "fx.GraphModule") -> None:
    """``aten._unsafe_view`` (what the functional pass writes for a view of a fresh copy, to tell
    autograd that nothing aliases it) as the ``aten.view`` it computes, an operator a design may call."""
    import torch

    unsafe = torch.ops.aten._unsafe_view.default
    views = [n for n in graph_module.graph.nodes if n.op == "call_function" and n.target is unsafe]
    for node in views:
        node.target = torch.ops.aten.view.default
    if views:
        graph_module.recompile()


def _devices_from_the_input(graph_module: "fx.GraphModule") -> None:
    """torch.export writes the sample's device (cpu) into the calls that make tensors; the design
    takes it from its first input instead, so it runs wherever its input is (the meta device too)."""
    import torch
    from torch.fx.node import map_aggregate

    graph = graph_module.graph
    making = [node for node in graph.nodes
              if node.op != "output" and any(isinstance(a, torch.device) for a in (*node.args, *node.kwargs.values()))]
    if not making:
        return
    first = required_inputs(graph_module)[0]
    with graph.inserting_after(first):
        device = graph.call_function(getattr, (first, "device"))

    def swap(value: object) -> object:
        return device if isinstance(value, torch.device) else value

    for node in making:
        node.args, node.kwargs = map_aggregate(node.args, swap), map_aggregate(node.kwargs, swap)
    graph_module.recompile()


def _inline_context_wrappers(graph_module: "fx.GraphModule") -> None:
    """Inline the steps torch.export wraps in ``torch.autocast(enabled=False)`` or a grad-mode
    context (timm's attention runs so): in evaluation mode without autocast they compute what they
    compute outside it, and a design holds steps, not contexts. An enabled autocast is kept (the
    conversion then says it cannot write it)."""
    import torch

    graph = graph_module.graph
    wrappers = {torch.ops.higher_order.wrap_with_autocast: 4, torch.ops.higher_order.wrap_with_set_grad_enabled: 1}
    for node in list(graph.nodes):
        at = wrappers.get(node.target) if node.op == "call_function" else None
        if at is None or (node.target is torch.ops.higher_order.wrap_with_autocast and node.args[2]):
            continue
        body = getattr(graph_module, node.args[at].target)
        placeholders = [n for n in body.graph.nodes if n.op == "placeholder"]
        if any(n.op == "get_attr" for n in body.graph.nodes) or len(placeholders) != len(node.args[at + 1:]):
            continue
        with graph.inserting_before(node):
            result = graph.graph_copy(body.graph, dict(zip(placeholders, node.args[at + 1:])))
        for user in list(node.users):
            if isinstance(result, (tuple, list)) and user.op == "call_function" and user.target is operator.getitem:
                user.replace_all_uses_with(result[user.args[1]])
                graph.erase_node(user)
        if node.users:
            node.replace_all_uses_with(result)
        graph.erase_node(node)
    graph.eliminate_dead_code()
    graph_module.delete_all_unused_submodules()
    graph_module.recompile()


def _first_line(error: Exception) -> str:
    lines = [line.strip() for line in str(error).strip().splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0][:300] if lines else ''}"
