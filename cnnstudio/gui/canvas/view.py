"""The canvas view: a dotted grid, zoom with the wheel, pan with the middle button (or Space and
drag), rubber-band selection, arrow-key nudges, and drops from the layer palette (on a
connection: the layer is inserted there, and the connection lights up while hovered).

The view keeps the scene point at its centre when the scene's extent grows, so adding a card
never shifts what the user is looking at."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QDragEnterEvent,
    QDragMoveEvent,
    QDropEvent,
    QFont,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPen,
    QTransform,
    QWheelEvent,
)
from PySide6.QtWidgets import QGraphicsView, QWidget

from cnnstudio.core import catalogue
from cnnstudio.gui import theme
from cnnstudio.gui.canvas.scene import GRID, DesignScene

LAYER_MIME = "application/x-cnnstudio-layer"
MIN_ZOOM, MAX_ZOOM = 0.15, 3.0
FIT_MAX_ZOOM = 1.25  # fitting a small design does not blow it up
FIT_MARGIN = 20.0  # scene units kept around a fitted design


class CanvasView(QGraphicsView):
    layer_dropped = Signal(str, QPointF)  # layer type, scene position
    layer_dropped_on_edge = Signal(str, str, str, QPointF)  # layer type, source, target, scene position
    nudged = Signal(float, float)
    zoom_changed = Signal(float)

    def __init__(self, scene: DesignScene, parent: QWidget | None = None):
        super().__init__(scene, parent)
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setRubberBandSelectionMode(Qt.ItemSelectionMode.IntersectsItemShape)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)  # a workspace's smaller canvas keeps the design in sight
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.BoundingRectViewportUpdate)
        self.setAcceptDrops(True)
        self.setFrameShape(QGraphicsView.Shape.NoFrame)
        self.setToolTip("")
        self._pan_from: QPoint | None = None
        self._space = False
        self._center = QPointF()
        self._design_view: tuple[QTransform, QPointF] | None = None  # zoom and centre left in the design workspace
        scene.emptied.connect(lambda _empty: self.viewport().update())  # the hint goes or comes back
        scene.sceneRectChanged.connect(self._keep_center)

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        super().scrollContentsBy(dx, dy)
        self._remember_center()

    def resizeEvent(self, event) -> None:  # noqa: ANN001 - Qt event
        super().resizeEvent(event)
        self._remember_center()

    def changeEvent(self, event: QEvent) -> None:
        """A new palette (light or dark) or font: the cards' cached pictures are painted again."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.FontChange):
            for item in self.scene().nodes.values():
                item.update()

    def _keep_center(self) -> None:
        """Scroll back to the remembered centre if the new extent moved it (more than a pixel:
        centring again without need would creep by rounding)."""
        saved = QPointF(self._center)
        now = self.mapToScene(self.viewport().rect().center())
        if max(abs(now.x() - saved.x()), abs(now.y() - saved.y())) * self.zoom > 1.5:
            self.centerOn(saved)
        self._center = saved

    def _remember_center(self) -> None:
        self._center = self.mapToScene(self.viewport().rect().center())

    @property
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = max(MIN_ZOOM, min(MAX_ZOOM, factor))
        self.scale(factor / self.zoom, factor / self.zoom)
        self._remember_center()
        self.zoom_changed.emit(self.zoom)

    def zoom_by(self, step: float) -> None:
        self.set_zoom(self.zoom * step)

    def fit(self) -> None:
        """Show the whole design, no larger than a comfortable reading size."""
        scene = self.scene()
        items = scene.nodes_rect() if scene.nodes else QRectF(-200, -150, 400, 300)
        self.fitInView(items.adjusted(-FIT_MARGIN, -FIT_MARGIN, FIT_MARGIN, FIT_MARGIN), Qt.AspectRatioMode.KeepAspectRatio)
        if self.zoom > FIT_MAX_ZOOM:
            self.set_zoom(FIT_MAX_ZOOM)
        self.centerOn(items.center())
        self._remember_center()
        self.zoom_changed.emit(self.zoom)

    def follow_workspace(self, name: str) -> None:
        """Outside the design workspace the canvas is a strip that maps the whole design (fitted
        once the docks have their sizes); back in design, the zoom and centre the user left there."""
        if name == "design":
            if self._design_view is not None:
                transform, center = self._design_view
                self._design_view = None
                self.setTransform(transform)
                self.centerOn(center)
                self._remember_center()
                self.zoom_changed.emit(self.zoom)
            return
        if self._design_view is None:
            self._design_view = (self.transform(), QPointF(self._center))
        QTimer.singleShot(0, self.fit)

    # -- background ------------------------------------------------------------------------------
    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        colors = theme.colors()
        painter.fillRect(rect, colors.canvas)
        step = GRID if self.zoom >= 0.6 else GRID * 5
        left = int(rect.left() // step) * step
        top = int(rect.top() // step) * step
        major = GRID * 5
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        for is_major in (False, True):
            painter.setPen(QPen(colors.grid_major if is_major else colors.grid_minor, 0))
            x = left
            while x < rect.right():
                if (abs(x % major) < 1e-6) == is_major:
                    painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
                x += step
            y = top
            while y < rect.bottom():
                if (abs(y % major) < 1e-6) == is_major:
                    painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
                y += step

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        """On an empty canvas, say how to begin."""
        if self.scene().nodes:
            return
        painter.save()
        painter.resetTransform()
        painter.setPen(theme.colors().muted)
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.drawText(
            self.viewport().rect(),
            int(Qt.AlignmentFlag.AlignCenter),
            "Drag layers here from the palette\nor start from File › New from Template",
        )
        painter.restore()

    # -- zoom and pan ----------------------------------------------------------------------------
    def wheelEvent(self, event: QWheelEvent) -> None:
        if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            super().wheelEvent(event)  # scroll sideways/vertically as usual
            return
        self.zoom_by(1.0015 ** event.angleDelta().y())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().unsetCursor()
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        arrows = {
            Qt.Key.Key_Left: (-GRID, 0.0),
            Qt.Key.Key_Right: (GRID, 0.0),
            Qt.Key.Key_Up: (0.0, -GRID),
            Qt.Key.Key_Down: (0.0, GRID),
        }
        if event.key() in arrows:
            self.nudged.emit(*arrows[Qt.Key(event.key())])
            return
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = True
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat():
            self._space = False
        super().keyReleaseEvent(event)

    # -- drops from the palette ------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            takes_input = any(t.name == _layer_type(event) and t.max_inputs != 0 for t in catalogue.all_types())
            pos = self.mapToScene(event.position().toPoint())
            self.scene().set_drop_edge(pos if takes_input else None)
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dragLeaveEvent(self, event) -> None:  # noqa: ANN001 - Qt event
        self.scene().set_drop_edge(None)
        super().dragLeaveEvent(event)

    def dropEvent(self, event: QDropEvent) -> None:
        if not event.mimeData().hasFormat(LAYER_MIME):
            super().dropEvent(event)
            return
        type_name = _layer_type(event)
        pos = self.mapToScene(event.position().toPoint())
        edge = self.scene().drop_edge
        self.scene().set_drop_edge(None)
        if edge is not None:
            self.layer_dropped_on_edge.emit(type_name, *edge.key, pos)
        else:
            self.layer_dropped.emit(type_name, pos)
        event.acceptProposedAction()


def _layer_type(event: QDragMoveEvent | QDropEvent) -> str:
    return bytes(event.mimeData().data(LAYER_MIME).data()).decode()
