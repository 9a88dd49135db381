"""Shape inference and validation of a whole design.

:func:`analyze` walks the graph in topological order and runs each node's shape rule, collecting
every problem (not only the first) as an :class:`Issue` attached to the node where it happens.
A node whose input is unknown (an upstream error) gets no shape and no error of its own, so each
mistake is reported once, where it was made. It is pure Python and fast enough to run after every
edit (see ``bench/``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import networkx as nx

from cnnstudio.core import catalogue
from cnnstudio.core.catalogue import Ctx, Fix, Shape, ShapeError
from cnnstudio.core.design import Design


@dataclass(frozen=True)
class Issue:
    severity: Literal["error", "warning"]
    message: str
    node: str | None = None
    fix: Fix | None = None

    def __str__(self) -> str:
        return f"{self.node}: {self.message}" if self.node else self.message


class _Issues:
    """Errors and warnings of anything that holds ``issues``."""

    issues: list[Issue]

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


@dataclass(frozen=True)
class Shared:
    """A tensor of a node that is another node's tensor (the design's ``tied``): one tensor of the
    model, so the totals count its values once, at the node that holds it."""

    tensor: str
    owner: str
    owner_tensor: str
    params: int  # its values when it is a parameter (0 for a buffer, which no count includes)

    def __str__(self) -> str:
        other = "" if self.owner_tensor == self.tensor else f"'s {self.owner_tensor}"
        return f"shares {self.tensor} with {self.owner}{other}"


@dataclass
class NodeInfo(_Issues):
    """What inference found for one node; ``shape`` is None when it could not be computed.
    ``params`` counts every tensor of the node, ``shared`` the ones it shares with another node."""

    input_shapes: list[Shape]
    shape: Shape | None = None
    params: int = 0
    macs: int = 0
    formulas: list[str] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    shared: list[Shared] = field(default_factory=list)

    @property
    def own_params(self) -> int:
        """The parameters no other node holds: what the node adds to a total."""
        return self.params - sum(s.params for s in self.shared)


@dataclass
class Analysis(_Issues):
    nodes: dict[str, NodeInfo]
    order: list[str]  # topological (nodes in cycles last)
    inputs: list[str]
    outputs: list[str]
    design_issues: list[Issue]  # problems of the design as a whole (no input, no output, ...)

    @property
    def issues(self) -> list[Issue]:  # type: ignore[override]
        return self.design_issues + [i for n in self.order for i in self.nodes[n].issues]

    @property
    def valid(self) -> bool:
        return not self.errors and all(self.nodes[n].shape is not None for n in self.order)

    @property
    def total_params(self) -> int:
        """The model's parameter count: a tensor held twice (two nodes, or one node twice) counted once."""
        return sum(info.own_params for info in self.nodes.values())

    @property
    def total_macs(self) -> int:
        return sum(info.macs for info in self.nodes.values())

    def output_shapes(self) -> list[Shape | None]:
        return [self.nodes[n].shape for n in self.outputs]


def _order(graph: nx.DiGraph) -> tuple[list[str], list[list[str]]]:
    """Topological order, and the cycles (each a list of node ids) if the graph has any."""
    try:
        return list(nx.topological_sort(graph)), []
    except nx.NetworkXUnfeasible:
        pass
    condensed = nx.condensation(graph)
    order, cycles = [], []
    for component in nx.topological_sort(condensed):
        members = [n for n in graph if n in condensed.nodes[component]["members"]]
        order.extend(members)
        if len(members) > 1:
            cycles.append(members)
    return order, cycles


