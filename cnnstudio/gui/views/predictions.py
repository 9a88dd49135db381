"""Predictions: what the network makes of the probe, drawn the way its task speaks.

Classification: the class probabilities as bars, the validation confusion matrix, and which pixels
drove the decision (input-gradient saliency and Grad-CAM). Localization and detection: the boxes
on the image. Segmentation: the mask over the image. Autoencoders: input, noisy input and
reconstruction side by side. Metric learning: see the Embeddings view.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFontMetrics, QPen, QResizeEvent
from PySide6.QtWidgets import QGraphicsRectItem, QGridLayout, QWidget

from cnnstudio.gui.views.base import View, image_plot, label_axes, plot_widget, set_ticks, text_color
from cnnstudio.gui.views.context import Context
from cnnstudio.gui.views.imaging import (
    SEQUENTIAL,
    class_color,
    colorize,
    label_overlay,
    overlay,
    rgba_image,
    to_numpy,
)

TITLE_PT = 9
TITLE_MARGIN = 16  # pixels of a plot's width its title does not get
WIDE = 620  # from this width the bars and the confusion matrix sit side by side
LABEL_PX = 14  # the least height of a bar (or width of a matrix cell) that takes a class name
COUNT_PX = 24  # the least width of a matrix cell that takes its count (before any is measured)
MAX_MATRIX_TEXT = 16  # classes up to which the confusion matrix prints its counts
INSIDE_BAR = 0.7  # probabilities above which the bar's label is written inside the bar


class Predictions(View):
    has_csv = True

    def __init__(self, parent: QWidget | None = None):
        super().__init__("The network's predictions for the probe appear here while a model trains, or after it.",
                         parent)
        self.setObjectName("predictions")
        self.snapshot: Any = None
        self.context: Context | None = None
        self.confusion: np.ndarray | None = None
        self.confusion_epoch: int | None = None
        self.probabilities: np.ndarray | None = None
        self.pictures = [image_plot(self) for _ in range(3)]
        self.overlays: list[tuple[pg.PlotWidget, Any]] = []  # boxes and keys drawn over a picture
        self.bars = plot_widget(self)
        self.matrix, self.matrix_image = image_plot(self, axes=True)
        self.matrix_text: list[pg.TextItem] = []
        self.matrix_counts = 0  # how many of matrix_text hold a count
        self.matrix_drawn: tuple[Any, ...] | None = None  # what the matrix shows: redrawn only when it changes
        self.bar_text: list[pg.TextItem] = []
        self.bar_item = pg.BarGraphItem(x0=0, y=[], height=0.7, width=[], pen=None)
        self.bars.addItem(self.bar_item)
        self.grid = grid = QGridLayout(self.content)
        grid.setContentsMargins(0, 0, 0, 0)
        for column, (plot, _) in enumerate(self.pictures):
            grid.addWidget(plot, 0, column)
        self.wide: bool | None = None
        grid.setRowStretch(0, 2)
        grid.setRowStretch(1, 3)
        self._arrange(wide=False)  # a narrow dock first; widened, the charts go side by side
        for plot in (self.bars, self.matrix):  # labels follow the plots' own size
            plot.getPlotItem().getViewBox().sigResized.connect(lambda *_: self._thin_labels())
        for plot in (*(p for p, _ in self.pictures), self.bars, self.matrix):
            plot.getPlotItem().getViewBox().sigResized.connect(lambda *_: self._titles())

    def _arrange(self, wide: bool) -> None:
        """The bars beside the confusion matrix in a wide dock, above it in a narrow one."""
        if wide == self.wide:
            return
        self.wide = wide
        self.grid.removeWidget(self.bars)
        self.grid.removeWidget(self.matrix)
        if wide:
            self.grid.addWidget(self.bars, 1, 0)
            self.grid.addWidget(self.matrix, 1, 1, 1, 2)
        else:
            self.grid.addWidget(self.bars, 1, 0, 1, 3)
            self.grid.addWidget(self.matrix, 2, 0, 1, 3)
        self._charts_stretch(self.grid.rowStretch(1))

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._arrange(event.size().width() >= WIDE)
        self._thin_labels()
        self._titles()

    def _thin_labels(self) -> None:
        """Only labels that fit are shown: bar values need a bar's height, matrix counts a cell's
        width, and class names on the axes are thinned to every n-th one."""
        box = self.bars.getPlotItem().getViewBox()
        bars = len(self.probabilities) if self.probabilities is not None else 0
        row = box.height() / max(bars, 1)
        best = int(self.probabilities.argmax()) if bars else -1
        label = self.snapshot.label if self.snapshot is not None else None
        tall = max((t.boundingRect().height() for t in self.bar_text[:bars]), default=LABEL_PX)
        for i, text in enumerate(self.bar_text[:bars]):
            text.setVisible(row >= tall or i in (best, label))
        if self.context is not None and bars:
            step = max(1, math.ceil(LABEL_PX / max(row, 1)))
            set_ticks(self.bars, "left", [self.context.class_name(i) if i % step == 0 else "" for i in range(bars)])
        if self.confusion is not None and self.context is not None:
            count = len(self.confusion)
            matrix_box = self.matrix.getPlotItem().getViewBox()
            cell = min(matrix_box.width(), matrix_box.height()) / max(count, 1)
            counts = self.matrix_text[:self.matrix_counts]
            wide = max((max(t.boundingRect().width(), t.boundingRect().height()) for t in counts), default=COUNT_PX)
            for i, text in enumerate(self.matrix_text):
                text.setVisible(i < self.matrix_counts and cell >= wide)
            step = max(1, math.ceil(LABEL_PX / max(cell, 1)))
            names = [self.context.class_name(i) if i % step == 0 else "" for i in range(count)]
            set_ticks(self.matrix, "left", names, 0.5)
            set_ticks(self.matrix, "bottom", names, 0.5)

    def needs(self, context: Context | None) -> dict[str, Any]:
        return {"predictions": True, "saliency": context is not None and context.task == "classification"}

    # -- inputs -------------------------------------------------------------------------------------
    def on_metrics(self, event: Any, context: Context | None) -> None:
        """The confusion matrix of each epoch's validation."""
        matrix = getattr(event, "metrics", {}).get("val_confusion")
        if matrix is not None:
            self.confusion, self.confusion_epoch = np.asarray(matrix, dtype=np.float64), event.epoch
            if self.isVisible() and self.showing and context is not None:
                self._draw_matrix(context)

    def show_snapshot(self, snapshot: Any, context: Context) -> None:
        self.snapshot, self.context = snapshot, context
        if snapshot.confusion is not None:
            self.confusion, self.confusion_epoch = np.asarray(snapshot.confusion, dtype=np.float64), None
        if snapshot.prediction is None:
            return
        for plot, item in self.overlays:
            plot.removeItem(item)
        self.overlays.clear()
        image = to_numpy(snapshot.probe[0])
        draw = {"classification": self._classification, "localization": self._boxes, "detection": self._boxes,
                "segmentation": self._segmentation, "reconstruction": self._reconstruction}.get(context.task)
        if image.ndim != 3 and context.task != "classification":
            self.show_message(f"Predictions are drawn for image inputs; this {context.task} design takes sequences.")
            return
        if draw is None:
            self.show_message("A metric-learning network predicts an embedding: see the Embeddings view.")
            return
        draw(image, snapshot, context)
        self.status.setText(f"step {snapshot.step}, epoch {snapshot.epoch}")
        self.show_content()

    # -- per task -----------------------------------------------------------------------------------
    def _titles(self) -> None:
        """Each plot's title elided to the plot's width (the whole title is its tooltip)."""
        for plot in (*(p for p, _ in self.pictures), self.bars, self.matrix):
            title = plot.property("full_title")
            if title and not plot.isHidden():
                item = plot.getPlotItem()
                item.setTitle(title, color=text_color(self), size=f"{TITLE_PT}pt")  # sets the font it is drawn in
                metrics = QFontMetrics(item.titleLabel.item.font())
                room = max(plot.width() - TITLE_MARGIN, 20)
                if metrics.horizontalAdvance(title) > room:
                    item.setTitle(metrics.elidedText(title, Qt.TextElideMode.ElideRight, room),
                                  color=text_color(self), size=f"{TITLE_PT}pt")

    def _title(self, plot: pg.PlotWidget, title: str) -> None:
        plot.setProperty("full_title", title)
        plot.setToolTip(title)
        self._titles()

    def _pictures(self, images: list[tuple[str, np.ndarray]]) -> None:
        for index, (plot, item) in enumerate(self.pictures):
            plot.setVisible(index < len(images))
            if index < len(images):
                title, rgba = images[index]
                item.setImage(rgba, autoLevels=False)
                self._title(plot, title)
                plot.getPlotItem().getViewBox().autoRange(padding=0.02)

    def _classification(self, image: np.ndarray, snapshot: Any, context: Context) -> None:
        probs = to_numpy(snapshot.prediction)
        self.probabilities = probs
        best = int(probs.argmax())
        truth = f", true: {context.class_name(snapshot.label)}" if snapshot.label is not None else ""
        pictures: list[tuple[str, np.ndarray]] = []
        s = snapshot.saliency
        if image.ndim == 3:
            pictures.append((f"probe → {context.class_name(best)} ({probs[best]:.0%}){truth}", rgba_image(image)))
            if s is not None:
                pictures.append(("saliency: |∂score/∂pixel|", overlay(image, to_numpy(s.gradient))))
                if s.cam is not None:
                    pictures.append((f"Grad-CAM on {s.cam_node}", overlay(image, to_numpy(s.cam), "turbo", 0.55)))
        self._pictures(pictures)
        self._draw_bars(probs, best, snapshot.label, context)
        self._draw_matrix(context)

    def _draw_bars(self, probs: np.ndarray, best: int, label: int | None, context: Context) -> None:
        self.bars.setVisible(True)
        self._charts_stretch(3)
        plot = self.bars.getPlotItem()
        count = len(probs)
        colors = [QColor("#e4572e") if i == best else QColor("#2f63c8") for i in range(count)]
        self.bar_item.setOpts(y=np.arange(count), width=probs, brushes=[pg.mkBrush(c) for c in colors])
        while len(self.bar_text) < count:
            self.bar_text.append(pg.TextItem(color=text_color(self), anchor=(0, 0.5)))
            plot.addItem(self.bar_text[-1])
        for i, text in enumerate(self.bar_text):
            text.setVisible(i < count)
            if i < count:
                p = float(probs[i])
                inside = p > INSIDE_BAR  # the axis ends at 1: the value of a long bar is written inside it
                text.setText(f"{p:.1%}" + ("  ← true" if i == label else ""),
                             color="#ffffff" if inside else text_color(self))
                text.setAnchor((1, 0.5) if inside else (0, 0.5))
                text.setPos(p - 0.01 if inside else p + 0.01, i)
        set_ticks(self.bars, "left", [context.class_name(i) for i in range(count)])
        plot.invertY(True)
        plot.setXRange(0, 1.0, padding=0)
        plot.setYRange(-0.6, count - 0.4, padding=0)
        label_axes(self.bars, "probability", "", "")
        self._title(self.bars, "class probabilities for the probe")
        self._thin_labels()

    def _draw_matrix(self, context: Context) -> None:
        matrix = self.confusion
        self.matrix.setVisible(matrix is not None)
        drawn = (id(matrix), self.confusion_epoch, tuple(context.classes))
        if matrix is None or drawn == self.matrix_drawn:
            return
        self.matrix_drawn = drawn
        count = len(matrix)
        rows = matrix.sum(1, keepdims=True)
        share = matrix / np.where(rows > 0, rows, 1)
        self.matrix_image.setImage(colorize(share, SEQUENTIAL, 0.0, 1.0), autoLevels=False)
        cells = [(r, c, value) for (r, c), value in np.ndenumerate(matrix) if value] if count <= MAX_MATRIX_TEXT else []
        self.matrix_counts = len(cells)
        while len(self.matrix_text) < len(cells):  # the count labels are kept and reused, not re-created
            self.matrix_text.append(pg.TextItem(anchor=(0.5, 0.5)))
            self.matrix.addItem(self.matrix_text[-1])
        for i, text in enumerate(self.matrix_text):
            text.setVisible(i < len(cells))
            if i < len(cells):
                r, c, value = cells[i]
                text.setText(f"{int(value)}", color="#000000" if share[r, c] > 0.6 else "#ffffff")
                text.setPos(c + 0.5, r + 0.5)
        names = [context.class_name(i) for i in range(count)]
        set_ticks(self.matrix, "left", names, 0.5)
        set_ticks(self.matrix, "bottom", names, 0.5)
        when = f" (epoch {self.confusion_epoch})" if self.confusion_epoch else ""
        label_axes(self.matrix, "predicted", "true", "")
        self._title(self.matrix, f"validation confusion{when}, accuracy {np.trace(matrix) / max(matrix.sum(), 1):.1%}")
        self.matrix.getPlotItem().getViewBox().autoRange(padding=0.02)
        self._thin_labels()

    def _boxes(self, image: np.ndarray, snapshot: Any, context: Context) -> None:
        rows = to_numpy(snapshot.prediction).reshape(-1, 6)
        rows = rows[rows[:, 4] >= 0]
        self._pictures([(f"{len(rows)} box{'es' * (len(rows) != 1)} found", rgba_image(image))])
        plot = self.pictures[0][0]
        height, width = image.shape[1:]
        for x, y, w, h, cls, score in rows:
            color = class_color(int(cls))
            rect = QGraphicsRectItem(QRectF((x - w / 2) * width, (y - h / 2) * height, w * width, h * height))
            pen = QPen(color, 2)
            pen.setCosmetic(True)
            rect.setPen(pen)
            label = pg.TextItem(f"{context.class_name(int(cls))} {score:.0%}", color="#ffffff",
                                fill=pg.mkBrush(color), anchor=(0, 1))
            label.setPos((x - w / 2) * width, (y - h / 2) * height)
            for item in (rect, label):
                plot.addItem(item)
                self.overlays.append((plot, item))
        self._hide_charts()

    def _segmentation(self, image: np.ndarray, snapshot: Any, context: Context) -> None:
        mask = to_numpy(snapshot.prediction)
        if mask.shape != image.shape[1:]:
            mask = mask[np.linspace(0, mask.shape[0] - 1, image.shape[1]).round().astype(int)][
                :, np.linspace(0, mask.shape[1] - 1, image.shape[2]).round().astype(int)]
        found = sorted(int(v) for v in np.unique(mask) if v > 0)
        legend = ", ".join(context.class_name(v - 1) for v in found) or "nothing"
        self._pictures([("probe", rgba_image(image)), (f"predicted mask: {legend}", label_overlay(image, mask))])
        plot = self.pictures[1][0]
        for v in found:  # a colour key beside the mask
            swatch = pg.TextItem(f"■ {context.class_name(v - 1)}", color=class_color(v - 1), anchor=(0, 0))
            swatch.setPos(image.shape[2] + 1, 2 + 3 * found.index(v) * max(1, image.shape[1] // 28))
            plot.addItem(swatch)
            self.overlays.append((plot, swatch))
        self._hide_charts()

    def _reconstruction(self, image: np.ndarray, snapshot: Any, context: Context) -> None:
        output = np.clip(to_numpy(snapshot.prediction), 0, 1)
        error = float(np.mean((output - image[: output.shape[0]]) ** 2))
        pictures = [("input", rgba_image(image))]
        if snapshot.seen is not None:
            pictures.append(("noisy input (what the network sees)", rgba_image(np.clip(to_numpy(snapshot.seen), 0, 1))))
        pictures.append((f"reconstruction (MSE {error:.4f})", rgba_image(output)))
        self._pictures(pictures)
        self._hide_charts()

    def _hide_charts(self) -> None:
        self.probabilities = None
        self.bars.setVisible(False)
        self.matrix.setVisible(False)
        self._charts_stretch(0)  # the pictures take the whole height

    def _charts_stretch(self, stretch: int) -> None:
        # setRowStretch invalidates the layout even when nothing changes, and the invalidation reaches
        # the main window, which then repaints whole on every snapshot drawn: set it only on a change
        for row, wanted in ((1, stretch), (2, 0 if self.wide else stretch)):  # narrow: the matrix has row 2
            if self.grid.rowStretch(row) != wanted:
                self.grid.setRowStretch(row, wanted)

    def csv_table(self) -> tuple[list[str], list[list[Any]]]:
        if self.probabilities is None or self.context is None:
            return ["class", "probability"], []
        return ["class", "probability"], [[self.context.class_name(i), float(p)] for i, p in enumerate(self.probabilities)]

    def clear(self) -> None:
        self.snapshot, self.confusion, self.matrix_drawn = None, None, None
        super().clear()
