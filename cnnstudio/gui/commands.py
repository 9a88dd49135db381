"""Every edit of the design as an undoable command.

Each command records just enough to put the design back exactly, including the input order of
merge nodes (``Design.remove_node`` returns edges with their input index). Redo and undo run inside
``Document.editing`` so a command re-validates the design once, however many nodes it touches.
Consecutive edits of the same parameter, and consecutive arrow-key nudges, merge into one step
when they follow each other within :data:`MERGE_WINDOW` seconds.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterable, Mapping
from typing import Any

from PySide6.QtGui import QUndoCommand

from cnnstudio.core.connecting import Connection
from cnnstudio.core.design import Node
from cnnstudio.core.groups import Group
from cnnstudio.core.repeat import RepeatPlan
from cnnstudio.gui.document import Document, Edge, Removed

MERGE_WINDOW = 2.0
Pos = tuple[float, float]

_SET_PARAM_ID = 1
_NUDGE_ID = 2


class AddNodes(QUndoCommand):
    """Add nodes and the edges that attach them (palette drop, paste, duplicate, add-after)."""

    def __init__(self, doc: Document, nodes: Iterable[Node], edges: Iterable[Edge], text: str):
        super().__init__(text)
        self.doc = doc
        self.nodes = list(nodes)
        self.edges = list(edges)

    def redo(self) -> None:
        with self.doc.editing():
            for node in self.nodes:
                self.doc.insert_node(node)
            for src, dst, index in self.edges:
                self.doc.connect(src, dst, index)

    def undo(self) -> None:
        with self.doc.editing():
            for node in reversed(self.nodes):
                self.doc.remove_node(node.id)


class Delete(QUndoCommand):
    """Delete nodes (with their edges) and edges; undo restores every input at its index."""

    def __init__(self, doc: Document, node_ids: Iterable[str], edges: Iterable[tuple[str, str]], text: str):
        super().__init__(text)
        self.doc = doc
        self.node_ids = list(node_ids)
        self.edges = [e for e in edges if e[0] not in self.node_ids and e[1] not in self.node_ids]
        self.removed_edges: list[Edge] = []
        self.removed_nodes: list[Removed] = []

    def redo(self) -> None:
        with self.doc.editing():
            self.removed_edges = [(src, dst, self.doc.disconnect(src, dst)) for src, dst in self.edges]
            self.removed_nodes = [self.doc.remove_node(node_id) for node_id in self.node_ids]

    def undo(self) -> None:
        with self.doc.editing():
            for removed in reversed(self.removed_nodes):
                self.doc.restore(removed)
            for src, dst, index in reversed(self.removed_edges):
                self.doc.connect(src, dst, index)


class Connect(QUndoCommand):
    """Make a connection the editor has planned (see core/connecting.py). One that replaces an
    input takes the old connection's place in dst's inputs; undo puts the old one back there."""

    def __init__(self, doc: Document, connection: Connection):
        old = connection.replaces
        super().__init__(f"Connect {connection.arrow}" if old is None
                         else f"Replace {old} → {connection.dst} by {connection.arrow}")
        self.doc = doc
        self.connection = connection
        self.index: int | None = None

    def redo(self) -> None:
        src, dst, old = self.connection.src, self.connection.dst, self.connection.replaces
        with self.doc.editing():
            if old is not None:
                self.index = self.doc.disconnect(old, dst)
            self.doc.connect(src, dst, self.index)

    def undo(self) -> None:
        src, dst, old = self.connection.src, self.connection.dst, self.connection.replaces
        with self.doc.editing():
            self.doc.disconnect(src, dst)
            if old is not None:
                self.doc.connect(old, dst, self.index)


class InsertNode(QUndoCommand):
    """Put a new node into the connection ``src`` → ``dst``: src → node → dst, at dst's same input."""

    def __init__(self, doc: Document, node: Node, src: str, dst: str):
        super().__init__(f"Insert {node.type} between {src} and {dst}")
        self.doc, self.node, self.src, self.dst = doc, node, src, dst
        self.index = 0

    def redo(self) -> None:
        with self.doc.editing():
            self.doc.insert_node(self.node)
            self.index = self.doc.disconnect(self.src, self.dst)
            self.doc.connect(self.src, self.node.id)
            self.doc.connect(self.node.id, self.dst, self.index)

    def undo(self) -> None:
        with self.doc.editing():
            self.doc.remove_node(self.node.id)
            self.doc.connect(self.src, self.dst, self.index)


class MoveNodes(QUndoCommand):
    """Move nodes (a drag, a nudge or an auto-layout). Nudges merge; drags and layouts do not."""

    def __init__(self, doc: Document, moves: Mapping[str, tuple[Pos, Pos]], text: str, nudge: bool = False):
        super().__init__(text)
        self.doc = doc
        self.moves = dict(moves)
        self.nudge = nudge
        self.stamp = time.monotonic()

    def id(self) -> int:
        return _NUDGE_ID if self.nudge else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not isinstance(other, MoveNodes) or other.moves.keys() != self.moves.keys():
            return False
        if other.stamp - self.stamp > MERGE_WINDOW:
            return False
        self.moves = {n: (self.moves[n][0], other.moves[n][1]) for n in self.moves}
        self.stamp = other.stamp
        return True

    # Positions change no shape, so a move is not re-analysed (that would also drop the trained
    # model the views show); node_moved is enough for the canvas.
    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.doc.move(node_id, new)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.doc.move(node_id, old)


