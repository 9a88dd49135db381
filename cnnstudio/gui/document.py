"""The open design as the studio sees it: the core :class:`Design`, its file, its undo stack and its
latest :class:`Analysis`, with Qt signals so every view can mirror it.

The design is the truth. Views never edit it: they push commands (``commands.py``) whose redo and
undo call the primitive edits below; each primitive emits what changed, and the analysis is rerun
once per command (nested edits are batched by :meth:`editing`).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import networkx as nx
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.design import Design, Node
from cnnstudio.core.groups import Group

Edge = tuple[str, str, int]  # source, target, input index


@dataclass
class Removed:
    """A node taken out of the design, with what puts it back exactly: its edges (with their
    input index), its place in the node order (which orders outputs and files), for a design
    with an explicit output list, its place there, and the groups as they were if it was in one
    (removing a group's last node drops the group)."""

    node: Node
    edges: list[Edge]
    position: int
    output_index: int | None = None
    groups: dict[str, Group] | None = None
    tied: dict[tuple[str, str], tuple[str, str]] | None = None  # the design's ties before, if it had one of the node


class Document(QObject):
    reset = Signal()  # a different design (New, Open, template, restore)
    node_added = Signal(str)
    node_removed = Signal(str)
    node_changed = Signal(str)  # parameters, label or frozen
    node_moved = Signal(str)
    inputs_changed = Signal(str)  # the edges into this node (or their order) changed
    groups_changed = Signal()  # groups added, removed, renamed, opened or closed
    analyzed = Signal()
    path_changed = Signal()
    training_changed = Signal()  # the design's "training" object
    sweep_changed = Signal()  # the design's "sweep" object (the Sweep dock's setup)

    def __init__(self, design: Design | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.undo_stack = QUndoStack(self)
        self.design = design or Design()
        self.path: Path | None = None
        self.analysis: Analysis = analyze(self.design)
        self._depth = 0

    # -- whole design ----------------------------------------------------------------------------
    def load(self, design: Design, path: Path | None) -> None:
        """Show another design; the undo history starts afresh."""
        self.undo_stack.clear()
        self.design = design
        self.path = path
        self.analysis = analyze(design)
        self.reset.emit()
        self.path_changed.emit()
        self.analyzed.emit()

    def set_path(self, path: Path) -> None:
        self.path = path
        self.path_changed.emit()

    @property
    def display_name(self) -> str:
        return self.path.name if self.path else self.design.name

    @property
    def modified(self) -> bool:
        return not self.undo_stack.isClean()

    def push(self, command: QUndoCommand) -> None:
        self.undo_stack.push(command)

    @contextmanager
    def editing(self) -> Iterator[None]:
        """Group edits: the analysis runs once, when the outermost group ends."""
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self.analysis = analyze(self.design)
                self.analyzed.emit()

    # -- primitive edits (called by commands, inside ``editing``) --------------------------------
    def insert_node(self, node: Node) -> None:
        """Add a new node, unconnected, at the end of the node order."""
        self.design.insert_node(node)
        self.node_added.emit(node.id)

    def restore(self, removed: Removed) -> None:
        """Put back a node taken out by :meth:`remove_node`, exactly where it was."""
        node = removed.node
        self.design.insert_node(node, removed.edges)
        if removed.position < len(self.design) - 1:
            self._move_in_order(node.id, removed.position)
        if removed.output_index is not None and self.design.output_order is not None:
            self.design.output_order.insert(removed.output_index, node.id)
        self.node_added.emit(node.id)
        for dst in {dst for _, dst, _ in removed.edges}:
            self.inputs_changed.emit(dst)
        if removed.groups is not None:
            self.set_groups(removed.groups)
        if removed.tied is not None:
            self.design.tied = dict(removed.tied)

    def remove_node(self, node_id: str) -> Removed:
        position = list(self.design.graph).index(node_id)
        outputs = self.design.output_order
        output_index = outputs.index(node_id) if outputs is not None and node_id in outputs else None
        groups = copy.deepcopy(self.design.groups) if self.design.group_of(node_id) is not None else None
        tied = dict(self.design.tied) if any(node_id in (t[0], o[0]) for t, o in self.design.tied.items()) else None
        node, edges = self.design.remove_node(node_id)
        self.node_removed.emit(node_id)
        for dst in {dst for _, dst, _ in edges if dst != node_id}:
            self.inputs_changed.emit(dst)
        if groups is not None:
            self.groups_changed.emit()
        return Removed(node, edges, position, output_index, groups, tied)

    def _move_in_order(self, node_id: str, position: int) -> None:
        """Rebuild the graph with ``node_id`` at ``position``, keeping every input order."""
        graph = self.design.graph
        order = [n for n in graph if n != node_id]
        order.insert(position, node_id)
        rebuilt = nx.DiGraph()
        rebuilt.add_nodes_from((n, graph.nodes[n]) for n in order)
        rebuilt.add_edges_from(self.design.edges)  # grouped by target, in input order
        self.design.graph = rebuilt

    def connect(self, src: str, dst: str, index: int | None = None) -> None:
        self.design.connect(src, dst, index)
        self.inputs_changed.emit(dst)

    def disconnect(self, src: str, dst: str) -> int:
        index = self.design.disconnect(src, dst)
        self.inputs_changed.emit(dst)
        return index

    def set_params(self, node_id: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Set several parameters; returns their previous values. All are validated first."""
        node = self.design.node(node_id)
        clean = node.layer_type.coerce_params({**node.params, **params})
        previous = {name: node.params[name] for name in params}
        node.params.update({name: clean[name] for name in params})
        self.node_changed.emit(node_id)
        return previous

    def set_frozen(self, node_id: str, frozen: bool) -> None:
        self.design.node(node_id).frozen = frozen
        self.node_changed.emit(node_id)

    def set_label(self, node_id: str, label: str | None) -> None:
        self.design.node(node_id).label = label or None
        self.node_changed.emit(node_id)

    def set_training(self, training: Mapping[str, Any]) -> None:
        """Replace the design's "training" object (the training form's edits)."""
        self.design.training = dict(training)
        self.training_changed.emit()

    def set_sweep(self, sweep: Mapping[str, Any] | None) -> None:
        self.design.sweep = None if sweep is None else copy.deepcopy(dict(sweep))
        self.sweep_changed.emit()

    def move(self, node_id: str, pos: tuple[float, float]) -> None:
        self.design.node(node_id).pos = pos
        self.node_moved.emit(node_id)

    def set_groups(self, groups: Mapping[str, Group]) -> None:
        """Replace every group (a copy is kept, so the caller's snapshot stays as it was)."""
        self.design.set_groups(copy.deepcopy(dict(groups)))
        self.groups_changed.emit()

    def set_output_order(self, order: list[str] | None) -> None:
        self.design.output_order = None if order is None else list(order)
