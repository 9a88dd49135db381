"""Filters: the kernels of a convolution layer as images, live. A first layer that looks at RGB
images shows each filter in colour; deeper layers show one small map per (filter, input channel),
blue for negative weights, white for zero, red for positive, on one scale per layer.

Beside the weights, "What it looks for" shows, per filter, the image that most excites it (made in
the background, see ``cnnstudio.gui.images.look_for``); it forms live and is exported with the view.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPointF, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QPushButton, QWidget

from cnnstudio.gui.views.base import View, image_plot, set_ticks, text_color, value_text
from cnnstudio.gui.views.context import Context
from cnnstudio.gui.views.imaging import DIVERGING, Mosaic, colorize, grid_shape, mosaic, rgba_image, to_numpy


class Filters(View):
    look_for_requested = Signal(str)  # a convolution's node id

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
        self.look_button = QPushButton("What It Looks For")
        self.look_button.setToolTip("Make, for each filter, the image that excites it most (with these weights)")
        self.look_button.clicked.connect(self._look_for)
        self.controls.addWidget(self.look_button)
        self.plot, self.image = image_plot(self, axes=True)
        self.plot.getPlotItem().showAxis("top")
        self.plot.getPlotItem().hideAxis("bottom")
        self.plot.scene().sigMouseMoved.connect(self._hover)
        self.look_plot, self.look_image = image_plot(self, "what it looks for")
        self.look_plot.hide()
        self.look_grid: Mosaic | None = None
        self.look_scores: list[float] = []
        self.look_plot.scene().sigMouseMoved.connect(self._hover_look)
        row = QHBoxLayout(self.content)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.plot)
        row.addWidget(self.look_plot)

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

    def _look_for(self) -> None:
        node = self.layer.currentData()
        if node is not None:
            self.look_for_requested.emit(node)

    def show_look_for(self, images: np.ndarray, layer: str, note: str, scores: list[float] | None = None,
                      live: bool = False) -> None:
        """Images [N, C, H, W] in [0, 1], one per filter of ``layer``, beside the weights; ``live``: one
        sheet of them all, still forming (no tile to hover yet)."""
        tiles = np.stack([rgba_image(image) for image in images])
        grid = mosaic(tiles, grid_shape(len(tiles))[1], gap=max(1, images.shape[-1] // 14))
        self.look_grid = None if live else grid
        self.look_scores = scores or []
        self.look_image.setImage(grid.image, autoLevels=False)
        self.look_plot.getPlotItem().setTitle(f"what {layer}'s filters look for · {note}", color=text_color(self),
                                              size="9pt")
        self.look_plot.getPlotItem().getViewBox().autoRange(padding=0.02)
        self.look_plot.show()
        self.show_content()

    def _hover_look(self, pos: QPointF) -> None:
        if self.look_grid is None:
            return
        point = self.look_plot.getPlotItem().getViewBox().mapSceneToView(pos)
        found = self.look_grid.locate(point.x(), point.y())
        if found is not None:
            index = found[0]
            score = f": mean activation {value_text(self.look_scores[index])}" if index < len(self.look_scores) else ""
            self.look_plot.setToolTip(f"the image filter {index} responds to most{score}")

    def clear_look_for(self) -> None:
        self.look_grid = None
        self.look_plot.hide()

    def clear(self) -> None:
        self.snapshot = None
        self.layer.clear()  # another design's layers are not offered
        self.clear_look_for()
        super().clear()
