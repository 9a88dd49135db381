"""Turns gestures and menu actions into undoable commands on the document.

The canvas, palette and inspector say what the user did (dropped a layer, dragged a connection,
pressed Delete); the editor decides which command that is, where a new node goes and what gets
selected afterwards, so the widgets themselves stay free of editing rules.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPointF, Signal
from PySide6.QtGui import QGuiApplication

from cnnstudio.core import catalogue
from cnnstudio.core.catalogue import Fix
from cnnstudio.core.design import Design, Node
from cnnstudio.core.designfile import DesignFileError, dumps, loads
from cnnstudio.core.layout import layered_positions
from cnnstudio.gui.canvas.node_item import HEIGHT, WIDTH
from cnnstudio.gui.canvas.scene import DesignScene
from cnnstudio.gui.canvas.view import CanvasView
from cnnstudio.gui.commands import AddNodes, Connect, Delete, MoveNodes, SetFrozen, SetLabel, SetParams
from cnnstudio.gui.document import Document, Edge

PASTE_OFFSET = 40.0
NEXT_COLUMN = 240.0
NEXT_ROW = 100.0


class Editor(QObject):
    message = Signal(str)  # a short note for the status bar (why nothing happened)

    def __init__(self, doc: Document, scene: DesignScene, view: CanvasView):
        super().__init__(doc)
        self.doc, self.scene, self.view = doc, scene, view
        self._paste_count = 0
        scene.connect_requested.connect(self.connect)
        scene.nodes_moved.connect(self._moved)
        view.layer_dropped.connect(self.add_layer)
        view.nudged.connect(self.nudge)

    @property
    def design(self) -> Design:
        return self.doc.design

    # -- adding ----------------------------------------------------------------------------------
    def add_layer(self, type_name: str, center: QPointF) -> None:
        """Add a layer centred on ``center`` (a drop from the palette)."""
        pos = QPointF(center.x() - WIDTH / 2, center.y() - HEIGHT / 2)
        if self.scene.settings.snap_to_grid:
            pos = self.scene.snapped(pos)
        self._add(type_name, (pos.x(), pos.y()), after=None)

    def add_after_selection(self, type_name: str) -> None:
        """Add a layer right of the selected one and connect it (a double-click in the palette)."""
        selected = self.scene.selected_node_ids()
        after = selected[0] if len(selected) == 1 else None
        if after is not None:
            x, y = self.design.node(after).pos or (0.0, 0.0)
            pos = self._free_spot(x + NEXT_COLUMN, y)
        else:
            center = self.view.mapToScene(self.view.viewport().rect().center())
            pos = self._free_spot(center.x() - WIDTH / 2, center.y() - HEIGHT / 2)
        self._add(type_name, pos, after)

    def _add(self, type_name: str, pos: tuple[float, float], after: str | None) -> None:
        layer_type = catalogue.get(type_name)
        node = Node(self.design.new_id(type_name), type_name, layer_type.defaults(), pos)
        edges: list[Edge] = [(after, node.id, 0)] if after is not None and layer_type.max_inputs != 0 else []
        self.doc.push(AddNodes(self.doc, [node], edges, f"Add {type_name}"))
        self._select([node.id])

    def _free_spot(self, x: float, y: float) -> tuple[float, float]:
        """The first place at or below (x, y) where a new card does not cover another."""
        taken = [n.pos for n in self.design.nodes if n.pos is not None]
        while any(abs(px - x) < WIDTH and abs(py - y) < HEIGHT + 10 for px, py in taken):
            y += NEXT_ROW
        return x, y

    # -- connecting ------------------------------------------------------------------------------
    def connect(self, src: str, dst: str) -> None:
        if self.design.graph.has_edge(src, dst):
            self.message.emit(f"{src} is already connected to {dst}")
            return
        target = self.design.node(dst).layer_type
        inputs = self.design.inputs_of(dst)
        replace = inputs[0] if target.max_inputs == 1 and inputs else None
        self.doc.push(Connect(self.doc, src, dst, replace))

    # -- deleting, copying -----------------------------------------------------------------------
    def delete_selection(self) -> None:
        nodes, edges = self.scene.selected_node_ids(), self.scene.selected_edges()
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
        selected = set(self.scene.selected_node_ids())
        if not selected:
            return None
        part = self.design.copy()
        part.output_order = None
        for node_id in [n for n in part.graph if n not in selected]:
            part.remove_node(node_id)
        return dumps(part)

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
        self.doc.push(AddNodes(self.doc, nodes, edges, f"{verb} {count} layer{'s' if count > 1 else ''}"))
        self._select([n.id for n in nodes])

    def select_all(self) -> None:
        self._select(list(self.scene.nodes))

    # -- moving ----------------------------------------------------------------------------------
    def _moved(self, moves: dict[str, Any]) -> None:
        count = len(moves)
        what = next(iter(moves)) if count == 1 else f"{count} layers"
        self.doc.push(MoveNodes(self.doc, moves, f"Move {what}"))

    def nudge(self, dx: float, dy: float) -> None:
        moves = {}
        for node_id in self.scene.selected_node_ids():
            x, y = self.design.node(node_id).pos or (0.0, 0.0)
            moves[node_id] = ((x, y), (x + dx, y + dy))
        if moves:
            self.doc.push(MoveNodes(self.doc, moves, "Nudge", nudge=True))

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
    def set_param(self, node_id: str, name: str, value: Any) -> None:
        if self.design.node(node_id).params.get(name) != value:
            self.doc.push(SetParams(self.doc, node_id, {name: value}))

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
