"""Compile a valid design into a ``torch.fx.GraphModule``.

Each node becomes a submodule named after its id and one ``call_module`` in the graph, so the
generated ``forward`` reads like hand-written code (``c1 = self.c1(x)``), runs as fast, and can be
exported with torch.export or ONNX. Inputs are the ``Input`` nodes in design order; one output is
returned as a tensor, several as a tuple in output order.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

import torch
from torch import fx, nn

from cnnstudio.core import catalogue
from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.catalogue import Ctx, ShapeError
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
    return name if name[:1].isalpha() else f"Design{name}"


def build_model(design: Design, analysis: Analysis | None = None) -> fx.GraphModule:
    """The design as a trainable module; raises :class:`CompileError` naming every problem."""
    analysis = analysis or analyze(design)
    if not analysis.valid:
        lines = [str(issue) for issue in analysis.errors] or ["the design is incomplete"]
        raise CompileError(f"the design '{design.name}' has {len(lines)} error(s):\n" + "\n".join(lines))
    names = module_names(design)
    root = nn.Module()
    graph = fx.Graph()
    values: dict[str, fx.Node] = {}
    for node_id in analysis.inputs:
        values[node_id] = graph.placeholder(names[node_id])
    for node_id in analysis.order:
        node = design.node(node_id)
        if node_id in values:
            continue
        sources = design.inputs_of(node_id)
        ctx = Ctx([analysis.nodes[s].shape for s in sources], node.params, sources)
        try:
            module = catalogue.get(node.type).build(ctx)
        except ShapeError as error:
            raise CompileError(f"{node_id}: {error.message}") from None
        if node.frozen:
            module.requires_grad_(False)
        root.add_module(names[node_id], module)
        values[node_id] = graph.call_module(names[node_id], tuple(values[s] for s in sources))
    outputs = [values[n] for n in analysis.outputs]
    graph.output(outputs[0] if len(outputs) == 1 else tuple(outputs))
    model = fx.GraphModule(root, graph, class_name=class_name(design))
    model.node_names = {name: node_id for node_id, name in names.items()}  # module name -> node id
    return model


def example_inputs(design: Design, analysis: Analysis | None = None, batch: int = 2) -> tuple[torch.Tensor, ...]:
    """Random inputs of the right shapes, one per Input node."""
    analysis = analysis or analyze(design)
    return tuple(torch.randn(batch, *analysis.nodes[n].shape) for n in analysis.inputs)
