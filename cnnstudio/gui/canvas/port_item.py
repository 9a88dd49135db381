"""The connection points of a node or a collapsed group's card: drag from an output port to an
input port to connect.

A port is drawn small but grabs a generous area, so connecting does not need pixel precision.
Merge nodes (Add, Concat) have a tall input port with one slot per connected input.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from cnnstudio.core.connecting import End
from cnnstudio.gui import theme

RADIUS = 5.0
GRAB = 11.0


class PortItem(QGraphicsItem):
    def __init__(self, node: QGraphicsItem, kind: Literal["in", "out"], center: QPointF, merge: bool = False):
        super().__init__(node)
        self.kind = kind
        self.merge = merge
        self.span = 0.0
        self.color = QColor("gray")
        self.hovered = False
        self.refused = False  # a dragged connection may not end here (the scene says why)
        self.setPos(center)
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setZValue(2)
        self.set_occupied(False)

    @property
    def end(self) -> End:
        """The layer or group this port belongs to."""
        return self.parentItem().end  # type: ignore[union-attr]

    def set_color(self, color: QColor) -> None:
        self.color = color
        self.update()

    def set_span(self, span: float) -> None:
        self.prepareGeometryChange()
        self.span = span

    def set_occupied(self, occupied: bool) -> None:
        """An input that already has its one connection says so on hover."""
        if self.kind == "out":
            tip = "Drag to an input port to connect"
        elif occupied:
            tip = ("This layer already has its input and takes only one: a connection dropped here "
                   "replaces it (Ctrl+Z undoes), or join the inputs with an Add or Concat layer")
        else:
            tip = "Drop a connection here" + (" (a merge node takes many inputs, in order)" if self.merge else "")
        self.setToolTip(tip)

    def set_refused(self, refused: bool) -> None:
        if refused != self.refused:
            self.refused = refused
            self.update()

    def set_hovered(self, hovered: bool) -> None:
        if hovered != self.hovered:
            self.hovered = hovered
            self.update()

    def _body(self, margin: float) -> QRectF:
        half = self.span / 2
        return QRectF(-margin, -half - margin, 2 * margin, self.span + 2 * margin)

    def boundingRect(self) -> QRectF:
        return self._body(GRAB + 1)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(self._body(GRAB), GRAB, GRAB)
        return path

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colors = theme.colors()
        radius = RADIUS + (1.5 if self.hovered or self.refused else 0)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colors.node_fill, 2.0))
        painter.setBrush(colors.error if self.refused else colors.selection if self.hovered else self.color)
        painter.drawRoundedRect(self._body(radius), radius, radius)

    def hoverEnterEvent(self, event) -> None:  # noqa: ANN001 - Qt event
        self.set_hovered(True)
        super().hoverEnterEvent(event)

    def hoverLeaveEvent(self, event) -> None:  # noqa: ANN001 - Qt event
        self.set_hovered(False)
        super().hoverLeaveEvent(event)