class SetParams(QUndoCommand):
    """Change parameters of one node. Repeated edits of one parameter merge (a spin box's steps)."""

    def __init__(self, doc: Document, node_id: str, params: Mapping[str, Any], text: str = "", mergeable: bool = True):
        names = ", ".join(params)
        super().__init__(text or f"Set {node_id}.{names}")
        self.doc = doc
        self.node_id = node_id
        self.new = dict(params)
        self.old = {name: doc.design.node(node_id).params[name] for name in params}
        self.mergeable = mergeable
        self.stamp = time.monotonic()

    def id(self) -> int:
        return _SET_PARAM_ID if self.mergeable else -1

    def mergeWith(self, other: QUndoCommand) -> bool:
        if not (
            isinstance(other, SetParams)
            and other.mergeable
            and other.node_id == self.node_id
            and other.new.keys() == self.new.keys()
            and other.stamp - self.stamp <= MERGE_WINDOW
        ):
            return False
        self.new = other.new
        self.stamp = other.stamp
        self.setObsolete(self.new == self.old)
        return True

    def redo(self) -> None:
        with self.doc.editing():
            self.doc.set_params(self.node_id, self.new)

    def undo(self) -> None:
        with self.doc.editing():
            self.doc.set_params(self.node_id, self.old)


class SetFrozen(QUndoCommand):
    def __init__(self, doc: Document, node_id: str, frozen: bool):
        super().__init__(f"{'Freeze' if frozen else 'Unfreeze'} {node_id}")
        self.doc, self.node_id, self.frozen = doc, node_id, frozen

    def redo(self) -> None:
        with self.doc.editing():
            self.doc.set_frozen(self.node_id, self.frozen)

    def undo(self) -> None:
        with self.doc.editing():
            self.doc.set_frozen(self.node_id, not self.frozen)


class SetLabel(QUndoCommand):
    def __init__(self, doc: Document, node_id: str, label: str | None):
        super().__init__(f"Rename {node_id}")
        self.doc, self.node_id = doc, node_id
        self.new, self.old = label or None, doc.design.node(node_id).label

    def redo(self) -> None:
        with self.doc.editing():
            self.doc.set_label(self.node_id, self.new)

    def undo(self) -> None:
        with self.doc.editing():
            self.doc.set_label(self.node_id, self.old)


class EditGroups(QUndoCommand):
    """Group, ungroup, rename, open or close groups: the groups before and after, plus the moves
    that make room for a group opening in place (or take it back when it closes).

    Groups change nothing computed, so like a move this is not re-analysed.
    """

    def __init__(self, doc: Document, groups: Mapping[str, Group], text: str,
                 moves: Mapping[str, tuple[Pos, Pos]] | None = None):
        super().__init__(text)
        self.doc = doc
        self.before = copy.deepcopy(doc.design.groups)
        self.after = copy.deepcopy(dict(groups))
        self.moves = dict(moves or {})

    def redo(self) -> None:
        for node_id, (_, new) in self.moves.items():
            self.doc.move(node_id, new)
        self.doc.set_groups(self.after)

    def undo(self) -> None:
        for node_id, (old, _) in self.moves.items():
            self.doc.move(node_id, old)
        self.doc.set_groups(self.before)


class RepeatGroup(QUndoCommand):
    """Repeat a group N times in a chain (``core/repeat.py`` plans it), as one step."""

    def __init__(self, doc: Document, plan: RepeatPlan, text: str):
        super().__init__(text)
        self.doc = doc
        self.plan = plan
        self.groups_before = copy.deepcopy(doc.design.groups)
        self.outputs_before = None if doc.design.output_order is None else list(doc.design.output_order)

    def redo(self) -> None:
        plan = self.plan
        with self.doc.editing():
            for node_id, (_, new) in plan.moves.items():
                self.doc.move(node_id, new)
            for node in plan.nodes:
                self.doc.insert_node(copy.deepcopy(node))
            for src, dst, index in plan.edges:
                self.doc.connect(src, dst, index)
            for old, new, dst, index in plan.rewired:
                self.doc.disconnect(old, dst)
                self.doc.connect(new, dst, index)
            self.doc.set_output_order(plan.outputs)
            self.doc.set_groups(plan.groups)

    def undo(self) -> None:
        plan = self.plan
        with self.doc.editing():
            self.doc.set_groups(self.groups_before)
            self.doc.set_output_order(self.outputs_before)
            for old, new, dst, index in reversed(plan.rewired):
                self.doc.disconnect(new, dst)
                self.doc.connect(old, dst, index)
            for node in reversed(plan.nodes):
                self.doc.remove_node(node.id)
            for node_id, (old, _) in plan.moves.items():
                self.doc.move(node_id, old)
