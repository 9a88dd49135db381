"""Compile a valid design into a ``torch.fx.GraphModule``.

Each node becomes a submodule named after its id and one ``call_module`` in the graph, so the
generated ``forward`` reads like hand-written code (``c1 = self.c1(x)``), runs as fast, and can be
exported with torch.export or ONNX. Inputs are the ``Input`` nodes in design order; one output is
returned as a tensor, several as a tuple in output order. A design built again skips its analysis
(the plan is kept by content) and the code generation (shared by structure: see ``compiled.py``).
"""

from __future__ import annotations

import keyword
import re
import unicodedata
from collections.abc import Hashable
from dataclasses import dataclass

import torch
from torch import fx, nn

from cnnstudio.core import catalogue
from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.catalogue import Ctx, Shape, ShapeError
from cnnstudio.core.compiled import Lru, Structure
from cnnstudio.core.design import Design


class CompileError(ValueError):
    """The design cannot become a model; the message lists every problem, one per line."""


# Attribute names a submodule must not take: a node called "code" or "training" would replace
# the GraphModule's own attribute and break it.
RESERVED = frozenset(dir(fx.GraphModule(nn.Module(), fx.Graph()))) | {"node_names", "weights_report"} | frozenset(keyword.kwlist)


def ascii_identifier(text: str) -> str:
    """``text`` as ASCII letters, digits and underscores (``ﬁlter`` -> ``filter``, ``conv²`` ->
    ``conv2``, ``café`` -> ``cafe``): Python normalises non-ASCII names in source (NFKC), so a
    module registered as ``ﬁlter`` would be read back as ``filter``; ASCII names mean the same
    everywhere (TorchScript, ONNX, generated code). May be empty; callers make it valid."""
    decomposed = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^A-Za-z0-9_]", "_", decomposed)


def module_names(design: Design) -> dict[str, str]:
    """A valid, unique ASCII Python identifier for each node id (ids may hold any characters)."""
    names: dict[str, str] = {}
    used: set[str] = set()
    for node_id in design.graph:
        name = ascii_identifier(node_id) or "node"
        if name[0].isdigit():
            name = f"n_{name}"
        if name in RESERVED:
            name = f"{name}_"
        base, index = name, 2
        while name in used:
            name, index = f"{base}_{index}", index + 1
        used.add(name)
        names[node_id] = name
    return names


def class_name(design: Design) -> str:
    """The model's class name, from the design's name (``"Figure 21"`` -> ``Figure21``)."""
    name = ascii_identifier(design.name.title()).replace("_", "")
    # torch.fx names each model's own class GraphModuleImpl and skips that name in the hierarchy
    return name if name[:1].isalpha() and name != "GraphModuleImpl" else f"Design{name}"


@dataclass(frozen=True)
class _Plan:
    """What a build needs from a valid design's analysis: each layer's module name and input
    shapes in run order, and the structure that holds the generated code."""

    layers: tuple[tuple[str, str, tuple[Shape, ...], tuple[str, ...]], ...]  # id, name, shapes, sources
    node_names: dict[str, str]  # module name -> node id
    structure: Structure


# The same design is built again and again (each Start, each view, each export), so its plan is
# kept by content; a structure is shared by every design with the same names and connections.
_plans: Lru[Hashable, _Plan] = Lru(64)
_structures: Lru[Hashable, Structure] = Lru(64)


def _content_key(design: Design) -> Hashable:
    """Everything an analysis reads: ids in order, types, parameters, input order, outputs."""
    pred = design.graph.pred
    outputs = None if design.output_order is None else tuple(design.output_order)
    return (design.name, outputs,
            tuple((node_id, node.type, repr(node.params), tuple(pred[node_id]))
                  for node_id, node in design.graph.nodes(data="node")))


