"""A layer on the canvas: a card with its type, key parameters, output shape and parameter count,
an input port on the left and an output port on the right.

The card only displays what :meth:`NodeItem.show` is given (the node and its ``NodeInfo``); it
never computes a shape. ``show`` repaints only when the displayed text or state really changed.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtWidgets import (
    QApplication,
    QGraphicsItem,
    QGraphicsObject,
    QGraphicsPixmapItem,
    QStyleOptionGraphicsItem,
    QWidget,
)

from cnnstudio.core.analysis import NodeInfo
from cnnstudio.core.connecting import End
from cnnstudio.core.design import Node
from cnnstudio.core.display import format_count, format_shape
from cnnstudio.gui import theme
from cnnstudio.gui.canvas.port_item import PortItem
from cnnstudio.gui.describe import caption

if TYPE_CHECKING:
    from cnnstudio.gui.canvas.edge_item import EdgeItem

WIDTH = 140.0
HEIGHT = 84.0
RADIUS = 7.0
PAD = 10.0
ACCENT = 4.0
SLOT_STEP = 14.0  # vertical distance between the inputs of a merge node
OPAQUE_TIP = ("Opaque: imported code with no layer of its own, run exactly as in the original model. "
              "Its shape comes from running it; its parameters cannot be edited.")


@dataclass(frozen=True)
class Card:
    """Everything the card shows; comparing two cards tells whether a repaint is needed."""

    type_name: str
    title: str
    detail: str
    shape: str
    params: str
    category: str
    frozen: bool
    severity: str | None
    tooltip: str
    opaque: bool = False  # imported code with no catalogue layer: drawn with a dashed border


def fonts() -> tuple[QFont, QFont, QFont]:
    """Title, body and small fonts of the canvas, scaled from the application font."""
    return _fonts(QApplication.font().toString())


@lru_cache(maxsize=2)
def _fonts(application_font: str) -> tuple[QFont, QFont, QFont]:
    base = QFont()
    base.fromString(application_font)
    base.setPointSizeF(9.0)
    title = QFont(base)
    title.setWeight(QFont.Weight.DemiBold)
    small = QFont(base)
    small.setPointSizeF(7.5)
    return title, base, small


DIFF_COLORS = {"added": "#2e9e4f", "removed": "#d0342c", "changed": "#d08a1a"}


class NodeItem(QGraphicsObject):
    def __init__(self, node: Node):
        super().__init__()
        self.node_id = node.id
        self.max_inputs = node.layer_type.max_inputs
        self.edges: set[EdgeItem] = set()
        self.card: Card | None = None
        self._shown: tuple | None = None  # what the card was built from, to skip unchanged nodes
        self.input_count = -1  # unknown until the scene syncs the inputs
        self.marks: tuple[str, ...] = ()  # tags such as "content" and "style" (the scene's set_marks)
        self.diff: str | None = None  # "added", "removed" or "changed" when two runs are compared
        self.overlay: tuple[QColor, str] | None = None  # the live canvas's measure: tint and value
        self.thumbnail = QGraphicsPixmapItem(self)  # the live canvas's picture of the output, under the card
        self.thumbnail.setPos(4, HEIGHT + 3)
        self.thumbnail.setTransformationMode(Qt.TransformationMode.SmoothTransformation)
        self.setFlags(
            QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
            | QGraphicsItem.GraphicsItemFlag.ItemIsMovable
            | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges
        )
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        # Painted once into a pixmap, then copied until update(): the live thumbnails under the cards
        # change while a run trains, and repainting every card's text with them was about half of a
        # refresh's 13 ms on the GUI thread (Figure 21; bench_studio_training.py's thumbnails line);
        # the canvas view refreshes the pixmaps when the palette or the font changes.
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.output_port = PortItem(self, "out", QPointF(WIDTH, HEIGHT / 2))
        self.input_port = (
            PortItem(self, "in", QPointF(0, HEIGHT / 2), merge=self.max_inputs is None)
            if self.max_inputs != 0
            else None
        )
        if node.pos is not None:
            self.setPos(*node.pos)

    @property
    def end(self) -> End:
        return End(self.node_id)

    # -- content ---------------------------------------------------------------------------------
    def show(self, node: Node, info: NodeInfo | None, channels_last: bool) -> None:
        shown = (tuple(node.params.items()), node.label, node.frozen, node.unverified, info, channels_last)
        if shown == self._shown:
            return
        self._shown = shown
        layer_type = node.layer_type
        text = caption(layer_type, node.params, channels_last)
        detail = ("unverified · " if node.unverified else "") + text[len(layer_type.name) :].strip()
        severity = severity_of(info)
        problems = [f"{'Error' if i.severity == 'error' else 'Warning'}: {i.message}" for i in info.issues] if info else []
        shape = format_shape(info.shape, channels_last) if info and info.shape is not None else "?"
        shares = [f"{s.capitalize()}: one tensor of the model, counted once" for s in map(str, info.shared)] if info else []
        lines = [f"{node.id} · {text}", f"Output {shape}", *shares, *problems]
        if layer_type.opaque:
            lines.insert(1, OPAQUE_TIP)
        tooltip = "\n".join(lines)
        card = Card(
            type_name=layer_type.name,
            title=node.title,
            detail=detail,
            shape=shape,
            params=(f"{format_count(info.params)} parameters{', shared' if info.shared else ''}" if info and info.params
                    else "no parameters"),
            category=layer_type.category,
            frozen=node.frozen,
            severity=severity,
            tooltip=tooltip,
            opaque=layer_type.opaque,
        )
        if card != self.card:
            self.card = card
            self.setToolTip(tooltip)
            self.update()
            for port in (self.input_port, self.output_port):
                if port is not None:
                    port.set_color(theme.colors().category(card.category))

    def set_marks(self, marks: tuple[str, ...]) -> None:
        if tuple(marks) != self.marks:
            self.marks = tuple(marks)
            self.update()

    def set_thumbnail(self, image: QImage | None) -> None:
        """The live canvas's picture of this layer's output (None: none)."""
        self.thumbnail.setPixmap(QPixmap.fromImage(image) if image is not None else QPixmap())

    def set_overlay(self, overlay: tuple[QColor, str] | None) -> None:
        """Tint the card by the live canvas's measure, with its value written in (None: plain)."""
        if overlay != self.overlay:
            self.overlay = overlay
            self.update()

    def set_input_count(self, count: int) -> None:
        """Merge nodes draw one slot per input; the port grows to cover them."""
        if count != self.input_count:
            self.input_count = count
            if self.input_port is not None and self.max_inputs is None:
                self.input_port.set_span(self._slot_span(max(count, 2)))
            if self.input_port is not None and self.max_inputs is not None:
                self.input_port.set_occupied(count >= self.max_inputs)
            self.update()

    # -- geometry --------------------------------------------------------------------------------
    def boundingRect(self) -> QRectF:
        """All the card draws (its cache holds this rect, so anything outside would be cut): slot
        numbers left, the badge over the top right corner, the diff outline around; below the card only
        while a diff tag is drawn there: the live thumbnail sits in that band, and a refresh of it must
        not repaint the card."""
        below = 16.0 if self.diff else 2.0  # the tag's line, or the selection outline's antialiasing
        return QRectF(-24, -9, WIDTH + 33, HEIGHT + 9 + below)

    def shape(self) -> QPainterPath:
        path = QPainterPath()
        path.addRoundedRect(QRectF(0, 0, WIDTH, HEIGHT), RADIUS, RADIUS)
        return path

    def output_anchor(self) -> QPointF:
        return self.mapToScene(QPointF(WIDTH, HEIGHT / 2))

    def input_anchor(self, index: int, count: int) -> QPointF:
        if self.max_inputs is not None or count <= 1:
            return self.mapToScene(QPointF(0, HEIGHT / 2))
        step = self._slot_step(count)
        return self.mapToScene(QPointF(0, HEIGHT / 2 + (index - (count - 1) / 2) * step))

    def _slot_step(self, count: int) -> float:
        return min(SLOT_STEP, (HEIGHT - 2 * PAD) / max(count - 1, 1))

    def _slot_span(self, count: int) -> float:
        return self._slot_step(count) * (count - 1)

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        scene = self.scene()
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionChange and scene is not None:
            return scene.snapped(value) if scene.snapping() else value
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            for edge in self.edges:
                edge.update_path()
            if scene is not None:
                scene.node_item_moved(self.node_id)  # the frames of open groups around it follow
        if change == QGraphicsItem.GraphicsItemChange.ItemSelectedHasChanged:
            self.setZValue(1 if value else 0)
        return super().itemChange(change, value)

    # -- painting --------------------------------------------------------------------------------
    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        card = self.card
        if card is None:
            return
        colors = theme.colors()
        accent = colors.category(card.category)
        alert = colors.severity(card.severity)
        rect = QRectF(0, 0, WIDTH, HEIGHT)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)

        fill = {"error": colors.error_fill, "warning": colors.warning_fill}.get(card.severity or "", colors.node_fill)
        border = colors.selection if self.isSelected() else alert or colors.node_border
        pen = QPen(border, 2.0 if self.isSelected() or alert else 1.0)
        if card.opaque:
            pen.setWidthF(max(pen.widthF(), 1.6))
            pen.setStyle(Qt.PenStyle.DashLine)
            if not (self.isSelected() or alert):
                pen.setColor(colors.muted)
        painter.setPen(pen)
        painter.setBrush(fill)
        painter.drawRoundedRect(rect, RADIUS, RADIUS)
        if self.overlay is not None:
            painter.setBrush(self.overlay[0])
            painter.drawRoundedRect(rect, RADIUS, RADIUS)

        paint_accent(painter, accent)
        title_font, body_font, small_font = fonts()
        left, inner, line, top = text_column(body_font)
        self._text(painter, title_font, colors.text, QRectF(left, top, inner, line),
                   ("⚙ " if card.opaque else "") + card.type_name)
        name = ("❄ " if card.frozen else "") + card.title
        room = inner - QFontMetricsF(title_font).horizontalAdvance(("⚙ " if card.opaque else "") + card.type_name) - 8
        if room > 24:  # the id, elided if need be, right of the type
            name_rect = QRectF(left + inner - room, top, room, line)
            self._text(painter, small_font, colors.muted, name_rect, name, Qt.AlignmentFlag.AlignRight)
        top += line
        self._text(painter, body_font, colors.text, QRectF(left, top, inner, line), card.detail)
        top += line
        shape_color = alert if card.severity == "error" else colors.text
        self._text(painter, title_font, shape_color, QRectF(left, top, inner, line), card.shape)
        top += line
        value = self.overlay[1] if self.overlay is not None else ""
        room = QFontMetricsF(small_font).horizontalAdvance(value) + 6 if value else 0.0  # the overlay's value, right
        self._text(painter, small_font, colors.muted, QRectF(left, top, inner - room, line), card.params)
        if value:
            self._text(painter, small_font, colors.text, QRectF(left, top, inner, line), value, Qt.AlignmentFlag.AlignRight)
        if self.marks:
            self._marks(painter, small_font)
        if self.diff is not None:
            self._diff_outline(painter, small_font)
        if alert is not None:
            self._badge(painter, alert, small_font)
        if self.max_inputs is None and self.input_count > 1:
            self._slot_numbers(painter, small_font, colors.muted)

    @staticmethod
    def _text(painter: QPainter, font: QFont, color: QColor, rect: QRectF, text: str,
              align: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft) -> None:
        painter.setFont(font)
        painter.setPen(color)
        elided = QFontMetricsF(font).elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(align | Qt.AlignmentFlag.AlignVCenter), elided)

    def set_diff(self, kind: str | None, how: str = "") -> None:
        """Mark the node as added, removed or changed between two compared runs (None: unmark)."""
        if (kind is None) != (self.diff is None):
            self.prepareGeometryChange()  # the tag below the card enters or leaves the bounding rect
        self.diff = kind
        self.setToolTip(self.card.tooltip + (f"\n{kind.capitalize()} between the compared runs{how}" if kind else "")
                        if self.card else "")
        self.update()

    def _diff_outline(self, painter: QPainter, font: QFont) -> None:
        color = QColor(DIFF_COLORS[self.diff])
        painter.setPen(QPen(color, 3.0, Qt.PenStyle.DashLine))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(-3, -3, WIDTH + 6, HEIGHT + 6), RADIUS + 2, RADIUS + 2)
        tag = {"added": "+ added", "removed": "− removed", "changed": "~ changed"}[self.diff]
        painter.setFont(font)
        painter.setPen(color)
        painter.drawText(QRectF(4, HEIGHT + 3, WIDTH, 12), int(Qt.AlignmentFlag.AlignLeft), tag)

    @staticmethod
    def _badge(painter: QPainter, color: QColor, font: QFont) -> None:
        center = QPointF(WIDTH - 2, 0)
        painter.setPen(QPen(QColor("white"), 1.5))
        painter.setBrush(QBrush(color))
        painter.drawEllipse(center, 7.5, 7.5)
        bold = QFont(font)
        bold.setWeight(QFont.Weight.Bold)
        painter.setFont(bold)
        painter.drawText(QRectF(center.x() - 7.5, center.y() - 7.5, 15, 15), int(Qt.AlignmentFlag.AlignCenter), "!")

    def _marks(self, painter: QPainter, font: QFont) -> None:
        """A thick outline in the first tag's colour and one pill per tag, bottom right inside the card."""
        painter.setPen(QPen(mark_color(self.marks[0]), 3.0))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRoundedRect(QRectF(1.5, 1.5, WIDTH - 3, HEIGHT - 3), RADIUS, RADIUS)
        bold = QFont(font)
        bold.setWeight(QFont.Weight.Bold)
        painter.setFont(bold)
        metrics = QFontMetricsF(bold)
        right = WIDTH - 5
        for tag in reversed(self.marks):
            width = metrics.horizontalAdvance(tag) + 10
            pill = QRectF(right - width, HEIGHT - metrics.height() - 7, width, metrics.height() + 2)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(mark_color(tag))
            painter.drawRoundedRect(pill, pill.height() / 2, pill.height() / 2)
            painter.setPen(QColor("white"))
            painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), tag)
            right -= width + 3

    def _slot_numbers(self, painter: QPainter, font: QFont, color: QColor) -> None:
        painter.setFont(font)
        painter.setPen(color)
        for index in range(self.input_count):
            y = self.mapFromScene(self.input_anchor(index, self.input_count)).y()
            painter.drawText(QRectF(-22, y - 15, 12, 12), int(Qt.AlignmentFlag.AlignCenter), str(index + 1))


MARK_COLORS = {"content": "#1f77b4", "style": "#e8710a"}  # blue and orange tell apart in grey print too


def mark_color(tag: str) -> QColor:
    return QColor(MARK_COLORS.get(tag, "#7f7f7f"))


def paint_accent(painter: QPainter, accent: QColor) -> None:
    """The category colour down a card's left edge, inside its rounded corner."""
    bar = QPainterPath()
    bar.addRoundedRect(QRectF(0.5, 0.5, ACCENT + RADIUS, HEIGHT - 1), RADIUS, RADIUS)
    clip = QPainterPath()
    clip.addRect(QRectF(0, 0, ACCENT, HEIGHT))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(accent)
    painter.drawPath(bar.intersected(clip))


def text_column(body_font: QFont) -> tuple[float, float, float, float]:
    """Where a card's text goes: left edge, width, line height and first line's top."""
    left = ACCENT + PAD - 2
    return left, WIDTH - left - PAD, QFontMetricsF(body_font).height() + 1, PAD - 3


def severity_of(info: NodeInfo | None) -> str | None:
    if info is None:
        return None
    if info.errors:
        return "error"
    return "warning" if info.warnings else None
