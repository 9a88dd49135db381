"""Filters: the kernels of a convolution layer as images, live. A first layer that looks at RGB
images shows each filter in colour; deeper layers show one small map per (filter, input channel),
blue for negative weights, white for zero, red for positive, on one scale per layer."""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QWidget

from cnnstudio.gui.views.base import View, image_plot, set_ticks, text_color, value_text
from cnnstudio.gui.views.context import Context
from cnnstudio.gui.views.imaging import DIVERGING, Mosaic, colorize, grid_shape, mosaic, rgba_image, to_numpy


class Filters(View):
    def __init__(self, parent: QWidget | None = None):
        super().__init__("The kernels of the convolution layers appear here while a model trains, or after it.", parent)
        self.setObjectName("filters")
        self.snapshot: Any = None
        self.weights: np.ndarray | None = None
        self.grid: Mosaic | None = None
        self.rgb = False
        self.wanted: str | None = None  # the layer last selected on the canvas, shown once it is captured
        self.layer = QComboBox()
        self.layer.setMinimumContentsLength(16)
        self.layer.setToolTip("The convolution layer whose kernels are shown")
        self.layer.activated.connect(lambda _: self.render())
        self.controls.addWidget(self.layer)
        self.plot, self.image = image_plot(self, axes=True)
        self.plot.getPlotItem().showAxis("top")
        self.plot.getPlotItem().hideAxis("bottom")
        self.plot.scene().sigMouseMoved.connect(self._hover)
        row = QHBoxLayout(self.content)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.plot)

    def needs(self, context: Context | None) -> dict[str, Any]:
        return {"filters": True}

    def set_layer(self, node_id: str) -> None:
        """Show this layer's kernels if it is a convolution (the canvas selection follows here)."""
        self.wanted = node_id
        index = self.layer.findData(node_id)
        if index >= 0 and index != self.layer.currentIndex():
            self.layer.setCurrentIndex(index)
            self.render()

    def show_snapshot(self, snapshot: Any, context: Context) -> None:
        self.snapshot = snapshot
        names = list(snapshot.filters)
        if names != [self.layer.itemData(i) for i in range(self.layer.count())]:
            current = self.layer.currentData() or self.wanted
            self.layer.clear()
            for node_id in names:
                self.layer.addItem(f"{node_id}  ({context.design.node(node_id).type})", node_id)
            self.layer.setCurrentIndex(max(0, self.layer.findData(current)))
        self.render()

    def render(self) -> None:
        snap = self.snapshot
        node = self.layer.currentData()
        if snap is None:
            return
        if node is None:
            self.show_message("This design has no convolution layer.")
            return
        weights = to_numpy(snap.filters[node])
        if weights.ndim == 3:  # 1D kernels [out, in, k]: strips a few pixels high
            weights = np.repeat(weights[:, :, None, :], max(1, weights.shape[-1] // 3), 2)
        self.weights = weights
        out, inputs, kh, kw = weights.shape
        bound = float(np.abs(weights).max()) or 1.0
        self.rgb = inputs == 3 and snap.probe and snap.probe[0].shape[0] == 3 and node == next(iter(snap.filters))
        plot = self.plot.getPlotItem()
        if self.rgb:  # a first layer on RGB images: each filter as a colour image, grey = 0
            tiles = np.stack([rgba_image(w / (2 * bound) + 0.5) for w in weights])
            _, cols = grid_shape(out)
            cols = min(cols, out)
        else:
            tiles = colorize(weights.reshape(out * inputs, kh, kw), DIVERGING, -bound, bound)
            cols = inputs if inputs > 1 else grid_shape(out, kw / kh)[1]
        self.grid = mosaic(tiles, cols, gap=max(1, round(max(kh, kw) / 5)))
        self.image.setImage(self.grid.image, autoLevels=False)
        h, w = self.grid.tile
        step_x, step_y = w + self.grid.gap, h + self.grid.gap
        rows = -(-self.grid.count // cols)
        if inputs > 1 and not self.rgb:
            plot.getAxis("top").setTicks([[(c * step_x + w / 2, f"in {c}") for c in range(cols)]])
            plot.getAxis("left").setTicks([[(r * step_y + h / 2, f"{r}") for r in range(rows)]])
            plot.getAxis("left").setLabel("filter", color=text_color(self))
        else:
            set_ticks(self.plot, "top", [])
            plot.getAxis("left").setTicks([[(r * step_y + h / 2, str(r * cols)) for r in range(rows)]])
            plot.getAxis("left").setLabel("filter", color=text_color(self))
        kernel = "×".join(str(side) for side in snap.filters[node].shape[2:])
        self.status.setText(f"{node}: {out} filters × {inputs} input channel{'s' * (inputs != 1)}, {kernel} · "
                            f"|w| ≤ {bound:.3g} · step {snap.step}")
        plot.getViewBox().autoRange(padding=0.02)
        self.show_content()

    def _hover(self, pos: QPointF) -> None:
        if self.grid is None or self.weights is None:
            return
        point = self.plot.getPlotItem().getViewBox().mapSceneToView(pos)
        found = self.grid.locate(point.x(), point.y())
        if found is None:
            return
        index, y, x = found
        if self.rgb:
            r, g, b = self.weights[index, :, y, x]
            self.plot.setToolTip(f"filter {index} · ({x}, {y}): R {r:.3g}, G {g:.3g}, B {b:.3g}")
        else:
            out, inputs = divmod(index, self.weights.shape[1])
            self.plot.setToolTip(f"filter {out}, input channel {inputs} · ({x}, {y}): "
                                 f"{value_text(self.weights[out, inputs, y, x])}")

    def clear(self) -> None:
        self.snapshot = None
        super().clear()
