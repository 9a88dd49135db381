"""Activation maps: what one layer computes for the probe. A grid of its channels (shared or
per-channel colour scale), one map enlarged with its values on hover; 1D layers as line plots,
flat layers as a bar per value. The layer follows the canvas selection, or is stepped through
with the arrows."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QColor, QFont, QPen, QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QComboBox, QGraphicsRectItem, QToolButton, QWidget

from cnnstudio.gui.flow_layout import reflow
from cnnstudio.gui.views.base import View, image_plot, label_axes, plot_widget, text_color, value_text
from cnnstudio.gui.views.context import Context
from cnnstudio.gui.views.imaging import SEQUENTIAL, Mosaic, colorize, grid_shape, mosaic, to_numpy
from cnnstudio.training.probe_request import MAX_CHANNELS, MAX_FEATURES, MAX_LENGTH, MAX_SIDE

WIDE = 560  # from this width the maps and the detail sit side by side
ACTIVATION_BUDGET = 1_000_000  # values captured per refresh, the selected layer first: stepping is instant
COLOR_MAPS = {"viridis": SEQUENTIAL, "grey": "CET-L1", "inferno": "inferno"}


def captured_size(shape: tuple[int, ...]) -> int:
    """About how many values a layer's capture holds (probes caps channels and map sizes)."""
    if len(shape) <= 1:
        return min(math.prod(shape), MAX_FEATURES)
    spatial = shape[-2:] if len(shape) >= 3 else shape[-1:]
    side = MAX_SIDE if len(spatial) == 2 else MAX_LENGTH
    return min(shape[0], MAX_CHANNELS) * math.prod(min(s, side) for s in spatial)


