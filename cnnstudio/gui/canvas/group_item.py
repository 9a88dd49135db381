"""A group on the canvas: one card when collapsed, a labelled frame around its members when open.

The collapsed card shows the group's name, the shapes flowing in and out, its parameter count and
the worst problem of its members, and the connections of its members are drawn to it. Its ports
take new connections as a layer's do (the core decides which member they go to). The open
frame wraps the cards of its members (and the cards or frames of its child groups). The ``▸``/``▾``
toggle, or a double-click, asks the scene to open or close it; the item never edits the design.

Where a group goes is derived from its members' positions (the design file stores none): a card
sits on its first member (:func:`~cnnstudio.core.groups.card_position`), a frame around them.
:func:`card_rect` and :func:`frame_rect` work that out from any positions (the items' while
dragging, the design's for an edit).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsSceneMouseEvent,
    QStyleOptionGraphicsItem,
    QWidget,
)

from cnnstudio.core import groups as grouping
from cnnstudio.core.analysis import Analysis
from cnnstudio.core.connecting import End
from cnnstudio.core.design import Design
from cnnstudio.core.display import format_count, format_shapes
from cnnstudio.core.layout import FRAME_HEADER, FRAME_PAD
from cnnstudio.gui import theme
from cnnstudio.gui.canvas.node_item import ACCENT, HEIGHT, RADIUS, WIDTH, NodeItem, fonts, paint_accent, text_column
from cnnstudio.gui.canvas.port_item import PortItem
from cnnstudio.gui.describe import plural

if TYPE_CHECKING:
    from cnnstudio.gui.canvas.edge_item import EdgeItem

Pos = tuple[float, float]
PositionOf = Callable[[str], Pos]
STACK = 4.0  # the offset of the card drawn behind a collapsed group, so it reads as several
TOGGLE = 16.0


# -- geometry ------------------------------------------------------------------------------------


def design_positions(design: Design) -> PositionOf:
    return lambda node_id: design.node(node_id).pos or (0.0, 0.0)


def card_rect(design: Design, group_id: str, pos: PositionOf, tree: grouping.Tree | None = None) -> QRectF:
    """Where the group's card goes: on its first member, topmost then leftmost, of all its members."""
    inside = (tree or grouping.tree(design.groups)).members[group_id]
    return QRectF(*grouping.card_position(pos(n) for n in inside), WIDTH, HEIGHT)


def frame_rect(design: Design, group_id: str, pos: PositionOf, tree: grouping.Tree | None = None) -> QRectF:
    """The frame of the group when open: around its members' cards and its child groups."""
    tree = tree or grouping.tree(design.groups)
    rect = QRectF()
    for node_id in design.groups[group_id].nodes:
        rect = rect.united(QRectF(*pos(node_id), WIDTH, HEIGHT))
    for child in tree.children.get(group_id, []):
        rect = rect.united(footprint(design, child, pos, tree))
    if rect.isNull():
        rect = card_rect(design, group_id, pos, tree)
    return rect.adjusted(-FRAME_PAD, -FRAME_HEADER, FRAME_PAD, FRAME_PAD)


def footprint(design: Design, group_id: str, pos: PositionOf, tree: grouping.Tree | None = None) -> QRectF:
    """The room the group takes as it is drawn now."""
    return (card_rect if design.groups[group_id].collapsed else frame_rect)(design, group_id, pos, tree)


def room_moves(design: Design, group_id: str, opening: bool) -> dict[str, tuple[Pos, Pos]]:
    """The moves that open a group in place (``opening``), or close it again: the layers right of
    its card, on its row, move right by the frame's extra width; the layers below its row (the
    next row of a folded chain, a branch underneath) move down by the frame's extra height. Closing
    lifts them back only where nothing outside the group sits beside its lower rows."""
    pos = design_positions(design)
    card, frame = card_rect(design, group_id, pos), frame_rect(design, group_id, pos)
    wider, taller = max(frame.right() - card.right(), 0.0), max(frame.bottom() - card.bottom(), 0.0)
    if not (wider or taller):
        return {}
    sign = 1 if opening else -1
    # Closing moves back exactly what opening moved: what lay right of the card's left edge on its
    # row, and what lay below its row (moved down, so still below it).
    # A layer inside another closed group goes where that group's card is: a card moves whole.
    edge = card.left() if opening else card.left() + wider
    inside = set(grouping.members(design.groups, group_id))
    tree, index = grouping.tree(design.groups), grouping.node_index(design.groups)
    cards: dict[str, Pos] = {}
    shown_at: dict[str, tuple[Pos, Pos]] = {}  # a layer outside the group: its position, where it shows
    for node in design.nodes:
        if node.pos is None or node.id in inside:
            continue
        shown = grouping.shown_as(design.groups, index.get(node.id))
        if shown is not None and shown not in cards:
            rect = card_rect(design, shown, pos, tree)
            cards[shown] = (rect.left(), rect.top())
        shown_at[node.id] = node.pos, node.pos if shown is None else cards[shown]
    # A group made in place over two rows of a folded chain shares its lower rows with other
    # layers that opening never moved down: closing it must not lift the rows below onto them.
    if not opening and any(card.bottom() <= y < frame.bottom() for _, (_, y) in shown_at.values()):
        taller = 0.0
    moves = {}
    for node_id, (node_pos, (x, y)) in shown_at.items():
        if y >= card.bottom():
            moves[node_id] = (node_pos, (node_pos[0], node_pos[1] + sign * taller))
        elif x > edge and y > frame.top() - HEIGHT:
            moves[node_id] = (node_pos, (node_pos[0] + sign * wider, node_pos[1]))
    return {node_id: move for node_id, move in moves.items() if move[0] != move[1]}


