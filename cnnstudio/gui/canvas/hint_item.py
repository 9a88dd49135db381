"""A short message beside the mouse on the canvas: why a connection cannot be dropped here (in the
error colour), or what dropping it here does besides connecting (replacing an input's connection,
going into a closed group).

It ignores the zoom, so it stays readable however far the design is zoomed out.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFontMetricsF, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from cnnstudio.gui import theme
from cnnstudio.gui.canvas.node_item import fonts

MAX_WIDTH = 320.0
PAD = 6.0


class HintItem(QGraphicsItem):
    def __init__(self) -> None:
        super().__init__()
        self.text = ""
        self.refusal = True
        self.rect = QRectF()
        self.setFlag(QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.setZValue(10)
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)
        self.hide()

    def show_at(self, pos: QPointF, text: str, refusal: bool = True) -> None:
        self.prepareGeometryChange()
        self.text = text
        self.refusal = refusal
        metrics = QFontMetricsF(fonts()[1])
        flags = int(Qt.TextFlag.TextWordWrap)
        box = metrics.boundingRect(QRectF(0, 0, MAX_WIDTH, 1000), flags, text)
        self.rect = QRectF(0, 0, box.width() + 2 * PAD, box.height() + 2 * PAD)
        self.setPos(pos)
        self.show()
        self.update()

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-1, -1, 1, 1)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colors = theme.colors()
        color = colors.error if self.refusal else colors.selection
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(color, 1.2))
        painter.setBrush(colors.label_fill)
        painter.drawRoundedRect(self.rect, 5, 5)
        painter.setFont(fonts()[1])
        painter.setPen(colors.text if not self.refusal else color)
        painter.drawText(self.rect.adjusted(PAD, PAD, -PAD, -PAD), int(Qt.TextFlag.TextWordWrap), self.text)
