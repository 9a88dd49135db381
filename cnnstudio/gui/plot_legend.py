"""A plot's legend beside its data, never over it (D17).

pyqtgraph's ``PlotItem.addLegend`` anchors the legend inside the view box, where it covers curves
whatever corner it is given (a long run name, a dozen layers). :func:`legend_beside` puts a
:class:`SideLegend` in the plot item's own grid layout instead, so the view box shrinks to make
room: in a row under the x axis, its entries wrapped into as many columns as the width holds, or,
in a plot much wider than tall (a short bottom dock), in a column right of the plot. Curves
plotted later with a ``name`` join it as they would the inner one.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QSizePolicy

BELOW, RIGHT = (4, 1), (2, 3)  # PlotItem's grid: title row 0, top axis 1, view box 2 (column 1), bottom axis 3
SPACING = 12  # between an entry's sample and label, and between columns
GAP = 4
WIDE = 2.2  # a plot this many times wider than tall has its legend on the right


class SideLegend(pg.LegendItem):
    """A legend placed and sized by its plot's layout, under or right of the data."""

    def __init__(self, plot: pg.PlotItem, **kwargs: Any):
        super().__init__(offset=None, horSpacing=SPACING, **kwargs)
        self.plot = plot
        self.place: tuple[int, int] = BELOW
        self.setMinimumWidth(1)  # its columns follow the plot's width, never the other way round
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)  # its rows, not the plot's height
        plot.layout.addItem(self, *self.place)
        self._gap()
        plot.geometryChanged.connect(self.fit)
        plot.vb.sigResized.connect(lambda *_: self.fit())

    def _gap(self) -> None:
        """A few pixels between the data and the legend (the view box's edge is drawn on its border);
        the legend at the top of its cell."""
        self.plot.layout.setAlignment(self, Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.plot.layout.setRowSpacing(BELOW[0] - 1, GAP if self.place == BELOW else 0)
        self.plot.layout.setColumnSpacing(RIGHT[1] - 1, GAP if self.place == RIGHT else 0)

    def updateSize(self) -> None:  # noqa: N802 - pyqtgraph's name
        """The layout sizes the legend (pyqtgraph's own moves it to the view box's corner)."""
        if hasattr(self, "plot"):  # the base class calls this while it is built
            self.fit()
        self.updateGeometry()

    def fit(self) -> None:
        """Under the plot or right of it, by the plot's shape; as many columns as there is room for."""
        place = RIGHT if self.plot.width() > WIDE * self.plot.height() else BELOW
        if place != self.place:
            self.plot.layout.removeItem(self)
            self.plot.layout.addItem(self, *place)
            self.place = place
            self._gap()
        if not self.items:
            return
        if place == BELOW:
            widest = max(sample.width() + label.preferredWidth() for sample, label in self.items) + 2 * SPACING
            left, _, right, _ = self.layout.getContentsMargins()
            columns = int((self.plot.vb.width() - left - right + SPACING) // widest)
        else:
            row = max(max(sample.height(), label.preferredHeight()) for sample, label in self.items)
            columns = math.ceil(len(self.items) * row / max(self.plot.vb.height(), row))
        columns = max(1, min(len(self.items), columns))
        if columns != self.columnCount:
            self.setColumnCount(columns)


def legend_beside(plot: pg.PlotItem, **kwargs: Any) -> SideLegend:
    """Give ``plot`` a legend beside its data (``kwargs``: LegendItem's, e.g. ``labelTextColor``)."""
    legend = SideLegend(plot, **kwargs)
    plot.legend = legend  # PlotItem.addItem adds named items to it
    return legend