# -- the item ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCard:
    """What a group shows; comparing two tells whether a repaint is needed."""

    name: str
    collapsed: bool
    size: str  # short: "3 groups" or "10 layers"
    counts: str  # in full: "32 layers · 3 groups"
    shape_in: str
    shape_out: str
    params: str
    severity: str | None
    tooltip: str


def group_card(design: Design, analysis: Analysis, group_id: str, tree: grouping.Tree, channels_last: bool) -> GroupCard:
    """What the group's card or frame shows, from the latest analysis."""
    group = design.groups[group_id]
    summary = grouping.summarize(design, analysis, group_id, tree.members[group_id])
    children = len(tree.children.get(group_id, []))
    layers = plural(summary.layers, "layer")
    size = plural(children, "group") if children else layers
    counts = f"{layers} · {plural(children, 'group')}" if children else layers
    errors = [i for i in summary.issues if i.severity == "error"]
    severity = "error" if errors else "warning" if summary.issues else None
    problems = [f"{'Error' if i.severity == 'error' else 'Warning'} in {i.node}: {i.message}" for i in summary.issues]
    shape_in = format_shapes(summary.input_shapes, channels_last)
    shape_out = format_shapes(summary.output_shapes, channels_last)
    params = f"{format_count(summary.params)} parameters" if summary.params else "no parameters"
    hint = "double-click to open" if group.collapsed else "double-click the title to close"
    tooltip = "\n".join([f"{group.name} · {counts} ({hint})", f"In {shape_in}", f"Out {shape_out}", params, *problems])
    return GroupCard(group.name, group.collapsed, size, counts, shape_in, shape_out, params, severity, tooltip)


