"""Embeddings: where a validation subset lands in the embedding space, drawn in 2D and coloured by
class; hover a point to see its sample. PCA is live; t-SNE, slower, is computed on demand in the
background. For metric learning, the counts of easy, semi-hard and hard triplets of each step."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.views.base import (
    View,
    image_plot,
    label_axes,
    plot_widget,
    text_color,
)
from cnnstudio.gui.views.context import Context
from cnnstudio.gui.views.imaging import class_color, rgba_image, to_numpy

TRIPLETS = (("triplets_easy", "easy", "#2ca02c"), ("triplets_semi_hard", "semi-hard", "#ff7f0e"),
            ("triplets_hard", "hard", "#d62728"))


class Embeddings(View):
    has_csv = True
    tsne_failed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Embeddings are drawn for metric-learning and autoencoder designs, while they train or "
                         "after: each validation sample becomes a point, coloured by its class.", parent)
        self.setObjectName("embeddings")
        self.snapshot: Any = None
        self.context: Context | None = None
        self.points: np.ndarray | None = None
        self.tsne: dict[int, np.ndarray] = {}  # by snapshot step
        self.steps: list[int] = []
        self.counts: dict[str, list[float]] = {key: [] for key, _, _ in TRIPLETS}
        self._job: BackgroundJob | None = None

        self.method = QComboBox()
        self.method.addItems(["PCA", "t-SNE"])
        self.method.setToolTip("PCA: the two directions of largest spread (live).\n"
                               "t-SNE: keeps neighbours together; computed on demand for the snapshot shown.")
        self.method.currentIndexChanged.connect(self._method_changed)
        self.compute = QPushButton("Compute t-SNE")
        self.compute.setToolTip("Lay out the snapshot shown with t-SNE (a few seconds)")
        self.compute.clicked.connect(self.compute_tsne)
        self.compute.setEnabled(False)  # until there is a snapshot to lay out
        self.controls.addWidget(self.method)
        self.controls.addWidget(self.compute)

        self.plot = plot_widget(self)
        self.scatter = pg.ScatterPlotItem(size=7, pen=None, hoverable=True, hoverSize=11,
                                          hoverPen=pg.mkPen(text_color(self), width=1.5))
        self.scatter.sigHovered.connect(self._hovered)
        self.plot.addItem(self.scatter)
        self.legend = QLabel()  # the classes, beside the plot: a legend inside it would hide points
        self.legend.setObjectName("class-legend")
        self.legend.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.sample_view, self.sample_image = image_plot(self, "hover a point")
        self.sample_view.setMaximumWidth(180)
        self.triplets = plot_widget(self)
        self.triplet_curves = {key: self.triplets.plot([], [], name=name, pen=pg.mkPen(color, width=2))
                               for key, name, color in TRIPLETS}
        # the curves' names in the title, coloured, rather than a legend over the curves
        label_axes(self.triplets, "step", "triplets per batch", "triplet mining: " + " · ".join(
            f"<span style='color:{color}'>{name}</span>" for _, name, color in TRIPLETS))
        self.counts_label = QLabel()
        grid = QGridLayout(self.content)
        grid.setContentsMargins(0, 0, 0, 0)
        side = QVBoxLayout()
        side.addWidget(self.sample_view)
        side.addWidget(self.legend, 1)
        side.addWidget(self.counts_label)
        grid.addWidget(self.plot, 0, 0, 2, 1)
        grid.addLayout(side, 0, 1, 2, 1)
        grid.addWidget(self.triplets, 2, 0, 1, 2)
        grid.setColumnStretch(0, 1)
        grid.setRowStretch(0, 3)
        grid.setRowStretch(2, 1)

    def needs(self, context: Context | None) -> dict[str, Any]:
        return {"embeddings": True}

    def on_metrics(self, event: Any) -> None:
        """Triplet counts of each step event (metric learning)."""
        stats = getattr(event, "stats", None)
        if not stats or TRIPLETS[0][0] not in stats:
            return
        self.steps.append(event.global_step)
        for key, _, _ in TRIPLETS:
            self.counts[key].append(stats.get(key, 0.0))
        self.counts_label.setText("\n".join(f"{name}: {int(stats.get(key, 0))}" for key, name, _ in TRIPLETS))
        if self.isVisible():
            for key, curve in self.triplet_curves.items():
                curve.setData(self.steps, self.counts[key])

    def show_snapshot(self, snapshot: Any, context: Context) -> None:
        self.context = context
        if snapshot.embedding is None:
            if context.task not in ("metric", "reconstruction"):
                self.show_message(f"Embeddings are drawn for metric-learning and autoencoder designs; this one "
                                  f"trains for {context.task}.")
            return
        self.snapshot = snapshot
        self.triplets.setVisible(bool(self.steps))
        self.counts_label.setVisible(bool(self.steps))
        for key, curve in self.triplet_curves.items():
            curve.setData(self.steps, self.counts[key])
        self._draw()
        self.show_content()

    def _draw(self) -> None:
        e = self.snapshot.embedding
        tsne = self.method.currentIndex() == 1
        points = self.tsne.get(self.snapshot.step) if tsne else to_numpy(e.points)
        self._update_compute()
        if points is None:
            points = to_numpy(e.points)
        self.points = points
        labels = to_numpy(e.labels).astype(int)
        self.scatter.setData(x=points[:, 0], y=points[:, 1], data=np.arange(len(points)),
                             brush=[pg.mkBrush(class_color(int(c), 200)) for c in labels])
        self.legend.setText("<br>".join(
            f"<span style='color:{class_color(c).name()}'>●</span> {html.escape(str(self.context.class_name(c)))}"
            for c in sorted(set(labels.tolist()))))
        kind = "t-SNE" if tsne and self.snapshot.step in self.tsne else "PCA"
        label_axes(self.plot, f"{kind} 1", f"{kind} 2", f"{len(points)} validation samples at {e.node}")
        self.status.setText(f"step {self.snapshot.step}, epoch {self.snapshot.epoch}")
        self.plot.getPlotItem().autoRange()

    def _update_compute(self) -> None:
        """Compute t-SNE is on whenever the snapshot shown has no t-SNE yet, whichever method is picked."""
        self.compute.setEnabled(self.snapshot is not None and self.snapshot.step not in self.tsne and self._job is None)

    def _method_changed(self) -> None:
        if self.snapshot is not None:
            self._draw()

    def compute_tsne(self) -> None:
        if self.snapshot is None or self._job is not None:
            return
        step, features = self.snapshot.step, self.snapshot.embedding.features

        def work() -> tuple[int, np.ndarray]:
            from cnnstudio.training.projection import tsne

            return step, tsne(features).numpy()

        self.compute.setEnabled(False)
        self.compute.setText("Computing…")
        self._job = BackgroundJob(work, (), self)
        self._job.done.connect(self._tsne_done)
        self._job.failed.connect(self._tsne_failed)
        self._job.start()

    def _tsne_done(self, result: tuple[int, np.ndarray]) -> None:
        step, points = result
        self.tsne[step] = points
        self._job = None
        self.compute.setText("Compute t-SNE")
        self.method.setCurrentIndex(1)
        if self.snapshot is not None:
            self._draw()

    def _tsne_failed(self, message: str) -> None:
        self._job = None
        self.compute.setText("Compute t-SNE")
        self._update_compute()
        self.tsne_failed.emit(f"t-SNE failed: {message}")

    def _hovered(self, _item: Any, points: Any, _event: Any) -> None:
        if self.snapshot is None or not len(points):
            return
        index = int(points[0].data())
        e = self.snapshot.embedding
        sample = to_numpy(e.images[index]) / 255.0
        if sample.ndim == 3:
            self.sample_image.setImage(rgba_image(sample), autoLevels=False)
            self.sample_view.getPlotItem().getViewBox().autoRange(padding=0.02)
        name = self.context.class_name(int(e.labels[index])) if self.context else str(int(e.labels[index]))
        self.sample_view.getPlotItem().setTitle(f"sample {index}: {name}", color=text_color(self), size="9pt")

    def csv_table(self) -> tuple[list[str], list[list[Any]]]:
        return ["step", *(name for _, name, _ in TRIPLETS)], [
            [step, *(self.counts[key][i] for key, _, _ in TRIPLETS)] for i, step in enumerate(self.steps)]

    def clear(self) -> None:
        self.snapshot, self.points = None, None
        self.tsne.clear()
        self._update_compute()
        self.steps.clear()
        for values in self.counts.values():
            values.clear()
        super().clear()
