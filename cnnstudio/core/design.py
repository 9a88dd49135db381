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
from cnnstudio.core import groups as grouping
from cnnstudio.core.display import shorten
from cnnstudio.core.groups import Group
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
    unverified: str | None = None  # an import could not prove this node computes what its model did: why

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
    # Per id stem ("conv2d"), an index below which every generated id is taken: new ids start
    # there, so adding N nodes without ids costs O(N), not O(N^2). Removals and renames lower it.
    _id_floor: dict[str, int] = field(default_factory=dict, init=False, repr=False, compare=False)
    # The design's weights: a .safetensors file keyed by node id (an absolute path once loaded;
    # written relative to the design file), or "torchvision:NAME" for pretrained weights.
    weights: str | None = None
    groups: dict[str, Group] = field(default_factory=dict)  # annotations: see core/groups.py
    # The studio's sweep of this design ("sweep" in the file, docs/design-format.md): what varies
    # and how; its trials live in the sweep's storage (cnnstudio/sweeps).
    sweep: dict[str, Any] | None = None
    # Tensors that are one tensor of the model (an imported model's shared weight): (node id, tensor
    # name) -> the (node id, tensor name) it is; the compiled model holds one Parameter for both.
    tied: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)

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
        index = self._id_floor.get(stem, 1)
        while f"{stem}{index}" in self.graph:
            index += 1
        self._id_floor[stem] = index
        return f"{stem}{index}"

    def _id_freed(self, node_id: str) -> None:
        """``node_id`` is free again: the next generated id of its stem may take it."""
        for stem, floor in self._id_floor.items():
            index = node_id[len(stem):]
            if node_id.startswith(stem) and index.isdigit() and int(index) < floor:
                self._id_floor[stem] = int(index)

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
        self._id_freed(node_id)
        if self.output_order is not None and node_id in self.output_order:
            self.output_order.remove(node_id)
        self._drop_from_group(node_id)
        # a tie to or from a removed node goes with it (docs/design-format.md): none is saved dangling
        self.tied = {tensor: owner for tensor, owner in self.tied.items() if node_id not in (tensor[0], owner[0])}
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
        self._id_freed(old)
        if self.output_order is not None:
            self.output_order = [new if n == old else n for n in self.output_order]
        self.tied = {(rename(a, a), t): (rename(b, b), u) for (a, t), (b, u) in self.tied.items()}
        group_id = self.group_of(old)
        if group_id is not None:
            members = self.groups[group_id].nodes
            members[members.index(old)] = new

    # -- groups (annotations: nothing computed depends on them) ----------------------------------
    def group_of(self, node_id: str) -> str | None:
        """The group ``node_id`` is directly in (its innermost), or ``None``."""
        return next((g.id for g in self.groups.values() if node_id in g.nodes), None)

    def add_group(
        self,
        group_id: str,
        nodes: Iterable[str],
        *,
        name: str | None = None,
        parent: str | None = None,
        collapsed: bool = True,
        children: Iterable[str] = (),
    ) -> Group:
        """Group ``nodes`` (and the groups ``children``) inside ``parent``.

        Each node and child group must be ungrouped or inside a group that encloses ``parent``
        (``parent`` itself included): it moves into the new group, so a node stays in exactly one
        group, its innermost, and groups stay a tree.
        """
        _check_id(group_id, "group")
        if group_id in self.groups:
            raise DesignError(f"a group with id '{group_id}' already exists")
        if parent is not None and parent not in self.groups:
            raise DesignError(f"group '{group_id}': its parent '{parent}' is not a group")
        nodes, children = list(nodes), list(children)
        if len(set(nodes)) != len(nodes):
            raise DesignError(f"group '{group_id}' lists a node twice")
        enclosing = {None} if parent is None else {None, parent, *grouping.ancestors(self.groups, parent)}
        for node_id in nodes:
            self.node(node_id)
            current = self.group_of(node_id)
            if current not in enclosing:
                raise DesignError(f"group '{group_id}': '{node_id}' is in group '{current}', which is not "
                                  f"around {'the design' if parent is None else repr(parent)}")
        for child in children:
            if child in enclosing:
                raise DesignError(f"group '{group_id}': '{child}' encloses it, so it cannot also go inside it")
            if child not in self.groups or self.groups[child].parent not in enclosing:
                raise DesignError(f"group '{group_id}': '{child}' is not a group beside it that could move into it")
        for node_id in nodes:
            current = self.group_of(node_id)
            if current is not None:
                self.groups[current].nodes.remove(node_id)
        for child in children:
            self.groups[child].parent = group_id
        group = Group(group_id, name or group_id, nodes, parent, collapsed)
        self.groups[group_id] = group
        return group

    def remove_group(self, group_id: str) -> Group:
        """Ungroup: the group's nodes and child groups move to its parent. Returns the group."""
        group = self._group(group_id)
        del self.groups[group_id]
        if group.parent is not None:
            self.groups[group.parent].nodes.extend(group.nodes)
        for child in grouping.children(self.groups, group_id):
            self.groups[child].parent = group.parent
        return group

    def set_groups(self, new: Mapping[str, Group]) -> None:
        """Replace every group at once, after checking them (a file, an undo)."""
        found = grouping.problems(new, self.graph)
        if found:
            group_id, message = found[0]
            raise DesignError(f"group '{group_id}': {message}")
        self.groups = dict(new)

    def _group(self, group_id: str) -> Group:
        try:
            return self.groups[group_id]
        except KeyError:
            raise DesignError(f"there is no group '{group_id}'") from None

    def _drop_from_group(self, node_id: str) -> None:
        """Take a removed node out of its group; groups left with nothing in them go too."""
        group_id = self.group_of(node_id)
        if group_id is None:
            return
        self.groups[group_id].nodes.remove(node_id)
        while group_id is not None and not self.groups[group_id].nodes and not grouping.children(self.groups, group_id):
            group_id = self.groups.pop(group_id).parent

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


def _check_id(node_id: object, what: str = "node") -> None:
    """Ids are short, visible, non-blank strings: a design file with any other id could not be
    loaded again, printed faithfully or shown on a card."""
    if not isinstance(node_id, str) or not node_id.strip():
        raise DesignError(f"a {what} id must be a non-empty string, got {shorten(repr(node_id))}")
    if len(node_id) > MAX_ID_LENGTH:
        raise DesignError(f"the {what} id '{shorten(node_id)}' is longer than {MAX_ID_LENGTH} characters")
    for char in node_id:
        kind = _REFUSED_CATEGORIES.get(unicodedata.category(char))
        if kind:
            raise DesignError(f"the {what} id {ascii(shorten(node_id))} holds {kind} (U+{ord(char):04X}); "
                              "ids may hold letters, digits, spaces and visible symbols")
