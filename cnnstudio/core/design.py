"""The design: a directed graph of layer nodes, the single source of truth for a network.

The graph is a :class:`networkx.DiGraph` whose nodes carry a :class:`Node`. The order of edges into
a node is its input order (networkx keeps predecessors in insertion order), which is what merge
nodes such as ``Concat`` use. Every parameter stored here has been validated by its layer type, so
shape inference and the compiler can trust them.
"""

from __future__ import annotations

import copy
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import networkx as nx

from cnnstudio.core import catalogue
from cnnstudio.core.display import shorten
from cnnstudio.core.params import ParamError


class DesignError(ValueError):
    """An edit that cannot be made (unknown node, duplicate id, invalid parameter...)."""


@dataclass
class Node:
    id: str
    type: str
    params: dict[str, Any]
    pos: tuple[float, float] | None = None
    frozen: bool = False
    label: str | None = None

    @property
    def layer_type(self) -> catalogue.LayerType:
        return catalogue.get(self.type)

    @property
    def title(self) -> str:
        return self.label or self.id


@dataclass
class Design:
    name: str = "Untitled"
    graph: nx.DiGraph = field(default_factory=nx.DiGraph)
    training: dict[str, Any] = field(default_factory=dict)
    output_order: list[str] | None = None  # explicit output order; None: sinks in node order

    # -- reading ---------------------------------------------------------------------------------
    @property
    def nodes(self) -> list[Node]:
        return [data["node"] for _, data in self.graph.nodes(data=True)]

    def node(self, node_id: str) -> Node:
        try:
            return self.graph.nodes[node_id]["node"]
        except KeyError:
            raise DesignError(f"there is no node '{node_id}'") from None

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Every edge, grouped by target, in each target's input order."""
        return [(src, dst) for dst in self.graph for src in self.graph.pred[dst]]

    def inputs_of(self, node_id: str) -> list[str]:
        return list(self.graph.pred[node_id])

    def outputs_of(self, node_id: str) -> list[str]:
        return list(self.graph.succ[node_id])

    @property
    def input_ids(self) -> list[str]:
        return [n.id for n in self.nodes if n.type == "Input"]

    @property
    def output_ids(self) -> list[str]:
        """The model's outputs: the explicit order if set, else every sink that is not an Input."""
        if self.output_order is not None:
            return list(self.output_order)
        return [n for n in self.graph if not self.graph.succ[n] and self.node(n).type != "Input"]

    # -- editing ---------------------------------------------------------------------------------
    def new_id(self, type_name: str) -> str:
        stem = re.sub(r"(?<!^)(?=[A-Z][a-z])", "_", type_name).lower()
        index = 1
        while f"{stem}{index}" in self.graph:
            index += 1
        return f"{stem}{index}"

    def add_node(
        self,
        type_name: str,
        params: Mapping[str, Any] | None = None,
        node_id: str | None = None,
        pos: tuple[float, float] | None = None,
        frozen: bool = False,
        label: str | None = None,
    ) -> Node:
        layer_type = self._layer_type(type_name)
        node_id = node_id or self.new_id(type_name)
        _check_id(node_id)
        if node_id in self.graph:
            raise DesignError(f"a node with id '{node_id}' already exists")
        try:
            clean = layer_type.coerce_params(params)
        except ParamError as error:
            raise DesignError(f"{node_id}: {error}") from None
        node = Node(node_id, type_name, clean, pos, frozen, label)
        self.graph.add_node(node_id, node=node)
        return node

    def insert_node(self, node: Node, edges: Iterable[tuple[str, str, int]] = ()) -> None:
        """Put back a node removed by :meth:`remove_node`, with its edges at their input positions."""
        self.graph.add_node(node.id, node=node)
        for src, dst, index in sorted(edges, key=lambda e: e[2]):
            self.connect(src, dst, index)

    def remove_node(self, node_id: str) -> tuple[Node, list[tuple[str, str, int]]]:
        """Remove a node; returns it and its edges as (src, dst, input index) for undo."""
        node = self.node(node_id)
        edges = [(src, node_id, i) for i, src in enumerate(self.inputs_of(node_id))]
        edges += [(node_id, dst, self.inputs_of(dst).index(node_id)) for dst in self.outputs_of(node_id)]
        self.graph.remove_node(node_id)
        if self.output_order is not None and node_id in self.output_order:
            self.output_order.remove(node_id)
        return node, edges

    def connect(self, src: str, dst: str, index: int | None = None) -> None:
        """Connect ``src``'s output to ``dst``, as its ``index``-th input (default: last)."""
        for node_id in (src, dst):
            self.node(node_id)
        if src == dst:
            raise DesignError(f"'{src}' cannot feed itself")
        if self.graph.has_edge(src, dst):
            raise DesignError(f"'{src}' is already connected to '{dst}'")
        inputs = self.inputs_of(dst)
        index = len(inputs) if index is None else max(0, min(index, len(inputs)))
        later = inputs[index:]
        for other in later:
            self.graph.remove_edge(other, dst)
        self.graph.add_edge(src, dst)
        for other in later:
            self.graph.add_edge(other, dst)

    def disconnect(self, src: str, dst: str) -> int:
        """Remove an edge; returns its input index (for undo)."""
        if not self.graph.has_edge(src, dst):
            raise DesignError(f"'{src}' is not connected to '{dst}'")
        index = self.inputs_of(dst).index(src)
        self.graph.remove_edge(src, dst)
        return index

    def set_param(self, node_id: str, name: str, value: Any) -> Any:
        """Validate and set one parameter; returns the previous value."""
        node = self.node(node_id)
        try:
            spec = node.layer_type.param(name)
        except KeyError:
            raise DesignError(f"{node.type} has no parameter '{name}'") from None
        try:
            clean = spec.coerce(value)
        except ParamError as error:
            raise DesignError(f"{node_id}: {error}") from None
        previous = node.params[name]
        node.params[name] = clean
        return previous

    def rename(self, old: str, new: str) -> None:
        """Give a node a new id, keeping its edges and their input order."""
        if new == old:
            self.node(old)
            return
        _check_id(new)
        if new in self.graph:
            raise DesignError(f"a node with id '{new}' already exists")
        node = self.node(old)
        node.id = new
        rename = {old: new}.get
        graph = nx.DiGraph()
        for node_id, data in self.graph.nodes(data=True):
            graph.add_node(rename(node_id, node_id), **data)
        # Adding edges grouped by target keeps every node's input order.
        graph.add_edges_from((rename(src, src), rename(dst, dst)) for src, dst in self.edges)
        self.graph = graph
        if self.output_order is not None:
            self.output_order = [new if n == old else n for n in self.output_order]

    def copy(self) -> "Design":
        return copy.deepcopy(self)

    @staticmethod
    def _layer_type(type_name: str) -> catalogue.LayerType:
        try:
            return catalogue.get(type_name)
        except catalogue.UnknownLayerType as error:
            raise DesignError(str(error)) from None


MAX_ID_LENGTH = 100
# Control characters, invisible format characters (bidi overrides such as U+202E reorder the text
# around them, so a printed id would lie), lone surrogates (not characters: they cannot be written
# as UTF-8), private-use and unassigned code points, and line or paragraph separators.
_REFUSED_CATEGORIES = {"Cc": "a control character", "Cf": "an invisible formatting or direction character",
                       "Cs": "a lone surrogate", "Co": "a private-use character", "Cn": "an unassigned character",
                       "Zl": "a line separator", "Zp": "a paragraph separator"}


def _check_id(node_id: object) -> None:
    """Ids are short, visible, non-blank strings: a design file with any other id could not be
    loaded again, printed faithfully or shown on a card."""
    if not isinstance(node_id, str) or not node_id.strip():
        raise DesignError(f"a node id must be a non-empty string, got {shorten(repr(node_id))}")
    if len(node_id) > MAX_ID_LENGTH:
        raise DesignError(f"the node id '{shorten(node_id)}' is longer than {MAX_ID_LENGTH} characters")
    for char in node_id:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind:
            raise DesignError(f"the node id {ascii(shorten(node_id))} holds {kind} (U+{ord(char):04X}); "
                              "ids may hold letters, digits, spaces and visible symbols")