class Activations(View):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("Activation maps appear here while a model trains, or after it: select a layer on the "
                         "canvas to see what it computes for the probe.", parent)
        self.setObjectName("activations")
        self.node: str | None = None
        self.channel = 0
        self.snapshot: Any = None
        self.context: Context | None = None
        self.values: np.ndarray | None = None
        self.grid: Mosaic | None = None

        self.layer = QComboBox()
        self.layer.setMinimumContentsLength(14)
        self.layer.setToolTip("The layer shown; selecting a layer on the canvas shows it too")
        self.layer.activated.connect(lambda i: self.set_node(self.layer.itemData(i)))
        self.previous, self.next = QToolButton(text="◀"), QToolButton(text="▶")
        self.previous.setToolTip("The layer before")
        self.next.setToolTip("The layer after")
        self.previous.clicked.connect(lambda: self.step(-1))
        self.next.clicked.connect(lambda: self.step(1))
        self.scale = QComboBox()
        self.scale.addItems(["Shared scale", "Per-channel scale"])
        self.scale.setToolTip("Shared: one colour scale for every channel, so channels compare.\n"
                              "Per channel: each map stretched to its own range, to see its pattern.")
        self.cmap = QComboBox()
        self.cmap.addItems(list(COLOR_MAPS))
        self.cmap.setToolTip("Colour map")
        self.scale.currentIndexChanged.connect(self.render)
        self.cmap.currentIndexChanged.connect(self.render)
        for widget in (self.previous, self.layer, self.next, self.scale, self.cmap):
            self.controls.addWidget(widget)

        self.grid_plot, self.grid_image = image_plot(self)
        self.grid_plot.scene().sigMouseMoved.connect(self._hover_grid)
        self.grid_plot.scene().sigMouseClicked.connect(self._click_grid)
        self.frame = QGraphicsRectItem()
        self.frame.setPen(QPen(QColor("#ff4040"), 0))
        self.frame.setZValue(10)
        self.grid_plot.addItem(self.frame)
        self.labels: list[pg.TextItem] = []
        self.lines = plot_widget(self)  # 1D and flat layers
        self.lines.scene().sigMouseMoved.connect(self._hover_lines)
        self.detail, self.detail_image = image_plot(self, axes=True)
        self.detail.scene().sigMouseMoved.connect(self._hover_detail)
        self.bar = pg.ColorBarItem(interactive=False, width=12, colorMap=SEQUENTIAL)
        self.bar.setImageItem(self.detail_image, insert_in=self.detail.getPlotItem())
        self.detail_line = plot_widget(self)
        self.detail_line.scene().sigMouseMoved.connect(self._hover_detail_line)
        self.row = row = QBoxLayout(QBoxLayout.Direction.TopToBottom, self.content)
        row.setContentsMargins(0, 0, 0, 0)
        for widget, stretch in ((self.grid_plot, 3), (self.lines, 3), (self.detail, 2), (self.detail_line, 2)):
            row.addWidget(widget, stretch)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        reflow(self.row, event.size().width(), WIDE)

    # -- what to show -------------------------------------------------------------------------------
    def needs(self, context: Context | None) -> dict[str, Any]:
        if context is None:
            return {}
        chosen, used = [], 0
        for node_id in [self.node, *self.layers(context)]:
            shape = context.analysis.nodes[node_id].shape if node_id in context.analysis.nodes else None
            if node_id is None or node_id in chosen or shape is None:
                continue
            size = captured_size(shape)
            if chosen and used + size > ACTIVATION_BUDGET:
                continue
            chosen.append(node_id)
            used += size
        return {"activations": tuple(chosen)}

    @staticmethod
    def layers(context: Context) -> list[str]:
        return [n for n in context.analysis.order if n not in context.analysis.inputs]

    def set_context(self, context: Context) -> None:
        self.context = context
        layers = self.layers(context)
        self.layer.clear()
        for node_id in layers:
            node = context.design.node(node_id)
            self.layer.addItem(f"{node_id}  ({node.type}, {context.shape_text(node_id)})", node_id)
        if self.node not in layers:
            self.node = next((n for n in layers if context.design.node(n).type.startswith("Conv")),
                             layers[0] if layers else None)
        self._sync_combo()

    def set_node(self, node_id: str | None) -> None:
        if node_id is None or node_id == self.node or (self.context and node_id in self.context.analysis.inputs):
            return
        self.node, self.channel = node_id, 0
        self._sync_combo()
        self.needs_changed.emit()
        self.render()

    def step(self, direction: int) -> None:
        if self.context is None or self.node is None:
            return
        layers = self.layers(self.context)
        self.set_node(layers[(layers.index(self.node) + direction) % len(layers)])

    def _sync_combo(self) -> None:
        index = self.layer.findData(self.node)
        if index >= 0:
            self.layer.setCurrentIndex(index)

    def show_snapshot(self, snapshot: Any, context: Context) -> None:
        if self.context is None or context.design is not self.context.design:
            self.set_context(context)
        self.snapshot, self.context = snapshot, context
        self.render()

    # -- drawing ------------------------------------------------------------------------------------
    def render(self) -> None:
        snap, node = self.snapshot, self.node
        if snap is None or node is None:
            return
        activation = snap.activations.get(node)
        if activation is None:
            self.show_message(f"‘{node}’ was not captured at step {snap.step}. "
                              + ("It feeds none of the trained outputs, so training does not compute it."
                                 if node in _not_run(self.context) else
                                 "The next refresh shows it."))
            return
        self.values = values = to_numpy(activation.values)
        shape = activation.shape
        kept = "" if values.shape[:1] == shape[:1] or values.ndim == 1 else f", first {values.shape[0]} shown"
        resized = " (averaged down)" if values.ndim == 3 and values.shape[1:] != shape[-2:] else ""
        self.status.setText(f"{node}: {self.context.shape_text(node)}{kept}{resized} · step {snap.step}, "
                            f"epoch {snap.epoch}")
        self.channel = min(self.channel, values.shape[0] - 1) if values.ndim > 1 else 0
        maps = values.ndim == 3
        self.grid_plot.setVisible(maps)
        self.detail.setVisible(maps)
        self.lines.setVisible(not maps)
        self.detail_line.setVisible(values.ndim == 2)
        if maps:
            self._draw_grid(values)
        else:
            self._draw_lines(values)
        self._draw_detail()
        self.show_content()

    def _draw_grid(self, values: np.ndarray) -> None:
        count, height, width = values.shape
        cmap = COLOR_MAPS[self.cmap.currentText()]
        if self.scale.currentIndex() == 0:
            tiles = colorize(values, cmap, float(values.min()), float(values.max()))
        else:
            low = values.min(axis=(1, 2), keepdims=True)
            high = values.max(axis=(1, 2), keepdims=True)
            tiles = colorize((values - low) / np.where(high > low, high - low, 1), cmap, 0.0, 1.0)
        _, cols = grid_shape(count, width / height)
        gap = max(1, round(max(height, width) / 10))
        self.grid = mosaic(tiles, cols, gap)
        self.grid_image.setImage(self.grid.image, autoLevels=False)
        self._label_tiles(count, max(7, min(10, height // 3)))
        self._frame_channel()
        self.grid_plot.getPlotItem().getViewBox().autoRange(padding=0.02)

    def _label_tiles(self, count: int, size: int) -> None:
        while len(self.labels) < count:
            label = pg.TextItem(anchor=(0, 0))
            label.setZValue(5)
            self.grid_plot.addItem(label)
            self.labels.append(label)
        font = QFont(self.font())
        font.setPixelSize(size)
        for index, label in enumerate(self.labels):
            label.setVisible(index < count)
            if index < count:
                label.setText(str(index), color="#ffffff")
                label.fill = pg.mkBrush(0, 0, 0, 110)
                label.setFont(font)
                label.setPos(*self.grid.origin(index))

    def _frame_channel(self) -> None:
        x, y = self.grid.origin(self.channel)
        h, w = self.grid.tile
        self.frame.setRect(QRectF(x - 0.5, y - 0.5, w + 1, h + 1))

    def _draw_lines(self, values: np.ndarray) -> None:
        plot = self.lines.getPlotItem()
        plot.clear()
        color = text_color(self)
        if values.ndim == 1:  # a flat layer: one bar per value
            plot.addItem(pg.BarGraphItem(x=np.arange(len(values)), height=values, width=0.8,
                                         brush=pg.mkBrush("#2f63c8"), pen=None))
            label_axes(self.lines, "unit", "value")
            plot.getAxis("left").setTicks(None)
        else:  # each channel on its own baseline, scaled to its range
            for c, row in enumerate(values):
                low, high = float(row.min()), float(row.max())
                y = c + 0.85 * (row - low) / (high - low if high > low else 1)
                pen = pg.mkPen("#e4572e" if c == self.channel else "#2f63c8", width=2 if c == self.channel else 1)
                plot.plot(np.arange(len(row)), y, pen=pen)
            label_axes(self.lines, "position", "channel")
            plot.getAxis("left").setTicks([[(c + 0.4, str(c)) for c in range(len(values))]])
        plot.getAxis("left").setTextPen(color)
        plot.autoRange()

    def _draw_detail(self) -> None:
        values = self.values
        if values.ndim == 3:
            channel = values[self.channel]
            low, high = (float(values.min()), float(values.max())) if self.scale.currentIndex() == 0 else \
                (float(channel.min()), float(channel.max()))
            high = high if high > low else low + 1e-6
            self.bar.setColorMap(pg.colormap.get(COLOR_MAPS[self.cmap.currentText()]))
            self.detail_image.setImage(channel, autoLevels=False)
            self.bar.setLevels((low, high))
            self.detail.getPlotItem().setTitle(f"channel {self.channel}", color=text_color(self), size="9pt")
            self.detail.getPlotItem().getViewBox().autoRange(padding=0.02)
        elif values.ndim == 2:
            plot = self.detail_line.getPlotItem()
            plot.clear()
            plot.plot(np.arange(values.shape[1]), values[self.channel], pen=pg.mkPen("#e4572e", width=2))
            label_axes(self.detail_line, "position", "value", f"channel {self.channel}")

    # -- mouse --------------------------------------------------------------------------------------
    def _grid_point(self, pos: QPointF) -> tuple[int, int, int] | None:
        if self.grid is None or self.values is None or self.values.ndim != 3:
            return None
        point = self.grid_plot.getPlotItem().getViewBox().mapSceneToView(pos)
        return self.grid.locate(point.x(), point.y())

    def _hover_grid(self, pos: QPointF) -> None:
        found = self._grid_point(pos)
        if found is not None:
            c, y, x = found
            self.grid_plot.setToolTip(f"channel {c} · ({x}, {y}): {value_text(self.values[c, y, x])}\n"
                                      "click to enlarge")

    def _click_grid(self, event: Any) -> None:
        found = self._grid_point(event.scenePos())
        if found is not None:
            self.select_channel(found[0])

    def select_channel(self, channel: int) -> None:
        self.channel = channel
        if self.values is not None and self.values.ndim == 3:
            self._frame_channel()
        elif self.values is not None and self.values.ndim == 2:
            self._draw_lines(self.values)
        self._draw_detail()

    def _hover_detail(self, pos: QPointF) -> None:
        if self.values is None or self.values.ndim != 3:
            return
        point = self.detail.getPlotItem().getViewBox().mapSceneToView(pos)
        x, y = math.floor(point.x()), math.floor(point.y())
        h, w = self.values.shape[1:]
        if 0 <= x < w and 0 <= y < h:
            text = f"({x}, {y}): {value_text(self.values[self.channel, y, x])}"
            self.detail.getPlotItem().setTitle(f"channel {self.channel} · {text}", color=text_color(self), size="9pt")
            self.detail.setToolTip(text)

    def _hover_line_at(self, plot: pg.PlotWidget, pos: QPointF, row: np.ndarray, what: str) -> None:
        x = round(plot.getPlotItem().getViewBox().mapSceneToView(pos).x())
        if 0 <= x < len(row):
            plot.setToolTip(f"{what} {x}: {value_text(row[x])}")

    def _hover_lines(self, pos: QPointF) -> None:
        if self.values is not None and self.values.ndim == 1:
            self._hover_line_at(self.lines, pos, self.values, "unit")

    def _hover_detail_line(self, pos: QPointF) -> None:
        if self.values is not None and self.values.ndim == 2:
            self._hover_line_at(self.detail_line, pos, self.values[self.channel], "position")

    def clear(self) -> None:
        self.snapshot = None
        super().clear()


def _not_run(context: Context | None) -> set[str]:
    """Softmax outputs: training runs the model up to their logits, so they are never computed."""
    if context is None:
        return set()
    return {n for n in context.analysis.outputs if context.design.node(n).type == "Softmax"}