class GroupItem(QGraphicsObject):
    def __init__(self, group_id: str):
        super().__init__()
        self.group_id = group_id
        self.card: GroupCard | None = None
        self.size = QRectF(0, 0, WIDTH, HEIGHT)  # local: top-left at (0, 0)
        self.routed: set[EdgeItem] = set()  # connections drawn to this card
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        # A closed card connects like a layer: into the free input inside it, from its output.
        self.input_port = PortItem(self, "in", QPointF(0, HEIGHT / 2))
        self.input_port.setToolTip("Drop a connection here: it goes to the group's free input "
                                   "(or choose, if it has several)")
        self.output_port = PortItem(self, "out", QPointF(WIDTH, HEIGHT / 2))
        self.output_port.setToolTip("Drag to an input port to connect from the group's output")

    @property
    def end(self) -> End:
        return End(self.group_id, group=True)

    @property
    def collapsed(self) -> bool:
        return self.card is None or self.card.collapsed

    def set_card(self, card: GroupCard) -> None:
        if card != self.card:
            self.card = card
            self.setToolTip(card.tooltip)
            for port in (self.input_port, self.output_port):
                port.setVisible(card.collapsed)
                port.set_color(theme.colors().category("group"))
            self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsMovable, card.collapsed)
            self.setCursor(Qt.CursorShape.OpenHandCursor if card.collapsed else Qt.CursorShape.ArrowCursor)
            self.update()

    def place(self, rect: QRectF, depth: int) -> None:
        """Put the card or frame at ``rect`` (scene coordinates); deeper frames lie above."""
        self.setZValue(0 if self.collapsed else -5 + 0.1 * depth)
        if rect.size() != self.size.size():
            self.prepareGeometryChange()
            self.size = QRectF(0, 0, rect.width(), rect.height())
        if self.pos() != rect.topLeft():
            self.setPos(rect.topLeft())
        self.update()

    # -- where connections attach ----------------------------------------------------------------
    def output_anchor(self) -> QPointF:
        return self.mapToScene(QPointF(WIDTH, HEIGHT / 2))

    def input_anchor(self, index: int, count: int) -> QPointF:
        return self.mapToScene(QPointF(0, HEIGHT / 2))

    # -- geometry --------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        if self.collapsed:
            return QRectF(-8, -8 - STACK, WIDTH + 16 + STACK, HEIGHT + 16 + STACK)
        return self.size.adjusted(-2, -2, 2, 2)

    def shape(self) -> QPainterPath:
        """A card is solid; a frame only at its header and border, so clicks inside reach the
        members and a rubber band can start there."""
        path = QPainterPath()
        if self.collapsed:
            path.addRoundedRect(QRectF(0, 0, WIDTH, HEIGHT), RADIUS, RADIUS)
            return path
        path.addRect(QRectF(0, 0, self.size.width(), FRAME_HEADER - 8))
        border = QPainterPath()
        border.addRoundedRect(self.size, RADIUS, RADIUS)
        stroker = QPainterPathStroker()
        stroker.setWidth(8)
        return path.united(stroker.createStroke(border))

    def toggle_rect(self) -> QRectF:
        return QRectF(ACCENT + 4, 5, TOGGLE, TOGGLE) if self.collapsed else QRectF(6, 6, TOGGLE, TOGGLE)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        scene = self.scene()
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and scene is not None and self.collapsed:
            return scene.snapped(value) if scene.snapping() else value
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.routed:
                edge.update_path()
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged and self.collapsed:
            self.setZValue(1 if value else 0)
        return super().itemChange(change, value)

    # -- gestures: the scene turns them into requests --------------------------------------------
    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.toggle_rect().adjusted(-4, -4, 4, 4).contains(event.pos()):
            self.scene().toggle_requested.emit(self.group_id)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.scene().toggle_requested.emit(self.group_id)
            event.accept()
            return
        super().mouseDoubleClickEvent(event)

    # -- painting --------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        if self.card is None:
            return
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if self.card.collapsed:
            self._paint_card(painter, self.card)
        else:
            self._paint_frame(painter, self.card)

    def _paint_card(self, painter: QPainter, card: GroupCard) -> None:
        colors = theme.colors()
        alert = colors.severity(card.severity)
        accent = colors.category("group")
        fill = {"error": colors.error_fill, "warning": colors.warning_fill}.get(card.severity or "", colors.node_fill)
        rect = QRectF(0, 0, WIDTH, HEIGHT)
        painter.setPen(QPen(colors.node_border, 1.0))
        painter.setBrush(colors.node_fill)
        painter.drawRoundedRect(rect.translated(STACK, -STACK), RADIUS, RADIUS)  # the card behind
        border = colors.selection if self.isSelected() else alert or colors.node_border
        painter.setPen(QPen(border, 2.0 if self.isSelected() or alert else 1.2))
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        paint_accent(painter, accent)
        title_font, body_font, small_font = fonts()
        left, inner, line, top = text_column(body_font)
        self._toggle(painter, colors.text)
        title = QRectF(left + TOGGLE - 2, top, inner - TOGGLE + 2, line)
        NodeItem._text(painter, title_font, colors.text, title, card.name)
        room = title.width() - QFontMetricsF(title_font).horizontalAdvance(card.name) - 8
        if room >= QFontMetricsF(small_font).horizontalAdvance(card.size):  # how much it holds, if it fits whole
            size_rect = QRectF(title.right() - room, top, room, line)
            NodeItem._text(painter, small_font, colors.muted, size_rect, card.size, Qt.AlignmentFlag.AlignRight)
        top += line
        NodeItem._text(painter, body_font, colors.text, QRectF(left, top, inner, line), f"in {card.shape_in}")
        top += line
        out_color = alert if card.severity == "error" else colors.text
        NodeItem._text(painter, title_font, out_color, QRectF(left, top, inner, line), f"out {card.shape_out}")
        top += line
        NodeItem._text(painter, small_font, colors.muted, QRectF(left, top, inner, line), card.params)
        if alert is not None:
            NodeItem._badge(painter, alert, small_font)

    def _paint_frame(self, painter: QPainter, card: GroupCard) -> None:
        colors = theme.colors()
        alert = colors.severity(card.severity)
        accent = QColor(colors.category("group"))
        border = colors.selection if self.isSelected() else alert or accent
        painter.setPen(QPen(border, 2.0 if self.isSelected() else 1.3, Qt.PenStyle.DashLine))
        fill = QColor(accent)
        fill.setAlphaF(0.06)
        painter.setBrush(fill)
        painter.drawRoundedRect(self.size, RADIUS, RADIUS)
        self._toggle(painter, colors.text)
        title_font, _, small_font = fonts()
        header = QRectF(6 + TOGGLE + 4, 4, self.size.width() - TOGGLE - 20, 20)
        NodeItem._text(painter, title_font, colors.text, header, card.name)
        width = painter.fontMetrics().horizontalAdvance(card.name) + 12
        detail = f"{card.counts} · {card.params}"
        rest = QRectF(header.left() + width, header.top(), max(header.width() - width, 0), header.height())
        NodeItem._text(painter, small_font, alert if card.severity == "error" else colors.muted, rest, detail)

    def _toggle(self, painter: QPainter, color: QColor) -> None:
        """A triangle: pointing right when closed (click to open), down when open."""
        box = self.toggle_rect()
        c, r = box.center(), box.width() / 4
        if self.collapsed:
            points = [QPointF(c.x() - r * 0.7, c.y() - r), QPointF(c.x() + r, c.y()), QPointF(c.x() - r * 0.7, c.y() + r)]
        else:
            points = [QPointF(c.x() - r, c.y() - r * 0.7), QPointF(c.x() + r, c.y() - r * 0.7), QPointF(c.x(), c.y() + r)]
        path = QPainterPath(points[0])
        for point in points[1:]:
            path.lineTo(point)
        path.closeSubpath()
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawPath(path)
