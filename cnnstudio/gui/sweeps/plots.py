"""The sweep's three plots (pyqtgraph): values against the metric as parallel coordinates, Optuna's
parameter importance as bars, and every trial's metric per epoch overlaid. Pruned trials are grey."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QWidget

from cnnstudio.gui import theme

GREY = QColor(150, 150, 150, 110)


def plot_widget(owner: QWidget, title: str, x_label: str, y_label: str) -> pg.PlotWidget:
    palette, colors = owner.palette(), theme.colors()
    plot = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base))
    item = plot.getPlotItem()
    item.setTitle(title, color=colors.text.name(), size="10pt")
    for side, label in (("bottom", x_label), ("left", y_label)):
        axis = item.getAxis(side)
        axis.enableAutoSIPrefix(False)
        axis.setLabel(label, color=colors.text.name())
        axis.setTextPen(colors.text.name())
        axis.setPen(pg.mkPen(colors.muted))
    item.showGrid(x=True, y=True, alpha=0.15)
    plot.setMinimumSize(220, 140)
    return plot


def _color(value: float | None, low: float, high: float) -> QColor:
    """The metric's place between the worst and best trial, on the viridis map."""
    if value is None:
        return GREY
    where = 0.5 if high == low else (value - low) / (high - low)
    return pg.colormap.get("viridis").map(where, mode="qcolor")


def _position(value: Any, values: list[Any]) -> float:
    """A value's place on its axis, from 0 to 1: numbers by their range (log when they span decades),
    anything else by its order of appearance."""
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len(values) and numbers:
        low, high = min(numbers), max(numbers)
        if high == low:
            return 0.5
        if low > 0 and high / low >= 100:
            return (math.log(value) - math.log(low)) / (math.log(high) - math.log(low))
        return (value - low) / (high - low)
    order = list(dict.fromkeys(map(str, values)))
    return order.index(str(value)) / max(len(order) - 1, 1)


def parallel(plot: pg.PlotWidget, sweep: dict[str, Any]) -> None:
    """One line per finished trial through an axis per KEY and one for the metric (last)."""
    plot.clear()
    trials = [t for t in sweep["trials"] if t["state"] in ("complete", "pruned")]
    keys = list(dict.fromkeys(k for t in trials for k in t["params"]))
    if not trials or not keys:
        return
    values = [t["value"] for t in trials if t["value"] is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    columns = {k: [t["params"].get(k) for t in trials] for k in keys}
    for trial in trials:
        ys = [_position(trial["params"].get(k), columns[k]) for k in keys]
        metric = trial["value"]
        if metric is not None:  # a pruned trial has none: its line ends at the last value, not mid-axis
            ys.append(0.5 if high == low else (metric - low) / (high - low))
        color = _color(metric if trial["state"] == "complete" else None, low, high)
        plot.plot(list(range(len(ys))), ys, pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5,
                  symbolBrush=color, symbolPen=None)
    labels = [k.split(".", 1)[1] for k in keys] + [sweep["metric"] or "value"]
    plot.getPlotItem().getAxis("bottom").setTicks([list(enumerate(labels))])
    plot.setXRange(-0.3, len(labels) - 0.7, padding=0)  # room for the first and last axis names
    plot.getPlotItem().getAxis("left").setTicks([[(0, "low"), (1, "high")]])


def importance(plot: pg.PlotWidget, scores: dict[str, float]) -> None:
    """Optuna's importance of each KEY (PED-ANOVA: how much the best trials' values of it differ from
    all trials'), the shares summing to 1."""
    plot.clear()
    if not scores:
        return
    names = list(scores)
    plot.addItem(pg.BarGraphItem(x0=0, y=list(range(len(names))), height=0.6, width=[scores[n] for n in names],
                                 brush=theme.colors().selection))
    plot.getPlotItem().getAxis("left").setTicks([[(i, n.split(".", 1)[1]) for i, n in enumerate(names)]])
    plot.setXRange(0, 1)


def curves(plot: pg.PlotWidget, sweep: dict[str, Any], histories: dict[int, list[float]]) -> None:
    """Each trial's metric per epoch; pruned and failed trials grey, a running one dashed in the
    selection colour (it has no result yet), the rest coloured by their result."""
    plot.clear()
    values = [t["value"] for t in sweep["trials"] if t["value"] is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    for trial in sweep["trials"]:
        history = histories.get(trial["number"]) or []
        if not history:
            continue
        running = trial["state"] == "running"
        color = theme.colors().selection if running else _color(trial["value"], low, high)
        pen = pg.mkPen(color, width=2, style=Qt.PenStyle.DashLine if running else Qt.PenStyle.SolidLine)
        plot.plot(list(range(1, len(history) + 1)), history, pen=pen, symbol="o", symbolSize=4,
                  symbolBrush=color, symbolPen=None)