def analyze(design: Design) -> Analysis:
    graph = design.graph
    order, cycles = _order(graph)
    nodes: dict[str, NodeInfo] = {}
    design_issues: list[Issue] = []
    in_cycle: set[str] = set()
    for members in cycles:
        loop = list(nx.find_cycle(graph.subgraph(members)))
        path = " → ".join([src for src, _ in loop] + [loop[0][0]])
        for node_id in members:
            in_cycle.add(node_id)
        message = f"the connections form a cycle ({path}); remove one of them: data must flow one way"
        for node_id in members:
            nodes[node_id] = NodeInfo([], issues=[Issue("error", message, node_id)])

    reachable: set[str] = set()
    for node_id in order:
        if node_id in in_cycle:
            continue
        nodes[node_id] = info = _infer_node(design, node_id, nodes, reachable)
        if info.shape is not None:
            reachable.add(node_id)

    if not design.input_ids:
        design_issues.append(Issue("error", "the design has no Input node; add one from the palette"))
    outputs = design.output_ids
    for node_id in outputs:
        if node_id not in graph:
            design_issues.append(Issue("error", f"the output '{node_id}' is not a node of the design"))
    if len(graph) and not outputs:
        design_issues.append(Issue("error", _no_output(design)))
    for node_id in design.input_ids:
        if not graph.succ[node_id]:
            nodes[node_id].issues.append(Issue("warning", "this Input is not connected to anything", node_id))
    for (node_id, tensor), (owner, owner_tensor) in design.tied.items():
        info = nodes.get(node_id)
        if info is not None and info.shape is not None and owner in nodes:
            size = _parameter_sizes(design, node_id, info).get(tensor, 0)
            info.shared.append(Shared(tensor, owner, owner_tensor, size))
    return Analysis(nodes, order, design.input_ids, outputs, design_issues)


_sizes: dict[tuple, dict[str, int]] = {}


def _parameter_sizes(design: Design, node_id: str, info: NodeInfo) -> dict[str, int]:
    """The node's parameters by name and their sizes, from building its layer on the meta device
    (only for nodes with tied tensors; cached by type, parameters and input shapes)."""
    node = design.node(node_id)
    key = (node.type, repr(sorted(node.params.items())), tuple(map(tuple, info.input_shapes)))
    if key not in _sizes:
        import torch

        try:
            with torch.device("meta"):
                module = catalogue.get(node.type).build(Ctx(info.input_shapes, node.params, design.inputs_of(node_id)))
            _sizes[key] = {name: p.numel() for name, p in module.named_parameters()}
        except Exception:  # a layer its own inference accepted but cannot be built: nothing known to share
            _sizes[key] = {}
    return _sizes[key]


def _no_output(design: Design) -> str:
    """Why nothing is an output: only Inputs end the graph, or every layer feeds another (a cycle)."""
    if all(design.node(n).type == "Input" for n in design.graph):
        return "the design has no output: add a layer after the Input"
    if design.output_order is not None:
        return "the design has no output: none is listed in its outputs"
    return "the design has no output: every layer feeds another"


def _infer_node(design: Design, node_id: str, done: dict[str, NodeInfo], reachable: set[str]) -> NodeInfo:
    node = design.node(node_id)
    layer_type = catalogue.get(node.type)
    sources = list(design.graph.pred[node_id])
    shapes = [done[s].shape for s in sources]
    info = NodeInfo([s for s in shapes if s is not None])

    def error(message: str) -> NodeInfo:
        info.issues.append(Issue("error", message, node_id))
        return info

    count = len(sources)
    if layer_type.max_inputs == 0 and count:
        return error(f"an Input takes no incoming connections; remove the one from {_names(sources)}")
    if count == 0 and layer_type.min_inputs:
        return error(f"nothing flows into this {node.type}: connect a layer's output to its input")
    if count < layer_type.min_inputs:
        return error(
            f"{node.type} merges at least {layer_type.min_inputs} inputs but has only {count} "
            f"(from {_names(sources)}): connect another branch, or remove it"
        )
    if layer_type.max_inputs is not None and count > layer_type.max_inputs:
        return error(
            f"{node.type} takes one input but {count} are connected (from {_names(sources)}); "
            "join them first with Add or Concat"
        )
    if any(s not in reachable for s in sources):
        return info  # an upstream problem, reported where it happened
    try:
        result = layer_type.infer(Ctx(shapes, node.params, sources))
    except ShapeError as problem:
        fix = Fix(node_id, problem.fix_params, problem.fix_label) if problem.fix_params else None
        info.issues.append(Issue("error", problem.message, node_id, fix))
        return info
    info.shape = result.shape
    info.params = result.params
    info.macs = result.macs
    info.formulas = result.formulas
    if node.unverified:
        info.issues.append(Issue("warning", f"unverified import: {node.unverified}", node_id))
    for note in result.notes:
        if note.informational:  # shown with the formulas it explains, not as a warning
            info.formulas = [*info.formulas, note.message]
            continue
        fix = Fix(node_id, note.fix_params, note.fix_label) if note.fix_params else None
        info.issues.append(Issue("warning", note.message, node_id, fix))
    return info


def _names(node_ids: list[str]) -> str:
    return ", ".join(f"'{n}'" for n in node_ids)
