"""What every view dock shares: a header (controls, a status line, Export PNG / CSV), a message in
place of the content while there is nothing to show, and pyqtgraph building blocks in the
window's colours.

A view is told what to show through :meth:`View.show_snapshot`, with a
:class:`~cnnstudio.gui.views.context.Context`, and says what it needs captured through
:meth:`View.needs`: keyword arguments of ``cnnstudio.training.probe_request.ProbeRequest``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.core.atomic import WriteFailed, atomic_write_bytes
from cnnstudio.gui.flow_layout import FlowLayout
from cnnstudio.gui.views.context import Context


def text_color(widget: QWidget) -> str:
    return widget.palette().color(QPalette.ColorRole.WindowText).name()


def plot_widget(owner: QWidget) -> pg.PlotWidget:
    """A plot in the window's colours, with readable axes and a faint grid."""
    palette = owner.palette()
    text = text_color(owner)
    plot = pg.PlotWidget(background=palette.color(QPalette.ColorRole.Base))
    item = plot.getPlotItem()
    for side in ("bottom", "left"):
        axis = item.getAxis(side)
        axis.setTextPen(text)
        axis.setPen(pg.mkPen(palette.color(QPalette.ColorRole.Mid)))
        axis.setTickFont(QFont(owner.font()))
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setMenuEnabled(False)
    plot.setMinimumSize(90, 80)
    return plot


def label_axes(plot: pg.PlotWidget, bottom: str, left: str, title: str = "") -> None:
    item = plot.getPlotItem()
    text = text_color(plot.parentWidget() or plot)
    item.getAxis("bottom").setLabel(bottom, color=text)
    item.getAxis("left").setLabel(left, color=text)
    if title:
        item.setTitle(title, color=text, size="9pt")


def image_plot(owner: QWidget, title: str = "", axes: bool = False) -> tuple[pg.PlotWidget, pg.ImageItem]:
    """A plot holding one image, rows down, square pixels, no axes unless asked."""
    plot = plot_widget(owner)
    item = plot.getPlotItem()
    item.invertY(True)
    item.setAspectLocked(True)
    item.showGrid(x=False, y=False)
    if not axes:
        item.hideAxis("bottom")
        item.hideAxis("left")
    if title:
        item.setTitle(title, color=text_color(owner), size="9pt")
    image = pg.ImageItem(axisOrder="row-major")
    plot.addItem(image)
    return plot, image


def set_ticks(plot: pg.PlotWidget, side: str, labels: list[str], offset: float = 0.0) -> None:
    plot.getPlotItem().getAxis(side).setTicks([[(i + offset, text) for i, text in enumerate(labels)]])


class View(QWidget):
    """A view dock's body. Subclasses fill :attr:`controls` and :attr:`content` and implement
    :meth:`show_snapshot`; ``needs_changed`` asks the studio for a new capture request."""

    needs_changed = Signal()
    has_csv = False  # views with curves offer Export CSV (:meth:`csv_table`)

    def __init__(self, empty_text: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.controls = FlowLayout()  # wraps onto a second row in a narrow dock
        self.status = QLabel()
        self.status.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        # the status changes with every snapshot drawn: its text must not size the dock (a longer text
        # would widen the view's minimum, relayout the whole window and repaint all of it, mid-training)
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.png_button = QPushButton("PNG…")
        self.png_button.setToolTip("Export this view as a PNG image")
        self.png_button.clicked.connect(lambda: self.export_png())
        buttons = [self.png_button]
        if self.has_csv:
            self.csv_button = QPushButton("CSV…")
            self.csv_button.setToolTip("Export the curves as a CSV file")
            self.csv_button.clicked.connect(lambda: self.export_csv())
            buttons.append(self.csv_button)
        self.tools = QWidget()
        self.tools.setLayout(self.controls)
        header = QHBoxLayout()
        header.addWidget(self.tools, 3)
        header.addWidget(self.status, 1)  # the free space, its text right-aligned
        for button in buttons:
            header.addWidget(button)
        self.message = QLabel(empty_text)
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        self.message.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.message.setContentsMargins(24, 24, 24, 24)
        self.content = QWidget()
        self.stack = QStackedWidget()
        self.stack.addWidget(self.message)
        self.stack.addWidget(self.content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.setSpacing(4)
        layout.addLayout(header)
        layout.addWidget(self.stack, 1)

    # -- to implement -------------------------------------------------------------------------------
    def needs(self, context: Context | None) -> dict[str, Any]:
        """The ProbeRequest fields this view wants while it is visible."""
        return {}

    def show_snapshot(self, snapshot: Any, context: Context) -> None:
        """Show a snapshot (the latest, or one picked on the timeline)."""

    def csv_table(self) -> tuple[list[str], list[list[Any]]]:
        """The header and rows of the curves shown, for Export CSV."""
        return [], []

    def clear(self) -> None:
        """A new run or design: forget what was shown."""
        self.show_message(self.message.text())

    # -- shared -------------------------------------------------------------------------------------
    def show_message(self, text: str) -> None:
        self.message.setText(text)
        self.stack.setCurrentWidget(self.message)

    def show_content(self) -> None:
        self.stack.setCurrentWidget(self.content)

    @property
    def showing(self) -> bool:
        return self.stack.currentWidget() is self.content

    def export_png(self, path: str | Path | None = None) -> Path | None:
        """The view as it looks (header left out) into a PNG file; asks where when no path is given.
        Encoded in memory, then written atomically: a failed export keeps the previous file."""
        path = path or QFileDialog.getSaveFileName(self, "Export View as PNG", f"{self.objectName() or 'view'}.png",
                                                   "PNG images (*.png)")[0]
        if not path:
            return None
        path = Path(path).with_suffix(".png")
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not self.stack.grab().save(buffer, "PNG"):
            QMessageBox.warning(self, "Cannot Export", f"The view could not be encoded as PNG for {path}.")
            return None
        return self._write(path, data.data())

    def export_csv(self, path: str | Path | None = None) -> Path | None:
        path = path or QFileDialog.getSaveFileName(self, "Export Curves as CSV", f"{self.objectName() or 'curves'}.csv",
                                                   "CSV files (*.csv)")[0]
        if not path:
            return None
        text = io.StringIO(newline="")
        header, rows = self.csv_table()
        writer = csv.writer(text)
        writer.writerow(header)
        writer.writerows(rows)
        return self._write(Path(path).with_suffix(".csv"), text.getvalue().encode("utf-8"))

    def _write(self, path: Path, data: bytes) -> Path | None:
        try:
            atomic_write_bytes(path, data)
        except WriteFailed as error:
            QMessageBox.warning(self, "Cannot Export", f"{path.name} was not written: {error}.")
            return None
        return path


def value_text(value: float) -> str:
    return f"{value:.4g}" if np.isfinite(value) else str(value)
