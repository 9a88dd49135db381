"""Gradients: how strongly each layer is being trained. The norm of each layer's parameter gradients
over the run (log scale), and, for the snapshot shown, the profile from the first layer to the last:
a profile that falls steeply towards the input is the vanishing gradient a residual connection cures."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from cnnstudio.gui.plot_legend import legend_beside
from cnnstudio.gui.views.base import View, label_axes, plot_widget, set_ticks, text_color
from cnnstudio.gui.views.context import Context


class Gradients(View):
    has_csv = True

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Gradient norms are measured while a model trains: start training to see them per layer.",
                         parent)
        self.setObjectName("gradients")
        self.steps: list[int] = []
        self.history: dict[str, list[float]] = {}  # layer -> norm at each recorded step (nan: not recorded)
        self.curves: dict[str, pg.PlotDataItem] = {}
        self.over_time = plot_widget(self)
        self.over_time.getPlotItem().setLogMode(y=True)
        self.legend = legend_beside(self.over_time.getPlotItem(), labelTextColor=text_color(self))
        label_axes(self.over_time, "step", "gradient norm (log)", "per-layer gradient norm over training")
        self.profile = plot_widget(self)
        self.marker = pg.InfiniteLine(angle=90, pen=pg.mkPen("#e4572e", width=1, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.over_time.addItem(self.marker)
        column = QVBoxLayout(self.content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self.over_time, 3)
        column.addWidget(self.profile, 2)

    def needs(self, context: Context | None) -> dict[str, Any]:
        return {"grad_norms": True}

    def record(self, snapshot: Any) -> None:
        """Every snapshot of the run, shown or not, extends the curves."""
        if not snapshot.grad_norms:
            return
        if self.steps and snapshot.step <= self.steps[-1]:
            return
        self.steps.append(snapshot.step)
        for layer in snapshot.grad_norms:
            self.history.setdefault(layer, [float("nan")] * (len(self.steps) - 1))
        for layer, values in self.history.items():
            values.append(snapshot.grad_norms.get(layer, float("nan")))

    def show_snapshot(self, snapshot: Any, context: Context) -> None:
        if not self.steps:
            return
        layers = list(self.history)
        lut = pg.colormap.get("viridis").getLookupTable(0.0, 0.85, max(2, len(layers)))
        for index, layer in enumerate(layers):
            if layer not in self.curves:
                self.curves[layer] = self.over_time.plot([], [], name=layer, pen=pg.mkPen(lut[index][:3], width=2))
            values = np.asarray(self.history[layer])
            self.curves[layer].setData(np.asarray(self.steps), np.where(values > 0, values, np.nan), connect="finite")
        self.marker.setPos(snapshot.step)
        norms = snapshot.grad_norms or {}
        self._draw_profile(layers, [norms.get(layer, np.nan) for layer in layers], lut, snapshot.step)
        self.status.setText(f"{len(layers)} layers · {len(self.steps)} measurements · step {snapshot.step}")
        self.show_content()

    def _draw_profile(self, layers: list[str], values: list[float], lut: np.ndarray, step: int) -> None:
        plot = self.profile.getPlotItem()
        plot.clear()
        heights = np.log10(np.clip(np.asarray(values, dtype=np.float64), 1e-12, None))
        floor = float(np.nanmin(heights)) - 0.5 if np.isfinite(heights).any() else -1.0
        plot.addItem(pg.BarGraphItem(x=np.arange(len(layers)), y0=floor, height=np.nan_to_num(heights - floor),
                                     width=0.7, brushes=[pg.mkBrush(lut[i][:3]) for i in range(len(layers))], pen=None))
        set_ticks(self.profile, "bottom", layers)
        plot.getAxis("left").setTicks(None)
        label_axes(self.profile, "layer, input → output", "log10 norm", f"gradient norm per layer at step {step}")

    def csv_table(self) -> tuple[list[str], list[list[Any]]]:
        layers = list(self.history)
        return ["step", *layers], [[step, *(self.history[layer][i] for layer in layers)] for i, step in enumerate(self.steps)]

    def clear(self) -> None:
        self.steps.clear()
        self.history.clear()
        for curve in self.curves.values():
            self.over_time.removeItem(curve)
            self.legend.removeItem(curve)
        self.curves.clear()
        super().clear()