def _plan(design: Design, analysis: Analysis) -> _Plan:
    if not analysis.valid:
        lines = [str(issue) for issue in analysis.errors] or ["the design is incomplete"]
        raise CompileError(f"the design '{design.name}' has {len(lines)} error(s):\n" + "\n".join(lines))
    names = module_names(design)
    layers = tuple((node_id, names[node_id], tuple(analysis.nodes[s].shape for s in design.inputs_of(node_id)),
                    tuple(design.inputs_of(node_id)))
                   for node_id in analysis.order if node_id not in analysis.inputs)
    inputs = tuple(names[n] for n in analysis.inputs)
    wiring = tuple((name, tuple(names[s] for s in sources)) for _, name, _, sources in layers)
    outputs = tuple(names[n] for n in analysis.outputs)
    key = (class_name(design), inputs, wiring, outputs)
    structure = _structures.get(key)
    if structure is None:
        structure = Structure.from_graph(_graph(inputs, wiring, outputs), key[0])
        _structures.put(key, structure)
    return _Plan(layers, {name: node_id for node_id, name in names.items()}, structure)


def _graph(inputs: tuple[str, ...], wiring: tuple[tuple[str, tuple[str, ...]], ...],
           outputs: tuple[str, ...]) -> fx.Graph:
    """One placeholder per input, one ``call_module`` per layer, its outputs returned."""
    graph = fx.Graph()
    values = {name: graph.placeholder(name) for name in inputs}
    for name, sources in wiring:
        values[name] = graph.call_module(name, tuple(values[s] for s in sources))
    results = [values[n] for n in outputs]
    graph.output(results[0] if len(results) == 1 else tuple(results))
    return graph


def build_model(design: Design, analysis: Analysis | None = None) -> fx.GraphModule:
    """The design as a trainable module; raises :class:`CompileError` naming every problem."""
    key = _content_key(design)
    plan = _plans.get(key)
    if plan is None:
        plan = _plan(design, analysis or analyze(design))
        _plans.put(key, plan)
    modules: dict[str, nn.Module] = {}
    for node_id, name, shapes, sources in plan.layers:
        node = design.node(node_id)
        try:
            module = catalogue.get(node.type).build(Ctx(list(shapes), node.params, list(sources)))
        except ShapeError as error:
            raise CompileError(f"{node_id}: {error.message}") from None
        if node.frozen:
            module.requires_grad_(False)
        modules[name] = module
    _tie(design, modules, {node_id: name for name, node_id in plan.node_names.items()})
    model = plan.structure.instantiate(modules)
    model.node_names = dict(plan.node_names)  # module name -> node id
    return model


def _tie(design: Design, modules: dict[str, nn.Module], names: dict[str, str]) -> None:
    """Make each tied tensor the very tensor it is tied to, so both nodes train one Parameter.
    A tie to or from a node no longer in the design is gone with it."""
    for (node_id, tensor), (owner_id, owner_tensor) in design.tied.items():
        if node_id not in names or owner_id not in names:
            continue
        module_path, _, leaf = tensor.rpartition(".")
        try:
            holder = modules[names[node_id]].get_submodule(module_path)
            mine = getattr(holder, leaf)
            holds = modules[names[owner_id]]  # its names of one tensor all count (a tie within one node)
            owner = holds.get_parameter(owner_tensor) if owner_tensor in dict(
                holds.named_parameters(remove_duplicate=False)) else holds.get_buffer(owner_tensor)
        except AttributeError:
            raise CompileError(f"{node_id}: its tensor '{tensor}' is tied to {owner_id}'s '{owner_tensor}', "
                               "but one of them no longer exists") from None
        if not isinstance(mine, torch.Tensor) or mine.shape != owner.shape:
            raise CompileError(f"{node_id}: its tensor '{tensor}' is tied to {owner_id}'s '{owner_tensor}', but their "
                               f"shapes now differ ({list(getattr(mine, 'shape', []))} and {list(owner.shape)})")
        holder._parameters.pop(leaf, None)
        holder._buffers.pop(leaf, None)
        if isinstance(owner, nn.Parameter):
            holder.register_parameter(leaf, owner)
        else:
            holder.register_buffer(leaf, owner)


def example_inputs(design: Design, analysis: Analysis | None = None, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Random inputs of the right shapes, one per Input node."""
    analysis = analysis or analyze(design)
    return tuple(torch.randn(batch, *analysis.nodes[n].shape) for n in analysis.inputs)
