"""Live loss and metric curves (pyqtgraph), kept cheap however long the run.

The loss plot has the training loss of every step event (the engine sends at most about 20 per
second), smoothed with an exponential moving average, and the training and validation loss per
epoch; the metrics plot has the task's scalar validation metrics per epoch. The x axis is in epochs
for both. Curves downsample to the pixels they cover (peak mode keeps spikes) and clip to the
view, and redraws are batched on a timer: a plot that redrew 100k points per event would freeze
the window. While a run trains, the x axis spans the whole run (0 to its last epoch), so the
curves show how far it is, and the axes, drawn once into a cached pixmap (grid and tick labels:
most of a redraw's cost), are drawn again only when the loss's range changes
(``bench/bench_studio_training.py`` measures the window's lateness).

:meth:`overlay` draws finished runs from the run store over the plots instead: each run's
validation loss (solid) and training loss (dashed) per epoch, and its main metric, in the run's
colour and named in the loss plot's legend (beside the plot: ``plot_legend.py``; the metric plot
shows the same colours, so it names none).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QColor, QFont, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QBoxLayout,
    QCheckBox,
    QGraphicsItem,
    QHBoxLayout,
    QLabel,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui import theme
from cnnstudio.gui.flow_layout import reflow
from cnnstudio.gui.plot_legend import legend_beside
from cnnstudio.training import events

WIDE = 600  # from this width the loss and metric plots sit side by side
REDRAW_MS = 500  # 2 redraws a second look live and leave the CPU to training
HOLD_FILL = 0.5  # a live y range is kept while the curves fill at least this much of it
MARGIN = 0.25  # room above and below the curves when a y range is set
TRAIN, VAL = ("#2f63c8", "#6b9cf5"), ("#d0662a", "#f2995e")  # (light scheme, dark scheme)
METRIC_COLORS = ["#2e8f4f", "#7446c2", "#b83c8f", "#0f8f7e", "#946024", "#5a6b82"]


def held_range(current: tuple[float, float] | None, low: float, high: float,
               floor: float | None = None) -> tuple[float, float] | None:
    """The y range for curves spanning ``low`` to ``high``, or None to keep ``current``: each change
    redraws the axis and its grid, so the range stays while the curves are inside it and fill at
    least ``HOLD_FILL`` of it. Curves above ``floor`` are shown from it (a loss from 0: as it
    falls, the range never changes); a new range leaves a quarter of the span free on each side."""
    if floor is not None and low >= floor:
        low = floor
    span = max(high - low, abs(high) * 0.05, 1e-9)  # a flat curve still gets a range around it
    if current is not None and current[0] <= low and high <= current[1] and span >= HOLD_FILL * (current[1] - current[0]):
        return None
    return (low if low == floor else low - MARGIN * span), high + MARGIN * span


@dataclass
class Series:
    """One curve's points and its plot item; ``dirty`` until the next redraw. Its bounds are kept
    as points come, so holding the y range costs nothing however long the run."""

    item: pg.PlotDataItem
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    dirty: bool = False
    low: float = math.inf
    high: float = -math.inf
    low_positive: float = math.inf  # the log scale's lower bound

    def append(self, x: float, y: float) -> None:
        self.x.append(x)
        self.y.append(y)
        self._bound(y)
        self.dirty = True

    def set(self, x: list[float], y: list[float]) -> None:
        self.x, self.y = x, y
        self.low, self.high, self.low_positive = math.inf, -math.inf, math.inf
        for value in y:
            self._bound(value)
        self.dirty = True

    def bounds(self, log: bool) -> tuple[float, float] | None:
        """The lowest and highest point (log10 of the positive ones on a log scale); None without any."""
        if log:
            return (math.log10(self.low_positive), math.log10(self.high)) if self.low_positive <= self.high else None
        return (self.low, self.high) if self.low <= self.high else None

    def _bound(self, y: float) -> None:
        if math.isfinite(y):
            self.low, self.high = min(self.low, y), max(self.high, y)
            if y > 0:
                self.low_positive = min(self.low_positive, y)

    def clear(self) -> None:
        self.set([], [])
        self.item.setData([], [])
        self.dirty = False


class Ema:
    """TensorBoard's smoothing: an exponential moving average, debiased so it starts at the data;
    kept incrementally so a long run costs one update per point."""

    def __init__(self, weight: float = 0.0):
        self.reset(weight)

    def reset(self, weight: float) -> None:
        self.weight, self.average, self.count = weight, 0.0, 0

    def add(self, value: float) -> float:
        self.count += 1
        self.average = self.weight * self.average + (1 - self.weight) * value
        return self.average / (1 - self.weight**self.count) if self.weight else value


class Curves(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg.setConfigOptions(antialias=True)
        dark = theme.colors().dark
        self.loss_plot = self._plot("Loss", "loss")
        self.metric_plot = self._plot("Validation metrics", "value")
        self.series: dict[str, Series] = {
            "step": self._series(self.loss_plot, "train (per step)", TRAIN[dark], width=1, alpha=70),
            "smooth": self._series(self.loss_plot, "train (smoothed)", TRAIN[dark], width=2),
            "train": self._series(self.loss_plot, "train (epoch)", TRAIN[dark], width=2, symbol="o"),
            "val": self._series(self.loss_plot, "validation (epoch)", VAL[dark], width=2, symbol="s"),
        }
        self.log_scale = QCheckBox("Log scale")
        self.log_scale.setToolTip("Show the loss on a logarithmic axis")
        self.log_scale.toggled.connect(self._log_toggled)
        self.smoothing = QSlider(Qt.Orientation.Horizontal)
        self.smoothing.setRange(0, 99)
        self.smoothing.setValue(60)
        self.smoothing.setToolTip("Smoothing of the per-step training loss (an exponential moving average)")
        self.smoothing_label = QLabel()
        self.smoothing.valueChanged.connect(self._smoothing_changed)
        self.steps_per_epoch = 1
        self.epochs: float | None = None  # the live run's length, the x axis's span while it is shown
        self.ema = Ema()
        self.overlays: list[tuple[pg.PlotWidget, pg.PlotDataItem]] = []
        self._timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._timer.timeout.connect(self.redraw)

        bar = QHBoxLayout()
        bar.addWidget(self.log_scale)
        bar.addSpacing(16)
        bar.addWidget(QLabel("Smoothing"))
        bar.addWidget(self.smoothing, 1)
        bar.addWidget(self.smoothing_label)
        self.plots = plots = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        plots.addWidget(self.loss_plot, 3)
        plots.addWidget(self.metric_plot, 2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addLayout(bar)
        layout.addLayout(plots, 1)
        self._smoothing_changed(self.smoothing.value())

    # -- building ----------------------------------------------------------------------------------
    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        reflow(self.plots, event.size().width(), WIDE)

    def _plot(self, title: str, y_label: str) -> pg.PlotWidget:
        """A plot in the studio's colours; the legend beside the curves, never over them."""
        palette, colors = self.palette(), theme.colors()
        text = colors.text.name()
        plot = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base))
        item = plot.getPlotItem()
        item.setTitle(title, color=text, size="10pt")
        font = QFont(self.font())
        for side, label in (("bottom", "epoch"), ("left", y_label)):
            axis = item.getAxis(side)
            axis.enableAutoSIPrefix(False)  # accuracy reads 0.97, not 970 x0.001
            axis.setLabel(label, color=text, **{"font-size": "9pt"})
            axis.setTextPen(text)
            axis.setPen(pg.mkPen(colors.muted))
            axis.setTickFont(font)
            axis.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)  # redrawn when its range changes, not per curve
        item.showGrid(x=True, y=True, alpha=0.15)
        legend_beside(item, labelTextColor=text)
        plot.setMinimumSize(200, 120)
        return plot

    def _series(self, plot: pg.PlotWidget, name: str, color: str, width: float = 2, symbol: str | None = None,
                alpha: int = 255) -> Series:
        pen_color = QColor(color)
        pen_color.setAlpha(alpha)
        item = plot.plot([], [], name=name, pen=pg.mkPen(pen_color, width=width), symbol=symbol, symbolSize=6,
                         symbolBrush=QColor(color), symbolPen=None)
        item.setDownsampling(auto=True, method="peak")
        item.setClipToView(True)
        return Series(item)

    # -- events ------------------------------------------------------------------------------------
    def on_event(self, event: Any) -> None:
        if isinstance(event, events.Started):
            if not event.start_step:
                self.clear()
            self.steps_per_epoch = max(event.steps_per_epoch, 1)
            self.epochs = event.total_steps / self.steps_per_epoch
            self._span()
        elif isinstance(event, events.StepMetrics):
            x = event.global_step / self.steps_per_epoch
            self.series["step"].append(x, event.loss)
            self.series["smooth"].append(x, self.ema.add(event.loss))
            self._schedule()
        elif isinstance(event, events.EpochMetrics):
            self.series["train"].append(event.epoch, event.train_loss)
            self.series["val"].append(event.epoch, event.val_loss)
            for name, value in event.metrics.items():
                if isinstance(value, (int, float)) and math.isfinite(value):
                    self._metric(name).append(event.epoch, float(value))
            self._schedule()

    def overlay(self, runs: list[tuple[str, str, list[dict[str, Any]], str]]) -> None:
        """Show ``(name, colour, metrics records, main metric)`` for each run; [] returns to the live run."""
        for plot, item in self.overlays:
            plot.getPlotItem().removeItem(item)
        self.overlays.clear()
        for key, series in self.series.items():  # the live run's curves step aside, legend entries too
            legend = (self.metric_plot if key.startswith("metric:") else self.loss_plot).getPlotItem().legend
            legend.removeItem(series.item)
            if not runs:
                legend.addItem(series.item, series.item.name())
            series.item.setVisible(not runs)
        self._span(live=not runs)
        for name, color, records, metric in runs:
            epochs = [r["epoch"] for r in records]
            for plot, key, label, style in ((self.loss_plot, "val_loss", f"{name} (validation)", Qt.PenStyle.SolidLine),
                                            (self.loss_plot, "train_loss", None, Qt.PenStyle.DashLine),
                                            (self.metric_plot, metric, None, Qt.PenStyle.SolidLine)):
                points = [(e, r[key]) for e, r in zip(epochs, records) if isinstance(r.get(key), (int, float))]
                item = plot.plot([p[0] for p in points], [p[1] for p in points], name=label,
                                 pen=pg.mkPen(QColor(color), width=2, style=style),
                                 symbol="o" if style == Qt.PenStyle.SolidLine else None, symbolSize=5,
                                 symbolBrush=QColor(color), symbolPen=None)
                self.overlays.append((plot, item))
        self.metric_plot.getPlotItem().setTitle(
            f"Validation {runs[0][3].removeprefix('val_')}" if runs else "Validation metrics", color=theme.colors().text.name(),
            size="10pt")

    def _span(self, live: bool = True) -> None:
        """The x axis: the live run's epochs (fixed: the axis is not redrawn as the curves grow), or
        fitted to the finished runs shown."""
        for plot in (self.loss_plot, self.metric_plot):
            if live and self.epochs:
                plot.setXRange(0, self.epochs, padding=0.04)  # room for the last epoch's symbols
                plot.enableAutoRange(y=True)  # until the next redraw holds it (see held_range)
            else:
                plot.enableAutoRange(x=True, y=True)

    def _metric(self, name: str) -> Series:
        key = f"metric:{name}"
        if key not in self.series:
            color = METRIC_COLORS[sum(k.startswith("metric:") for k in self.series) % len(METRIC_COLORS)]
            self.series[key] = self._series(self.metric_plot, name.removeprefix("val_"), color, symbol="o")
        return self.series[key]

    def _schedule(self) -> None:
        if not self._timer.isActive():
            self._timer.start()

    def redraw(self) -> None:
        """Hand every changed curve its points; pyqtgraph draws only what the view needs."""
        for series in self.series.values():
            if series.dirty:
                series.item.setData(series.x, series.y)
                series.dirty = False
        if self.epochs and not self.overlays:  # the live run: its y ranges are held (finished runs auto-range)
            log = self.log_scale.isChecked()
            self._hold(self.loss_plot, [s for k, s in self.series.items() if not k.startswith("metric:")], log,
                       None if log else 0.0)
            self._hold(self.metric_plot, [s for k, s in self.series.items() if k.startswith("metric:")], False, None)

    @staticmethod
    def _hold(plot: pg.PlotWidget, series: list[Series], log: bool, floor: float | None) -> None:
        bounds = [b for b in (s.bounds(log) for s in series) if b is not None]
        if not bounds:
            return
        box = plot.getPlotItem().vb
        current = None if box.autoRangeEnabled()[1] else tuple(box.viewRange()[1])
        wanted = held_range(current, min(b[0] for b in bounds), max(b[1] for b in bounds), floor)
        if wanted is not None:
            plot.setYRange(*wanted, padding=0)

    def clear(self) -> None:
        for key in [k for k in self.series if k.startswith("metric:")]:
            self.metric_plot.getPlotItem().removeItem(self.series.pop(key).item)
        for series in self.series.values():
            series.clear()
        self.ema.reset(self.ema.weight)

    def _log_toggled(self, on: bool) -> None:
        self.loss_plot.setLogMode(y=on)
        self.loss_plot.enableAutoRange(y=True)  # the held range was in the other scale's units
        self._schedule()

    def _smoothing_changed(self, value: int) -> None:
        self.smoothing_label.setText(f"{value / 100:.2f}")
        self.ema.reset(value / 100)
        steps, smooth = self.series["step"], self.series["smooth"]
        smooth.set(list(steps.x), [self.ema.add(v) for v in steps.y])
        self._schedule()
