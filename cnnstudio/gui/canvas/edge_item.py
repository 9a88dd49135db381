"""A connection on the canvas: a curve from an output port to an input port, labelled with the
shape of the tensor flowing along it, red or amber when the layer it feeds has a problem.

The label never hides behind a card: between cards too close for it, it is elided (the tooltip
has the whole shape) or, with no room at all, moves above the cards. An end inside a collapsed
group is drawn at the group's card (:meth:`EdgeItem.route`); the edge still belongs to its two
nodes.
"""

from __future__ import annotations

from typing import Protocol

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPainterPath, QPainterPathStroker, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from cnnstudio.gui import theme
from cnnstudio.gui.canvas.node_item import HEIGHT, NodeItem, fonts

LABEL_PAD = 3.0
PORT_ROOM = 5.0  # the port dots reach this far into the gap: a label must clear them
MIN_ELIDED = 30.0  # below this width an elided label says nothing: it moves above the cards
BEND = 12.0  # corner radius of a connection that wraps back to the left


def curve(start: QPointF, end: QPointF) -> QPainterPath:
    """A horizontal-tangent cubic: leaves to the right, arrives from the left. A connection back
    to the left (a design wrapped onto a second row) runs between the rows instead."""
    if end.x() < start.x() - 2 * BEND and abs(end.y() - start.y()) > 4 * BEND:
        return _wrap(start, end)
    reach = max(40.0, (end.x() - start.x()) / 2, min(abs(end.y() - start.y()), 160.0) / 2)
    path = QPainterPath(start)
    path.cubicTo(start + QPointF(reach, 0), end - QPointF(reach, 0), end)
    return path


def _wrap(start: QPointF, end: QPointF) -> QPainterPath:
    """Out to the right, along the middle between the two rows, and in from the left."""
    middle = (start.y() + end.y()) / 2
    down = BEND if end.y() > start.y() else -BEND
    right, left = start.x() + 2 * BEND, end.x() - 2 * BEND
    path = QPainterPath(start)
    path.lineTo(right - BEND, start.y())
    path.quadTo(right, start.y(), right, start.y() + down)
    path.lineTo(right, middle - down)
    path.quadTo(right, middle, right - BEND, middle)
    path.lineTo(left + BEND, middle)
    path.quadTo(left, middle, left, middle + down)
    path.lineTo(left, end.y() - down)
    path.quadTo(left, end.y(), left + BEND, end.y())
    path.lineTo(end)
    return path


class End(Protocol):
    """What a connection can be drawn to: a node's card or a collapsed group's card."""

    def output_anchor(self) -> QPointF: ...

    def input_anchor(self, index: int, count: int) -> QPointF: ...


class EdgeItem(QGraphicsItem):
    def __init__(self, source: NodeItem, target: NodeItem):
        super().__init__()
        self.source = source
        self.target = target
        self.source_end: End = source
        self.target_end: End = target
        self.index = 0
        self.count = 1
        self.label = ""
        self.shown_label = ""  # the label as drawn: elided where the cards leave too little room
        self.severity: str | None = None
        self.hovered = False
        self.drop_target = False  # a layer dragged from the palette would be inserted here
        self.path = QPainterPath()
        self.label_rect = QRectF()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setAcceptHoverEvents(True)
        self.setZValue(-1)
        source.edges.add(self)
        target.edges.add(self)

    @property
    def key(self) -> tuple[str, str]:
        return self.source.node_id, self.target.node_id

    def detach(self) -> None:
        self.source.edges.discard(self)
        self.target.edges.discard(self)

    def route(self, source: End, target: End) -> None:
        """Draw this connection between ``source`` and ``target`` (the nodes, or group cards)."""
        if (source, target) != (self.source_end, self.target_end):
            self.source_end, self.target_end = source, target
            self.update_path()

    def set_slot(self, index: int, count: int) -> None:
        if (index, count) != (self.index, self.count):
            self.index, self.count = index, count
            self.update_path()

    def show(self, label: str, severity: str | None, tooltip: str) -> None:
        if (label, severity) != (self.label, self.severity):
            self.label, self.severity = label, severity
            self.update_path()
        self.setToolTip(tooltip)

    def set_drop_target(self, on: bool) -> None:
        if on != self.drop_target:
            self.drop_target = on
            self.update()

    def update_path(self) -> None:
        self.prepareGeometryChange()
        start, end = self.source_end.output_anchor(), self.target_end.input_anchor(self.index, self.count)
        self.path = curve(start, end)
        self.shown_label, self.label_rect = self._place_label(start, end)

    def _place_label(self, start: QPointF, end: QPointF) -> tuple[str, QRectF]:
        """The label's text and place: centred on the curve if it fits between the cards, else
        elided to the room there is, else above the cards."""
        if not self.label:
            return "", QRectF()
        metrics = QFontMetricsF(fonts()[2])
        width = metrics.horizontalAdvance(self.label) + 2 * LABEL_PAD
        height = metrics.height() + 2
        middle = self.path.pointAtPercent(0.5)
        wrapped = end.x() < start.x() - 2 * BEND and abs(end.y() - start.y()) > 4 * BEND
        room = width if wrapped else end.x() - start.x() - 2 * PORT_ROOM
        text = self.label
        if width > room >= MIN_ELIDED:
            text = metrics.elidedText(self.label, Qt.TextElideMode.ElideRight, room - 2 * LABEL_PAD)
            width = room
        elif width > room:
            top = min(start.y(), end.y()) - HEIGHT / 2 - height - 3
            return text, QRectF(middle.x() - width / 2, top, width, height)
        return text, QRectF(middle.x() - width / 2, middle.y() - height / 2, width, height)

    def boundingRect(self) -> QRectF:
        return self.path.boundingRect().adjusted(-4, -4, 4, 4).united(self.label_rect)

    def shape(self) -> QPainterPath:
        stroker = QPainterPathStroker()
        stroker.setWidth(12)
        outline = stroker.createStroke(self.path)
        if self.label:
            outline.addRect(self.label_rect)
        return outline

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colors = theme.colors()
        highlighted = self.isSelected() or self.drop_target
        color = colors.selection if highlighted else colors.severity(self.severity) or colors.edge
        width = 4.0 if self.drop_target else 2.6 if self.isSelected() or self.hovered else 1.6
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path)
        if not self.label:
            return
        painter.setPen(QPen(color, 1.0))
        painter.setBrush(colors.label_fill)
        painter.drawRoundedRect(self.label_rect, self.label_rect.height() / 2, self.label_rect.height() / 2)
        painter.setFont(fonts()[2])
        painter.setPen(colors.severity(self.severity) or colors.muted)
        painter.drawText(self.label_rect, int(Qt.AlignmentFlag.AlignCenter), self.shown_label)

    def hoverEnterEvent(self, event) -> None:  # noqa: ANN001 - Qt event
        self.hovered = True
        self.update()
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: ANN001 - Qt event
        self.hovered = False
        self.update()
        super().hoverLeaveEvent(event)
