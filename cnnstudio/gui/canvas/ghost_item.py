"""A node removed since an older run, drawn where it stood in that run's design.

When two runs are compared (the Runs panel), nodes the newer run no longer has and the canvas does
not hold either would otherwise only be named. The scene draws each as a ghost card: the node card's
accent and text, muted, with a dashed outline and a "removed since RUN" tag, behind the real cards
and connections. A ghost is no part of the design: it cannot be selected, moved or edited, it is
saved nowhere, and the scene removes it when the comparison changes or ends.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem, QWidget

from cnnstudio.core import catalogue
from cnnstudio.core.params import ParamError
from cnnstudio.gui import theme
from cnnstudio.gui.canvas.node_item import (
    DIFF_COLORS,
    HEIGHT,
    RADIUS,
    WIDTH,
    NodeItem,
    fonts,
    paint_accent,
    text_column,
)
from cnnstudio.gui.describe import caption

OPACITY = 0.55
Z = -2.0  # behind the cards and the connections of the design on the canvas
TAG_LINE = 12.0


@dataclass(frozen=True)
class Ghost:
    """What a ghost card shows: a node of an older run's design (a design-file object's node)."""

    node_id: str
    type_name: str
    title: str
    detail: str
    category: str
    pos: tuple[float, float] | None  # where it stood; None: the older design did not say
    since: str  # the older run's name

    @property
    def tooltip(self) -> str:
        return f"removed since {self.since}\n{self.node_id} · {self.type_name} {self.detail}".rstrip()


def ghosts(design: dict[str, Any] | None, node_ids: list[str], since: str, channels_last: bool) -> list[Ghost]:
    """The ghosts of ``node_ids`` as ``design`` (the older run's design.json) has them. A type or
    parameters this version no longer reads still give a card, with the type's name alone."""
    entries = {n.get("id"): n for n in (design or {}).get("nodes", []) if isinstance(n, dict)}
    found = []
    for node_id in node_ids:
        entry = entries.get(node_id, {})
        type_name, detail, category = str(entry.get("type", "?")), "", "other"
        try:
            layer_type = catalogue.get(type_name)
            params = layer_type.coerce_params(entry.get("params") or {})
            detail = caption(layer_type, params, channels_last)[len(layer_type.name):].strip()
            category = layer_type.category
        except (catalogue.UnknownLayerType, ParamError, KeyError, TypeError, ValueError):
            pass
        pos = entry.get("pos")
        where = (float(pos[0]), float(pos[1])) if isinstance(pos, list) and len(pos) == 2 else None
        label = entry.get("label")
        found.append(Ghost(node_id, type_name, label if isinstance(label, str) and label else node_id, detail,
                           category, where, since))
    return found


class GhostItem(QGraphicsItem):
    def __init__(self, ghost: Ghost):
        super().__init__()
        self.ghost = ghost
        self.setFlags(QGraphicsItem.GraphicsItemFlag(0))  # neither selectable nor movable
        self.setAcceptedMouseButtons(Qt.MouseButton.NoButton)  # clicks and drags reach what is behind
        self.setZValue(Z)
        self.setToolTip(ghost.tooltip)
        if ghost.pos is not None:
            self.setPos(*ghost.pos)

    def boundingRect(self) -> QRectF:
        return QRectF(-2, -2, WIDTH + 4, HEIGHT + 4 + 2 * TAG_LINE)  # the tag below, on two lines

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget: QWidget | None = None) -> None:
        colors = theme.colors()
        ghost = self.ghost
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.save()
        painter.setOpacity(OPACITY)
        painter.setPen(QPen(colors.muted, 1.6, Qt.PenStyle.DashLine))
        painter.setBrush(colors.node_fill)
        painter.drawRoundedRect(QRectF(0, 0, WIDTH, HEIGHT), RADIUS, RADIUS)
        paint_accent(painter, colors.category(ghost.category))
        title_font, body_font, small_font = fonts()
        left, inner, line, top = text_column(body_font)
        NodeItem._text(painter, title_font, colors.muted, QRectF(left, top, inner, line), ghost.type_name)
        NodeItem._text(painter, body_font, colors.muted, QRectF(left, top + line, inner, line), ghost.detail)
        # the id on the card's last line: the middle is where a connection that now bypasses it runs
        NodeItem._text(painter, small_font, colors.muted, QRectF(left, top + 3 * line, inner, line), ghost.title)
        painter.restore()
        removed = QColor(DIFF_COLORS["removed"])
        for row, text in enumerate(("− removed since", ghost.since)):
            tag = QRectF(4, HEIGHT + 2 + row * TAG_LINE, WIDTH - 4, TAG_LINE)
            NodeItem._text(painter, small_font, removed, tag, text)
