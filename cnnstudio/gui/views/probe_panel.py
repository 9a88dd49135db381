"""The probe: the one input every view looks at. A validation sample (by number), an image file
(File > Load Image…, Ctrl+I, or dropped on the window) or, for sequence designs, typed values.
It is shown as the model sees it: resized, and turned grey or colour like the design's Input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui.flow_layout import FlowLayout
from cnnstudio.gui.views.base import image_plot, label_axes, plot_widget
from cnnstudio.gui.views.context import Context
from cnnstudio.gui.views.imaging import ImageFileError, read_image, rgba_image, to_numpy
from cnnstudio.gui.views.timeline import TimelineBar

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.pgm *.ppm *.tif *.tiff *.webp);;All files (*)"


class ProbePanel(QWidget):
    """``changed`` when the probe changes; ``failed(message)`` when a file cannot be used."""

    changed = Signal()
    failed = Signal(str)

    def __init__(self, every: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("probe")
        self.context: Context | None = None
        self.inputs: tuple[Any, ...] | None = None  # fitted tensors, one per Input; None: a validation sample
        self.source = QLabel("Validation sample 0")
        self.source.setWordWrap(True)
        self.sample = QSpinBox()
        self.sample.setRange(0, 99_999)
        self.sample.setPrefix("Validation sample ")
        self.sample.setToolTip("Probe with this sample of the validation data")
        self.sample.valueChanged.connect(self.use_sample)
        self.load = QPushButton("Load Image…")
        self.load.setToolTip("Probe with an image file (Ctrl+I); you can also drop one on the window")
        self.load.clicked.connect(self.open_dialog)
        self.sequence = QLineEdit()
        self.sequence.setPlaceholderText("type values, e.g. 0 1 0 1 1 0 1 1")
        self.sequence.setToolTip("A sequence probe: numbers separated by spaces or commas (1011 works too)")
        self.sequence.returnPressed.connect(self._typed)
        self.image_view, self.image = image_plot(self)
        self.line_view = plot_widget(self)
        self.timeline = TimelineBar(every)
        grid = FlowLayout()  # side by side, or one under the other in a narrow dock
        grid.addWidget(self.sample)
        grid.addWidget(self.load)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 4, 6, 6)
        layout.addLayout(grid)
        layout.addWidget(self.sequence)
        layout.addWidget(self.source)
        layout.addWidget(self.image_view, 1)
        layout.addWidget(self.line_view, 1)
        layout.addWidget(self.timeline)
        self.set_context(None)

    @property
    def is_sequence(self) -> bool:
        return self.context is not None and self._shape is not None and len(self._shape) == 2

    @property
    def _shape(self) -> tuple[int, ...] | None:
        a = self.context.analysis if self.context else None
        return a.nodes[a.inputs[0]].shape if a and a.inputs and a.inputs[0] in a.nodes else None

    def set_context(self, context: Context | None) -> None:
        self.context = context
        self.sequence.setVisible(self.is_sequence)
        self.image_view.setVisible(not self.is_sequence)
        self.line_view.setVisible(self.is_sequence)

    # -- choosing -----------------------------------------------------------------------------------
    def use_sample(self, index: int) -> None:
        self.inputs = None
        self.source.setText(f"Validation sample {index}")
        self.changed.emit()

    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load Probe Image", "", IMAGE_FILTER)
        if path:
            self.load_file(path)

    def load_file(self, path: str | Path) -> bool:
        """Probe with an image file; a file that is not an image, or a design that takes no images,
        is refused with a message (``failed``)."""
        path = Path(path)
        try:
            image = read_image(path)
            fitted = self._fit(image)
        except (ImageFileError, ValueError) as error:
            self.failed.emit(str(error))
            return False
        shape = "×".join(map(str, fitted[0].shape))
        self.source.setText(f"{path.name}: {image.shape[2]}×{image.shape[1]} {'RGB' if image.shape[0] == 3 else 'grey'}"
                            f" → {shape} {'RGB' if fitted[0].shape[0] == 3 else 'grey'}, as the model sees it")
        self._set(fitted)
        return True

    def _typed(self) -> None:
        text = self.sequence.text().replace(",", " ").split()
        if len(text) == 1 and set(text[0]) <= {"0", "1"}:
            text = list(text[0])
        try:
            values = np.array([float(v) for v in text], dtype=np.float32)
            if not len(values):
                raise ValueError("type at least one value")
            fitted = self._fit(np.repeat(values[None], self._shape[0], 0))
        except ValueError as error:
            self.failed.emit(f"Not a sequence: {error}")
            return
        self.source.setText(f"Typed sequence of {len(values)} values → {fitted[0].shape[1]} positions")
        self._set(fitted)

    def _fit(self, values: np.ndarray) -> tuple[Any, ...]:
        """The probe fitted to every Input of the design (as the data loader fits samples)."""
        if self.context is None or not self.context.analysis.inputs or self._shape is None:
            raise ValueError("the design has no valid Input to probe")
        import torch

        from cnnstudio.training.probes import fit_probe

        tensor = torch.from_numpy(np.ascontiguousarray(values))
        a = self.context.analysis
        return tuple(fit_probe(tensor, a.nodes[n].shape) for n in a.inputs)

    def _set(self, fitted: tuple[Any, ...]) -> None:
        self.inputs = fitted
        self.show_probe(fitted[0])
        self.changed.emit()

    # -- showing ------------------------------------------------------------------------------------
    def show_probe(self, values: Any, label: str = "") -> None:
        """The probe as the model saw it (from the snapshot, so it is exactly what was captured)."""
        array = to_numpy(values)
        if array.ndim == 3:
            self.image.setImage(rgba_image(array), autoLevels=False)
            self.image_view.getPlotItem().setTitle(label, size="9pt")
            self.image_view.getPlotItem().getViewBox().autoRange(padding=0.02)
        elif array.ndim == 2:
            plot = self.line_view.getPlotItem()
            plot.clear()
            for row in array:
                plot.plot(np.arange(len(row)), row, pen=pg.mkPen("#2f63c8", width=2), stepMode=None)
            label_axes(self.line_view, "position", "value", label)

    def request_fields(self) -> dict[str, Any]:
        return {"inputs": self.inputs, "sample": self.sample.value()}
