"""The scene mirrors the document: one NodeItem per node, one EdgeItem per edge.

It never edits the design. User gestures that would (dragging a connection, finishing a move)
are reported as signals; the editor turns them into undoable commands, whose edits come back
through the document's signals and update the items here.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QPointF, Qt, Signal
from PySide6.QtGui import QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent

from cnnstudio.core.display import format_shape
from cnnstudio.gui import theme
from cnnstudio.gui.canvas.edge_item import EdgeItem, curve
from cnnstudio.gui.canvas.node_item import NodeItem, severity_of
from cnnstudio.gui.canvas.port_item import PortItem
from cnnstudio.gui.document import Document
from cnnstudio.gui.settings import Settings

GRID = 20.0
Pos = tuple[float, float]


class DesignScene(QGraphicsScene):
    connect_requested = Signal(str, str)  # source, target
    nodes_moved = Signal(dict)  # node id -> (old position, new position)

    def __init__(self, doc: Document, settings: Settings, parent: QObject | None = None):
        super().__init__(parent)
        self.doc = doc
        self.settings = settings
        self.nodes: dict[str, NodeItem] = {}
        self.edges: dict[tuple[str, str], EdgeItem] = {}
        self._drag_port: PortItem | None = None
        self._drag_path: QGraphicsPathItem | None = None
        self._drop_port: PortItem | None = None
        self._moving: dict[str, QPointF] | None = None
        doc.reset.connect(self.rebuild)
        doc.node_added.connect(self._add_node)
        doc.node_removed.connect(self._remove_node)
        doc.node_moved.connect(self._move_node)
        doc.inputs_changed.connect(self._sync_inputs)
        doc.analyzed.connect(self.refresh)
        settings.channels_last_changed.connect(self.refresh)
        self.rebuild()
        self.refresh()

    # -- mirroring the document ------------------------------------------------------------------
    def rebuild(self) -> None:
        self.clear()
        self.nodes.clear()
        self.edges.clear()
        for node_id in self.doc.design.graph:  # every card first: a node's input may come later in the file
            self._add_item(node_id)
        for node_id in self.doc.design.graph:
            self._sync_inputs(node_id)

    def _add_node(self, node_id: str) -> None:
        self._add_item(node_id)
        self._sync_inputs(node_id)

    def _add_item(self, node_id: str) -> None:
        item = NodeItem(self.doc.design.node(node_id))
        self.nodes[node_id] = item
        self.addItem(item)

    def _remove_node(self, node_id: str) -> None:
        item = self.nodes.pop(node_id)
        for edge in list(item.edges):
            self._remove_edge(edge)
        self.removeItem(item)

    def _remove_edge(self, edge: EdgeItem) -> None:
        edge.detach()
        del self.edges[edge.key]
        self.removeItem(edge)

    def _move_node(self, node_id: str) -> None:
        pos = self.doc.design.node(node_id).pos
        if pos is not None:
            self.nodes[node_id].setPos(*pos)

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
        self.setSceneRect(self.itemsBoundingRect().adjusted(-1500, -1000, 1500, 1000))

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

    def select_nodes(self, node_ids: list[str]) -> None:
        self.clearSelection()
        for node_id in node_ids:
            if node_id in self.nodes:
                self.nodes[node_id].setSelected(True)

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

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._drag_port is None:
            super().mouseMoveEvent(event)
            return
        target = self._port_at(event.scenePos())
        if target is not None and not self._can_connect(self._drag_port, target):
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
        if not moving:
            return
        moves = {}
        for node_id, old in moving.items():
            item = self.nodes.get(node_id)
            if item is not None and item.pos() != old:
                moves[node_id] = ((old.x(), old.y()), (item.pos().x(), item.pos().y()))
        if moves:
            self.nodes_moved.emit(moves)

    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos):
            if isinstance(item, PortItem):
                return item
        return None

    @staticmethod
    def _can_connect(start: PortItem, end: PortItem) -> bool:
        return start.kind != end.kind and start.node_id != end.node_id

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
        if self._drag_path is not None:
            self.removeItem(self._drag_path)
        for port in (start, end):
            if port is not None:
                port.set_hovered(False)  # the drag held the mouse: no hover-leave came
        self._drag_port = self._drag_path = self._drop_port = None
        if start is not None and end is not None:
            src, dst = (start, end) if start.kind == "out" else (end, start)
            self.connect_requested.emit(src.node_id, dst.node_id)
