"""The scene mirrors the document: one NodeItem per node, one EdgeItem per edge, one GroupItem
per group. A node inside a collapsed group is hidden and its connections are drawn to the group's
card instead (the outermost collapsed group around it); a connection inside one card is hidden.

It never edits the design. User gestures that would (dragging a connection, finishing a move)
are reported as signals; the editor turns them into undoable commands, whose edits come back
through the document's signals and update the items here.

While a connection is dragged, the core says what dropping on the port under the mouse would do
(:func:`cnnstudio.core.connecting.plan_drop`). A port that may not take it (a cycle, a layer that
takes no input) turns red and a hint beside it says why; releasing there is refused with that
message instead of making an error afterwards. A drop that does more than connect says so beside
the port too: replacing an occupied single input's connection, going to the free input inside a
collapsed group, or a choice among several. The drop itself goes to the editor as that plan.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import QObject, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from cnnstudio.core import groups as grouping
from cnnstudio.core.connecting import Drop, plan_drop
from cnnstudio.core.display import format_shape
from cnnstudio.gui import theme
from cnnstudio.gui.canvas.edge_item import EdgeItem, curve
from cnnstudio.gui.canvas.group_item import GroupItem, footprint, group_card
from cnnstudio.gui.canvas.hint_item import HintItem
from cnnstudio.gui.canvas.node_item import NodeItem, severity_of
from cnnstudio.gui.canvas.port_item import PortItem
from cnnstudio.gui.document import Document
from cnnstudio.gui.settings import Settings

GRID = 20.0
Pos = tuple[float, float]


class DesignScene(QGraphicsScene):
    connection_dropped = Signal(object)  # the Drop: what releasing a dragged connection asks for
    nodes_moved = Signal(dict)  # node id -> (old position, new position)
    toggle_requested = Signal(str)  # open or close this group
    emptied = Signal(bool)  # the canvas became empty (True) or got its first card (False)

    def __init__(self, doc: Document, settings: Settings, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.settings = settings
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str], EdgeItem] = {}
        self.groups: dict[str, GroupItem] = {}
        self.marks: dict[str, tuple[str, ...]] = {}  # node id -> tags drawn on its card
        self._drag_port: PortItem | None = None
        self._drag_path: QGraphicsPathItem | None = None
        self._drop_port: PortItem | None = None
        self._drop: tuple[PortItem, Drop] | None = None  # the port under the drag, and what a drop there does
        self.hint = HintItem()
        self.drop_edge: EdgeItem | None = None  # the connection a dragged layer would be inserted into
        self._moving: dict[str, QPointF] | None = None
        self._moving_groups: dict[str, QPointF] = {}
        doc.reset.connect(self.rebuild)
        doc.node_added.connect(self._add_node)
        doc.node_removed.connect(self._remove_node)
        doc.node_moved.connect(self._move_node)
        doc.inputs_changed.connect(self._sync_inputs)
        doc.analyzed.connect(self.refresh)
        doc.groups_changed.connect(self.sync_groups)
        settings.channels_last_changed.connect(self.refresh)
        self.rebuild()
        self.refresh()

    # -- mirroring the document ------------------------------------------------------------------
    def rebuild(self) -> None:
        if self.hint.scene() is self:
            self.removeItem(self.hint)  # kept: clear() would delete it
        self.clear()
        self.setSceneRect(QRectF())  # a new design: the scroll area starts from its own extent
        self.nodes.clear()
        self.edges.clear()
        self.groups.clear()
        self.drop_edge = None
        self.addItem(self.hint)
        for node_id in self.doc.design.graph:  # every card first: a node's input may come later in the file
            self._add_item(node_id)
        for node_id in self.doc.design.graph:
            self._sync_inputs(node_id)
        self.emptied.emit(not self.nodes)

    def _add_node(self, node_id: str) -> None:
        self._add_item(node_id)
        self._sync_inputs(node_id)
        if len(self.nodes) == 1:
            self.emptied.emit(False)

    def _add_item(self, node_id: str) -> None:
        item = NodeItem(self.doc.design.node(node_id))
        self.nodes[node_id] = item
        self.addItem(item)
        item.set_marks(self.marks.get(node_id, ()))

    def set_marks(self, marks: dict[str, tuple[str, ...]]) -> None:
        """Tags on cards ("content", "style": the style transfer's layers); an empty dict clears them.
        They are annotations of the window, not of the design: nothing is saved or undone."""
        self.marks = {node_id: tags for node_id, tags in marks.items() if tags}
        for node_id, item in self.nodes.items():
            item.set_marks(self.marks.get(node_id, ()))

    def _remove_node(self, node_id: str) -> None:
        item = self.nodes.pop(node_id)
        for edge in list(item.edges):
            self._remove_edge(edge)
        self.removeItem(item)
        if not self.nodes:
            self.emptied.emit(True)

    def _remove_edge(self, edge: EdgeItem) -> None:
        if edge is self.drop_edge:
            self.drop_edge = None
        edge.detach()
        del self.edges[edge.key]
        self.removeItem(edge)

    def _move_node(self, node_id: str) -> None:
        pos = self.doc.design.node(node_id).pos
        if pos is not None:
            self.nodes[node_id].setPos(*pos)
        self.node_item_moved(node_id)

    def _sync_inputs(self, node_id: str) -> None:
        """Make the edges into ``node_id`` match the design, in input order."""
        target = self.nodes[node_id]
        inputs = self.doc.design.inputs_of(node_id)
        for edge in [e for e in target.edges if e.target is target and e.source.node_id not in inputs]:
            self._remove_edge(edge)
        for index, src in enumerate(inputs):
            edge = self.edges.get((src, node_id))
            if edge is None:
                edge = self.edges[(src, node_id)] = EdgeItem(self.nodes[src], target)
                self.addItem(edge)
            edge.set_slot(index, len(inputs))
        target.set_input_count(len(inputs))

    def refresh(self) -> None:
        """Show the latest analysis on every card and edge (each repaints only if it changed)."""
        design, analysis = self.doc.design, self.doc.analysis
        channels_last = self.settings.channels_last
        for node_id, item in self.nodes.items():
            item.show(design.node(node_id), analysis.nodes.get(node_id), channels_last)
        for (src, dst), edge in self.edges.items():
            source, target = analysis.nodes.get(src), analysis.nodes.get(dst)
            label = format_shape(source.shape, channels_last) if source and source.shape is not None else ""
            problems = [i.message for i in target.issues] if target else []
            edge.show(label, severity_of(target), "\n".join([f"{src} → {dst}: {label or 'unknown shape'}", *problems]))
        self.sync_groups()

    def nodes_rect(self) -> QRectF:
        """The cards, group frames and connections that are drawn: what Fit shows (layers hidden
        inside collapsed groups do not count)."""
        rect = QRectF()
        for item in (*self.nodes.values(), *self.edges.values(), *self.groups.values()):
            if item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
        return rect

    # -- groups ----------------------------------------------------------------------------------
    def sync_groups(self) -> None:
        """Make the group items, what is hidden inside collapsed groups, and where connections
        are drawn match the design's groups."""
        groups = self.doc.design.groups
        for group_id in [g for g in self.groups if g not in groups]:
            item = self.groups.pop(group_id)
            self.removeItem(item)
        index = grouping.node_index(groups)
        for node_id, item in self.nodes.items():
            item.setVisible(grouping.shown_as(groups, index.get(node_id)) is None)
        tree = grouping.tree(groups)
        for group_id in groups:
            item = self.groups.get(group_id)
            if item is None:
                item = self.groups[group_id] = GroupItem(group_id)
                self.addItem(item)
            item.set_card(group_card(self.doc.design, self.doc.analysis, group_id, tree, self.settings.channels_last))
            item.setVisible(not any(groups[g].collapsed for g in grouping.ancestors(groups, group_id)))
        self._place_groups(list(groups), tree)
        self._route(index)
        self.setSceneRect(self.sceneRect().united(self.nodes_rect().adjusted(-1500, -1000, 1500, 1000)))

    def _place_groups(self, group_ids: list[str], tree: grouping.Tree | None = None) -> None:
        design = self.doc.design
        tree = tree or grouping.tree(design.groups)

        def pos(node_id: str) -> tuple[float, float]:
            point = self.nodes[node_id].pos()
            return point.x(), point.y()

        dragged = self._dragged_groups()
        for group_id in group_ids:
            item = self.groups[group_id]
            if item.isVisible() and item not in dragged:
                item.place(footprint(design, group_id, pos, tree), len(grouping.ancestors(design.groups, group_id)))

    def _dragged_groups(self) -> list[GroupItem]:
        return [self.groups[g] for g in self._moving_groups if g in self.groups] if self._moving is not None else []

    def _route(self, index: dict[str, str]) -> None:
        """Draw each connection between what shows its two ends; hide those inside one card."""
        groups = self.doc.design.groups
        for item in self.groups.values():
            item.routed.clear()
        drawn: set[tuple[object, object]] = set()
        for (src, dst), edge in self.edges.items():
            ends = []
            for node_id in (src, dst):
                shown = grouping.shown_as(groups, index.get(node_id))
                ends.append(self.groups[shown] if shown is not None else self.nodes[node_id])
            source, target = ends
            pair = (source, target) if isinstance(source, GroupItem) or isinstance(target, GroupItem) else (src, dst)
            visible = source is not target and pair not in drawn
            drawn.add(pair)
            edge.route(source, target)
            edge.setVisible(visible)
            for end in ends:
                if isinstance(end, GroupItem):
                    end.routed.add(edge)

    def node_item_moved(self, node_id: str) -> None:
        """A card moved (dragged, or by an edit): the frames around it follow."""
        groups = self.doc.design.groups
        if not groups or node_id not in self.nodes:
            return
        group_id = self.doc.design.group_of(node_id)
        if group_id is not None and group_id in self.groups:
            self._place_groups([group_id, *grouping.ancestors(groups, group_id)])

    # -- selection -------------------------------------------------------------------------------
    def show_diff(self, marks: dict[str, tuple[str, str]]) -> None:
        """Mark nodes as added, removed or changed (node id -> (kind, how)); the rest unmarked."""
        for node_id, item in self.nodes.items():
            kind, how = marks.get(node_id, (None, ""))
            if item.diff != kind or kind:
                item.set_diff(kind, how)

    def selected_node_ids(self) -> list[str]:
        return [item.node_id for item in self.selectedItems() if isinstance(item, NodeItem)]

    def selected_edges(self) -> list[tuple[str, str]]:
        return [item.key for item in self.selectedItems() if isinstance(item, EdgeItem)]

    def selected_group_ids(self) -> list[str]:
        return [item.group_id for item in self.selectedItems() if isinstance(item, GroupItem)]

    def select_nodes(self, node_ids: list[str], group_ids: Iterable[str] = ()) -> None:
        """Select nodes (a node hidden in a collapsed group selects the group's card) and groups."""
        groups = self.doc.design.groups
        items = []
        for node_id in node_ids:
            if node_id in self.nodes:
                shown = grouping.shown_as(groups, self.doc.design.group_of(node_id)) if groups else None
                items.append(self.groups[shown] if shown is not None else self.nodes[node_id])
        items += [self.groups[g] for g in group_ids if g in self.groups]
        if set(items) == set(self.selectedItems()):
            return  # already so: no selection signals (the inspector keeps its panel)
        self.clearSelection()
        for item in items:
            item.setSelected(True)

    # -- moving ----------------------------------------------------------------------------------
    def snapping(self) -> bool:
        return self._moving is not None and self.settings.snap_to_grid

    @staticmethod
    def snapped(pos: QPointF) -> QPointF:
        return QPointF(round(pos.x() / GRID) * GRID, round(pos.y() / GRID) * GRID)

    # -- gestures --------------------------------------------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        port = self._port_at(event.scenePos())
        if port is not None and event.button() == Qt.MouseButton.LeftButton:
            self._start_connection(port)
            event.accept()
            return
        super().mousePressEvent(event)
        if event.button() == Qt.MouseButton.LeftButton:
            self._moving = {n: self.nodes[n].pos() for n in self.selected_node_ids()}
            self._moving_groups = {g: self.groups[g].pos() for g in self.selected_group_ids() if self.groups[g].collapsed}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag_port is None:
            super().mouseMoveEvent(event)
            return
        target = self._drop_port_at(event.scenePos())
        if target is not None and (target.kind == self._drag_port.kind or target.end == self._drag_port.end):
            target = None  # out to out, or a card's own ports: not a place to drop at all
        self._set_drop((target, self._plan(self._drag_port, target)) if target is not None else None)
        if self._drop is not None and not self._drop[1].options:
            target = None
        if target is not self._drop_port:
            if self._drop_port is not None:
                self._drop_port.set_hovered(False)
            if target is not None:
                target.set_hovered(True)
            self._drop_port = target
        self._update_connection(event.scenePos())

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag_port is not None:
            self._finish_connection()
            event.accept()
            return
        super().mouseReleaseEvent(event)
        moving, self._moving = self._moving, None
        moving_groups, self._moving_groups = self._moving_groups, {}
        if not moving and not moving_groups:
            return
        moves = {}
        for node_id, old in (moving or {}).items():
            item = self.nodes.get(node_id)
            if item is not None and item.pos() != old:
                moves[node_id] = ((old.x(), old.y()), (item.pos().x(), item.pos().y()))
        for group_id, old in moving_groups.items():  # a dragged card carries all its members
            item = self.groups.get(group_id)
            if item is None or item.pos() == old:
                continue
            delta = item.pos() - old
            for node_id in grouping.members(self.doc.design.groups, group_id):
                start = self.nodes[node_id].pos()
                moves[node_id] = ((start.x(), start.y()), (start.x() + delta.x(), start.y() + delta.y()))
        if moves:
            self.nodes_moved.emit(moves)

    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    def _drop_port_at(self, pos: QPointF) -> PortItem | None:
        """The port a dragged connection would end at: the one under the mouse, or, over a closed
        group's card, the card's port of the other kind (the whole card takes the drop)."""
        port = self._port_at(pos)
        if port is not None or self._drag_port is None:
            return port
        card = next((i for i in self.items(pos) if isinstance(i, GroupItem) and i.collapsed), None)
        if card is None:
            return None
        return card.input_port if self._drag_port.kind == "out" else card.output_port

    def _plan(self, start: PortItem, end: PortItem) -> Drop:
        src, dst = (start, end) if start.kind == "out" else (end, start)
        return plan_drop(self.doc.design, src.end, dst.end)

    def _set_drop(self, drop: tuple[PortItem, Drop] | None) -> None:
        """Say beside the port under the drag what dropping there does; a port that may not
        take the connection turns red."""
        if drop == self._drop:
            return
        if self._drop is not None:
            self._drop[0].set_refused(False)
        self._drop = drop
        port, plan = drop if drop is not None else (None, None)
        if port is None or plan is None or plan.hint is None:
            self.hint.hide()
            return
        port.set_refused(not plan.options)
        self.hint.show_at(port.scenePos() + QPointF(16, 14), plan.hint, refusal=not plan.options)
        self._keep_in_view(self.hint)

    def _keep_in_view(self, item: HintItem) -> None:
        """Move the hint left or up so all of it shows (a port at the right edge of the view)."""
        view = next(iter(self.views()), None)
        if view is None:
            return
        visible = view.mapToScene(view.viewport().rect()).boundingRect()
        scale = view.transform().m11()
        width, height = item.rect.width() / scale, item.rect.height() / scale
        x = max(min(item.x(), visible.right() - width - 8 / scale), visible.left())
        y = max(min(item.y(), visible.bottom() - height - 8 / scale), visible.top())
        item.setPos(x, y)

    def _start_connection(self, port: PortItem) -> None:
        self._drag_port = port
        self._drag_path = QGraphicsPathItem()
        pen = QPen(theme.colors().selection, 2.0, Qt.PenStyle.DashLine)
        self._drag_path.setPen(pen)
        self._drag_path.setZValue(3)
        self.addItem(self._drag_path)
        self._update_connection(port.scenePos())

    def _update_connection(self, pos: QPointF) -> None:
        assert self._drag_port is not None and self._drag_path is not None
        end = self._drop_port.scenePos() if self._drop_port is not None else pos
        start = self._drag_port.scenePos()
        path: QPainterPath = curve(start, end) if self._drag_port.kind == "out" else curve(end, start)
        self._drag_path.setPath(path)

    def _finish_connection(self) -> None:
        start, end = self._drag_port, self._drop_port
        drop = self._drop
        self._set_drop(None)
        if self._drag_path is not None:
            self.removeItem(self._drag_path)
        for port in (start, end):
            if port is not None:
                port.set_hovered(False)  # the drag held the mouse: no hover-leave came
        self._drag_port = self._drag_path = self._drop_port = None
        if drop is not None:
            self.connection_dropped.emit(drop[1])

    # -- dropping a layer on a connection --------------------------------------------------------
    def set_drop_edge(self, pos: QPointF | None) -> EdgeItem | None:
        """Highlight the connection under ``pos`` (a layer dragged from the palette), if any."""
        edge = next((i for i in self.items(pos) if isinstance(i, EdgeItem)), None) if pos is not None else None
        if edge is not self.drop_edge:
            if self.drop_edge is not None:
                self.drop_edge.set_drop_target(False)
            if edge is not None:
                edge.set_drop_target(True)
            self.drop_edge = edge
        return edge
