"""Turns gestures and menu actions into undoable commands on the document.

The canvas, palette and inspector say what the user did (dropped a layer, dragged a connection,
pressed Delete); the editor decides which command that is, where a new node goes and what gets
selected afterwards, so the widgets themselves stay free of editing rules.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QCursor, QGuiApplication
from PySide6.QtWidgets import QMenu

from cnnstudio.core import catalogue
from cnnstudio.core import groups as grouping
from cnnstudio.core.catalogue import Fix
from cnnstudio.core.connecting import Connection, Drop
from cnnstudio.core.design import Design, Node
from cnnstudio.core.designfile import DesignFileError, dumps, loads
from cnnstudio.core.layout import layered_positions
from cnnstudio.gui.canvas.node_item import HEIGHT, WIDTH
from cnnstudio.gui.canvas.scene import DesignScene
from cnnstudio.gui.canvas.view import CanvasView
from cnnstudio.gui.commands import (
    AddNodes,
    Connect,
    Delete,
    EditGroups,
    InsertNode,
    MoveNodes,
    SetFrozen,
    SetLabel,
    SetParams,
)
from cnnstudio.gui.document import Document, Edge
from cnnstudio.gui.group_editor import GroupEditor

PASTE_OFFSET = 40.0
NEXT_COLUMN = 240.0
NEXT_ROW = 120.0
GAP = 20.0  # the least free space kept around a new card
SEARCH_STEP = 20.0  # the free-place search walks rings of this step around the wanted place
SEARCH_RINGS = 30


class Editor(QObject):
    message = Signal(str)  # a short note for the status bar (why nothing happened)

    def __init__(self, doc: Document, scene: DesignScene, view: CanvasView):
        super().__init__(doc)
        self.doc, self.scene, self.view = doc, scene, view
        self._paste_count = 0
        self.choice_menu: QMenu | None = None  # open while the user picks which connection a drop makes
        scene.connection_dropped.connect(self.drop_connection)
        scene.nodes_moved.connect(self._moved)
        self.groups = GroupEditor(self)
        view.layer_dropped.connect(self.add_layer)
        view.layer_dropped_on_edge.connect(self.insert_on_edge)
        view.nudged.connect(self.nudge)

    @property
    def design(self) -> Design:
        return self.doc.design

    # -- adding ----------------------------------------------------------------------------------
    def add_layer(self, type_name: str, center: QPointF) -> None:
        """Add a layer centred on ``center`` (a drop from the palette), or beside it if cards are there."""
        self._add(type_name, self._drop_spot(center), after=None)

    def insert_on_edge(self, type_name: str, src: str, dst: str, center: QPointF) -> None:
        """Put a layer dropped on the connection ``src`` → ``dst`` into it."""
        layer_type = catalogue.get(type_name)
        if layer_type.max_inputs == 0:
            self.message.emit(f"An {type_name} takes no input, so it cannot go into a connection")
            self.add_layer(type_name, center)
            return
        node = Node(self.design.new_id(type_name), type_name, layer_type.defaults(), self._drop_spot(center))
        self.doc.push(InsertNode(self.doc, node, src, dst))
        self._select([node.id])

    def add_after_selection(self, type_name: str) -> None:
        """Add a layer right of the selected one and connect it (a double-click in the palette)."""
        selected = self.scene.selected_node_ids()
        after = selected[0] if len(selected) == 1 else None
        if after is not None:
            x, y = self.design.node(after).pos or (0.0, 0.0)
            pos = self.free_spot(x + NEXT_COLUMN, y, beside=True)
        else:
            center = self.view.mapToScene(self.view.viewport().rect().center())
            pos = self.free_spot(center.x() - WIDTH / 2, center.y() - HEIGHT / 2)
        self._add(type_name, pos, after)

    def _drop_spot(self, center: QPointF) -> tuple[float, float]:
        pos = QPointF(center.x() - WIDTH / 2, center.y() - HEIGHT / 2)
        if self.scene.settings.snap_to_grid:
            pos = self.scene.snapped(pos)
        return self.free_spot(pos.x(), pos.y())

    def _add(self, type_name: str, pos: tuple[float, float], after: str | None) -> None:
        layer_type = catalogue.get(type_name)
        node = Node(self.design.new_id(type_name), type_name, layer_type.defaults(), pos)
        edges: list[Edge] = [(after, node.id, 0)] if after is not None and layer_type.max_inputs != 0 else []
        self.doc.push(AddNodes(self.doc, [node], edges, f"Add {type_name}"))
        self._select([node.id])

    def free_spot(self, x: float, y: float, beside: bool = False) -> tuple[float, float]:
        """The free place nearest (x, y) where a new card covers no other (with a gap).

        ``beside`` a neighbour (x is the column right of it), the first choices stay in that
        column, below then above, so a chain grows to the right and a branch stacks beside it.
        """
        near = [p for p in (n.pos for n in self.design.nodes) if p is not None
                and abs(p[0] - x) < (SEARCH_RINGS + 2) * SEARCH_STEP + WIDTH
                and abs(p[1] - y) < (SEARCH_RINGS + 2) * SEARCH_STEP + HEIGHT]

        def free(px: float, py: float) -> bool:
            return all(abs(qx - px) >= WIDTH + GAP or abs(qy - py) >= HEIGHT + GAP for qx, qy in near)

        if beside:
            for dy in [0.0, *(k * sign * NEXT_ROW for k in range(1, 8) for sign in (1, -1))]:
                if free(x, y + dy):
                    return x, y + dy
        for ring in range(SEARCH_RINGS + 1):
            spots = [(x + dx * SEARCH_STEP, y + dy * SEARCH_STEP)
                     for dx in range(-ring, ring + 1) for dy in range(-ring, ring + 1)
                     if max(abs(dx), abs(dy)) == ring]
            spots.sort(key=lambda p: (p[0] - x) ** 2 + (p[1] - y) ** 2)
            for spot in spots:
                if free(*spot):
                    return spot
        return x, y + (SEARCH_RINGS + 1) * SEARCH_STEP + HEIGHT

    # -- connecting ------------------------------------------------------------------------------
    def drop_connection(self, drop: Drop) -> None:
        """Make what a dropped connection asks for (the core planned it): the one connection, or
        a menu of the candidates (a closed group's inputs); a refusal only says why."""
        if not drop.options:
            self.message.emit(drop.problem or "")
        elif len(drop.options) == 1:
            self.connect(drop.options[0])
        else:
            self._choose(drop)

    def connect(self, connection: Connection) -> None:
        self.doc.push(Connect(self.doc, connection))
        self.message.emit(connection.done())

    def _choose(self, drop: Drop) -> None:
        menu = QMenu(self.view)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        header = menu.addAction(f"Connect inside {drop.through}:" if drop.through else "Connect:")
        header.setEnabled(False)
        for option in drop.options:
            text = option.arrow if option.replaces is None else f"{option.arrow} (replaces {option.replaces})"
            menu.addAction(text).triggered.connect(lambda _=False, o=option: self.connect(o))
        menu.aboutToHide.connect(lambda: setattr(self, "choice_menu", None))
        self.choice_menu = menu
        self.message.emit(f"Choose the connection to make: {', '.join(o.arrow for o in drop.options)}")
        menu.popup(QCursor.pos())

    # -- deleting, copying -----------------------------------------------------------------------
    def delete_selection(self) -> None:
        nodes, edges = self._selected_layers(), self.scene.selected_edges()
        if not nodes and not edges:
            return
        count = len(nodes) + len([e for e in edges if e[0] not in nodes and e[1] not in nodes])
        what = nodes[0] if len(nodes) == 1 and not edges else f"{count} items"
        self.doc.push(Delete(self.doc, nodes, edges, f"Delete {what}"))

    def copy(self) -> None:
        text = self._selection_text()
        if text is None:
            return
        # Plain text (the layers as a design file) pastes here, in another studio, or in an
        # editor. A QMimeData built in Python would crash PySide at exit once Qt owns it.
        QGuiApplication.clipboard().setText(text)
        self._paste_count = 0

    def cut(self) -> None:
        self.copy()
        self.delete_selection()

    def paste(self) -> None:
        self._paste_count += 1
        self._paste_text(QGuiApplication.clipboard().text(), PASTE_OFFSET * self._paste_count, "Paste")

    def duplicate(self) -> None:
        text = self._selection_text()
        if text is not None:
            self._paste_text(text, PASTE_OFFSET, "Duplicate")

    def _selection_text(self) -> str | None:
        """The selected layers (a selected group's included) as a design; the groups that are
        wholly selected come along."""
        selected = set(self._selected_layers())
        if not selected:
            return None
        part = self.design.copy()
        part.output_order = None
        for group_id in list(part.groups):
            if not set(grouping.members(self.design.groups, group_id)) <= selected:
                part.remove_group(group_id)  # only partly copied: its copied layers stay, ungrouped
        for node_id in [n for n in part.graph if n not in selected]:
            part.remove_node(node_id)
        return dumps(part)

    def _selected_layers(self) -> list[str]:
        """The selected layers, and the layers of the selected groups."""
        node_ids = self.scene.selected_node_ids()
        for group_id in self.scene.selected_group_ids():
            node_ids += [n for n in grouping.members(self.design.groups, group_id) if n not in node_ids]
        return node_ids

    def _paste_text(self, text: str, offset: float, verb: str) -> None:
        try:
            part = loads(text, source="the clipboard")
        except DesignFileError:
            self.message.emit("The clipboard holds no layers to paste")
            return
        taken = Design()
        taken.graph.add_nodes_from(self.design.graph)
        renamed: dict[str, str] = {}
        nodes = []
        for node in part.nodes:
            x, y = node.pos or (0.0, 0.0)
            fresh = taken.add_node(node.type, node.params, pos=(x + offset, y + offset), frozen=node.frozen, label=node.label)
            renamed[node.id] = fresh.id
            nodes.append(fresh)
        edges = [(renamed[src], renamed[dst], i) for dst in part.graph for i, src in enumerate(part.inputs_of(dst))]
        count = len(nodes)
        text = f"{verb} {count} layer{'s' if count > 1 else ''}"
        if not part.groups:
            self.doc.push(AddNodes(self.doc, nodes, edges, text))
            self._select([n.id for n in nodes])
            return
        stack = self.doc.undo_stack
        stack.beginMacro(text)  # the layers, then their groups: one undo step
        self.doc.push(AddNodes(self.doc, nodes, edges, text))
        groups = self.groups.pasted(part.groups, renamed)
        self.doc.push(EditGroups(self.doc, {**self.design.groups, **groups}, text))
        stack.endMacro()
        ungrouped = {renamed[n] for n in part.graph if part.group_of(n) is None}
        top = [g for g, group in groups.items() if group.parent is None]
        self.scene.select_nodes([n.id for n in nodes if n.id in ungrouped], top)

    def select_all(self) -> None:
        self._select(list(self.scene.nodes))

    # -- moving ----------------------------------------------------------------------------------
    def _moved(self, moves: dict[str, Any]) -> None:
        count = len(moves)
        what = next(iter(moves)) if count == 1 else f"{count} layers"
        self.doc.push(MoveNodes(self.doc, moves, f"Move {what}"))

    def nudge(self, dx: float, dy: float) -> None:
        moves = {}
        for node_id in self._selected_layers():  # a selected group moves with all its layers
            x, y = self.design.node(node_id).pos or (0.0, 0.0)
            moves[node_id] = ((x, y), (x + dx, y + dy))
        if moves:
            self.doc.push(MoveNodes(self.doc, moves, "Nudge", nudge=True))

    def align(self, edge: str) -> None:
        """Line the selected layers up on the ``edge`` ("left", "right", "top", "bottom",
        "middle": one row, "center": one column) of the selection, as diagram editors do."""
        positions = self._selected_positions()
        if len(positions) < 2:
            self.message.emit("Select two or more layers to align")
            return
        xs, ys = [p[0] for p in positions.values()], [p[1] for p in positions.values()]
        target = {"left": min(xs), "right": max(xs), "center": (min(xs) + max(xs)) / 2,
                  "top": min(ys), "bottom": max(ys), "middle": (min(ys) + max(ys)) / 2}[edge]
        horizontal = edge in ("left", "right", "center")
        self._move_to({n: (target, y) if horizontal else (x, target) for n, (x, y) in positions.items()}, f"Align {edge}")

    def distribute(self, horizontal: bool) -> None:
        """Space the selected layers evenly between the two outermost ones."""
        positions = self._selected_positions()
        if len(positions) < 3:
            self.message.emit("Select three or more layers to distribute")
            return
        axis = 0 if horizontal else 1
        order = sorted(positions, key=lambda n: positions[n][axis])
        first, last = positions[order[0]][axis], positions[order[-1]][axis]
        step = (last - first) / (len(order) - 1)
        moved = {}
        for i, node_id in enumerate(order):
            x, y = positions[node_id]
            moved[node_id] = (first + i * step, y) if horizontal else (x, first + i * step)
        self._move_to(moved, f"Distribute {'horizontally' if horizontal else 'vertically'}")

    def _selected_positions(self) -> dict[str, tuple[float, float]]:
        return {n: self.design.node(n).pos or (0.0, 0.0) for n in self.scene.selected_node_ids()}

    def _move_to(self, targets: dict[str, tuple[float, float]], text: str) -> None:
        moves = {n: (self.design.node(n).pos or new, new) for n, new in targets.items() if self.design.node(n).pos != new}
        if moves:
            self.doc.push(MoveNodes(self.doc, moves, text))

    def auto_layout(self) -> None:
        positions = layered_positions(self.design)
        moves = {
            node_id: (self.design.node(node_id).pos or new, new)
            for node_id, new in positions.items()
            if self.design.node(node_id).pos != new
        }
        if moves:
            self.doc.push(MoveNodes(self.doc, moves, "Auto-layout"))
        self.view.fit()

    # -- node properties (from the inspector) ----------------------------------------------------
    def set_param(self, node_id: str, name: str, value: Any, mergeable: bool = True) -> None:
        """``mergeable``: whether it may merge with the previous edit of the parameter (a spin box's
        steps do; a typed value is a step of its own)."""
        if self.design.node(node_id).params.get(name) != value:
            self.doc.push(SetParams(self.doc, node_id, {name: value}, mergeable=mergeable))

    def apply_fix(self, fix: Fix) -> None:
        self.doc.push(SetParams(self.doc, fix.node, fix.params, f"Fix {fix.node}: {fix.label}", mergeable=False))

    def set_frozen(self, node_id: str, frozen: bool) -> None:
        if self.design.node(node_id).frozen != frozen:
            self.doc.push(SetFrozen(self.doc, node_id, frozen))

    def set_label(self, node_id: str, label: str) -> None:
        if (self.design.node(node_id).label or "") != label.strip():
            self.doc.push(SetLabel(self.doc, node_id, label.strip()))

    def _select(self, node_ids: list[str]) -> None:
        self.scene.select_nodes(node_ids)
        if node_ids and node_ids[0] in self.scene.nodes:
            self.view.ensureVisible(self.scene.nodes[node_ids[0]], 60, 60)
