"""The dataset browser: the samples a run of the open design would see, before training it.

A grid of samples with their labels (boxes and masks drawn for those tasks), the class histogram
of the training and validation splits (click a bar to show that class only), and the augmentation
preview: the selected sample under the design's current augmentation settings, drawn anew on
demand and whenever those settings change. Everything is read in the background by
:class:`~cnnstudio.training.data.browse.Browsing`, a page at a time, so a streaming source is never
loaded whole and the window never waits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QKeySequence, QPainter, QPen, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.gui import theme
from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.document import Document
from cnnstudio.gui.views.imaging import class_color

PAGE = 48  # samples per page of the grid
TILE = 76  # pixels per grid tile
PREVIEW_TILE = 104
PREVIEWS = 8  # augmented copies beside the original
PART_NAMES = {"training": "Training", "validation": "Validation"}


def draw_sample(sample: Any, classes: list[str], size: int) -> QPixmap:
    """The sample's image scaled to ``size`` (pixels kept sharp), its mask tinted by class, its boxes outlined."""
    pixels = np.ascontiguousarray((sample.image.numpy().clip(0, 1) * 255).astype(np.uint8).transpose(1, 2, 0))
    height, width, channels = pixels.shape
    if channels == 1:
        image = QImage(pixels.data, width, height, width, QImage.Format.Format_Grayscale8)
    else:
        image = QImage(pixels[..., :3].copy().data, width, height, 3 * width, QImage.Format.Format_RGB888)
    scale = size / max(width, height)
    picture = QPixmap.fromImage(image.copy()).scaled(round(width * scale), round(height * scale),
                                                     Qt.AspectRatioMode.KeepAspectRatio,
                                                     Qt.TransformationMode.FastTransformation)
    painter = QPainter(picture)
    if sample.mask is not None:
        painter.drawImage(picture.rect(), _mask_overlay(sample.mask.numpy()))
    if sample.boxes is not None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        for (x, y, w, h), label in zip(sample.boxes.tolist(), sample.box_labels.tolist(), strict=True):
            if label < 0:
                continue
            painter.setPen(QPen(class_color(label), 2))
            painter.drawRect(QRectF((x - w / 2) * picture.width(), (y - h / 2) * picture.height(),
                                    w * picture.width(), h * picture.height()))
    painter.end()
    return picture


def _mask_overlay(mask: np.ndarray) -> QImage:
    """Each object's pixels in its class colour, half transparent; background clear."""
    rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
    for value in np.unique(mask):
        if value:
            color = class_color(int(value) - 1)
            rgba[mask == value] = (color.red(), color.green(), color.blue(), 110)
    height, width = mask.shape
    return QImage(rgba.data, width, height, 4 * width, QImage.Format.Format_RGBA8888).copy()


class Histogram(QWidget):
    """Samples per class, training and validation side by side; a click on a class chooses it."""

    class_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.classes: list[str] = []
        self.counts: dict[str, list[int]] = {}
        self.selected: int | None = None
        self.setMinimumHeight(170)
        self.setToolTip("Samples per class in the training and validation splits; click a class to show it only")

    def set_counts(self, classes: list[str], counts: dict[str, list[int]]) -> None:
        self.classes, self.counts = classes, counts
        self.update()

    def select(self, label: int | None) -> None:
        self.selected = label
        self.update()

    def _slot(self) -> float:
        return (self.width() - 16) / max(1, len(self.classes))

    def mousePressEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        if self.classes:
            self.class_clicked.emit(min(len(self.classes) - 1, max(0, int((event.position().x() - 8) // self._slot()))))

    def paintEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        colors = theme.colors()
        painter.setPen(colors.text)
        legend = [("training", class_color(0)), ("validation", class_color(1))]
        x = 8
        for part, color in legend:
            painter.fillRect(x, 6, 10, 10, color)
            text = f"{PART_NAMES[part]} ({sum(self.counts.get(part, [])):,})"
            painter.drawText(x + 14, 16, text)
            x += 24 + painter.fontMetrics().horizontalAdvance(text)
        if not self.classes:
            return
        top, bottom = 26, self.height() - 22
        highest = max(1, *(max(c, default=0) for c in self.counts.values()))
        slot = self._slot()
        bar = max(2.0, min(28.0, slot * 0.38))
        for k, name in enumerate(self.classes):
            left = 8 + k * slot
            if k == self.selected:
                painter.fillRect(QRectF(left, top - 4, slot, bottom - top + 20), colors.selection.lighter(170)
                                 if not colors.dark else colors.selection.darker(250))
            for j, (part, color) in enumerate(legend):
                count = self.counts.get(part, [0] * len(self.classes))[k]
                height = (bottom - top - 12) * count / highest
                rect = QRectF(left + slot / 2 - bar + j * bar, bottom - height, bar - 1, height)
                painter.fillRect(rect, color)
                if slot > 46:
                    painter.drawText(QRectF(rect.left() - 10, rect.top() - 13, bar + 20, 12),
                                     Qt.AlignmentFlag.AlignCenter, f"{count:,}")
            label = painter.fontMetrics().elidedText(name, Qt.TextElideMode.ElideRight, int(slot) - 2)
            painter.drawText(QRectF(left, bottom + 3, slot, 16), Qt.AlignmentFlag.AlignCenter, label)


class DatasetBrowser(QWidget):
    """Its own window (View › Dataset Browser…), following the open design's training settings."""

    def __init__(self, doc: Document, parent: QWidget | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Dataset Browser")
        self.doc = doc
        self.browsing: Any = None  # cnnstudio.training.data.browse.Browsing, once opened
        self.opened_for: tuple | None = None  # (training settings, Input shape) it was opened with
        self.augment_for: dict | None = None
        self.generation = 0  # bumped on every reopen: late pages of an older dataset are dropped
        self.jobs: set[BackgroundJob] = set()
        self.indices: list[int] = []
        self.page = 0
        self.chosen: Any = None  # the sample in the preview

        self.status = QLabel("Opening the data…")
        self.status.setWordWrap(True)
        self.part = QComboBox()
        self.part.addItems(list(PART_NAMES.values()))
        self.part.setToolTip("Which split the grid shows")
        self.label_filter = QComboBox()
        self.label_filter.setToolTip("Show the samples of one class only")
        self.label_filter.setMinimumContentsLength(12)
        self.previous = QPushButton("◀")
        self.next = QPushButton("▶")
        self.previous.setShortcut(QKeySequence(Qt.Key.Key_PageUp))
        self.next.setShortcut(QKeySequence(Qt.Key.Key_PageDown))
        self.page_label = QLabel()
        self.reload = QPushButton("Reload")
        self.reload.setToolTip("Open the data again (after files changed on disk)")

        self.grid = QListWidget()
        self.grid.setViewMode(QListWidget.ViewMode.IconMode)
        self.grid.setIconSize(QSize(TILE, TILE))
        self.grid.setGridSize(QSize(TILE + 18, TILE + 26))
        self.grid.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.grid.setMovement(QListWidget.Movement.Static)
        self.grid.setUniformItemSizes(True)
        self.histogram = Histogram()
        self.augment_text = QLabel()
        self.augment_text.setWordWrap(True)
        self.regenerate = QPushButton("Regenerate")
        self.regenerate.setShortcut(QKeySequence("R"))
        self.regenerate.setToolTip("Draw the augmented copies again (R)")
        self.tiles = [QLabel() for _ in range(PREVIEWS + 1)]
        for tile in self.tiles:
            tile.setFixedSize(PREVIEW_TILE + 4, PREVIEW_TILE + 4)
            tile.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._lay_out()

        self.part.currentIndexChanged.connect(lambda _: self._filter())
        self.label_filter.currentIndexChanged.connect(lambda _: self._filter())
        self.histogram.class_clicked.connect(lambda label: self.label_filter.setCurrentIndex(label + 1))
        self.previous.clicked.connect(lambda: self._show_page(self.page - 1))
        self.next.clicked.connect(lambda: self._show_page(self.page + 1))
        self.reload.clicked.connect(lambda: self.refresh(force=True))
        self.regenerate.clicked.connect(self._preview)
        self.grid.currentItemChanged.connect(self._choose)
        doc.undo_stack.indexChanged.connect(lambda _: self.refresh())
        doc.reset.connect(self.refresh)
        doc.analyzed.connect(self.refresh)
        self.resize(1180, 760)

    def _lay_out(self) -> None:
        bar = QHBoxLayout()
        for widget in (QLabel("Split:"), self.part, QLabel("Class:"), self.label_filter, self.previous,
                       self.page_label, self.next):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.reload)
        preview = QWidget()
        column = QVBoxLayout(preview)
        heading = QLabel("Class histogram")
        heading.setFont(theme.heading_font(self.font()))
        column.addWidget(heading)
        column.addWidget(self.histogram, 2)
        heading = QLabel("Augmentation preview")
        heading.setFont(theme.heading_font(self.font()))
        column.addWidget(heading)
        column.addWidget(self.augment_text)
        tiles = QGridLayout()
        for k, tile in enumerate(self.tiles):
            tiles.addWidget(tile, k // 3, k % 3)
        column.addLayout(tiles)
        column.addWidget(self.regenerate, 0, Qt.AlignmentFlag.AlignLeft)
        column.addStretch(1)
        split = QSplitter()
        split.addWidget(self.grid)
        split.addWidget(preview)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(split, 1)
        layout.addWidget(self.status)

    # -- following the design --------------------------------------------------------------------------
    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        self.refresh()

    def _wanted(self) -> tuple[Any, tuple[int, ...]] | str:
        """The design's settings and Input shape, or why the data cannot be shown."""
        from cnnstudio.training.defaults import default_settings
        from cnnstudio.training.errors import TrainingError

        try:
            settings = default_settings(self.doc.design)
        except TrainingError as error:
            return f"The training settings are not valid: {error}"
        analysis = self.doc.analysis
        shapes = [analysis.nodes[n].shape for n in analysis.inputs if analysis.nodes[n].shape is not None]
        if not shapes:
            return "The design needs an Input node with a shape: the data is shown at the size the network sees."
        return settings, tuple(shapes[0])

    def refresh(self, force: bool = False) -> None:
        """Reopen when the data, split or Input shape changed; redraw the preview when augmentation did."""
        if not self.isVisible():
            return
        wanted = self._wanted()
        if isinstance(wanted, str):
            self.status.setText(wanted)
            return
        settings, shape = wanted
        key = (settings.data, str(settings.data_options), settings.validation, settings.val_split,
               settings.split_seed, str(settings.classes), settings.task, settings.seed, shape)
        if force or key != self.opened_for:
            self.opened_for = key
            self._open(settings, shape)
        elif settings.augment != self.augment_for:
            self._preview()

    def _run(self, work: Any, done: Any) -> None:
        """``work`` in the background; ``done(result)`` on the GUI thread unless a reopen came since."""
        from cnnstudio.training.errors import TrainingError

        generation = self.generation
        job = BackgroundJob(work, (TrainingError, OSError), self)
        self.jobs.add(job)

        def finish(result: Any) -> None:
            self.jobs.discard(job)
            if generation == self.generation:
                done(result)

        def fail(message: str) -> None:
            self.jobs.discard(job)
            if generation == self.generation:
                self.status.setText(message)

        job.done.connect(finish)
        job.failed.connect(fail)
        job.start()

    def _open(self, settings: Any, shape: tuple[int, ...]) -> None:
        self.generation += 1
        self.status.setText(f"Opening {settings.data}…")
        self.browsing, self.chosen, self.indices = None, None, []  # nothing of the previous data stays shown
        self.grid.clear()
        self.histogram.set_counts([], {})
        self.augment_text.clear()
        for tile in self.tiles:
            tile.clear()
        notes: list[str] = []

        def work() -> tuple[Any, dict[str, list[int]], list[str]]:
            from cnnstudio.training.data.browse import Browsing

            browsing = Browsing(settings, shape, notes.append)
            return browsing, browsing.histogram(), notes

        self._run(work, self._opened)

    def _opened(self, result: tuple[Any, dict[str, list[int]], list[str]]) -> None:
        self.browsing, counts, notes = result
        b = self.browsing
        self.histogram.set_counts(b.classes, counts)
        self.label_filter.blockSignals(True)
        self.label_filter.clear()
        self.label_filter.addItem("All classes")
        self.label_filter.addItems([f"{k}: {name}" for k, name in enumerate(b.classes)])
        self.label_filter.blockSignals(False)
        streamed = "read from disk a page at a time" if b.streaming else "in memory"
        self.status.setText(" ".join([f"{self.opened_for[0]}: {sum(counts['training']):,} training samples, validating "
                                      f"on {b.description}; {streamed}.", *notes]))
        self._filter()

    # -- the grid ------------------------------------------------------------------------------------
    @property
    def part_key(self) -> str:
        return list(PART_NAMES)[self.part.currentIndex()]

    def _filter(self) -> None:
        if self.browsing is None:
            return
        label = self.label_filter.currentIndex() - 1
        self.histogram.select(label if label >= 0 else None)
        self.indices = self.browsing.indices(self.part_key, label if label >= 0 else None)
        self._show_page(0)

    def _show_page(self, page: int) -> None:
        pages = max(1, -(-len(self.indices) // PAGE))
        self.page = min(max(page, 0), pages - 1)
        chosen = self.indices[self.page * PAGE : (self.page + 1) * PAGE]
        first = self.page * PAGE
        self.page_label.setText(f"{first + 1 if chosen else 0:,}–{first + len(chosen):,} of {len(self.indices):,}")
        self.previous.setEnabled(self.page > 0)
        self.next.setEnabled(self.page < pages - 1)
        self.grid.clear()
        browsing, part = self.browsing, self.part_key
        self._run(lambda: browsing.read(part, chosen), self._fill)

    def _fill(self, result: tuple[list[Any], list[str]]) -> None:
        samples, skipped = result
        classes = self.browsing.classes
        self.grid.clear()
        for sample in samples:
            item = QListWidgetItem(draw_sample(sample, classes, TILE), classes[sample.label])
            item.setToolTip(f"{sample.name}\nclass {sample.label}: {classes[sample.label]}")
            item.setData(Qt.ItemDataRole.UserRole, sample)
            self.grid.addItem(item)
        if skipped:
            self.status.setText(f"{len(skipped)} file(s) on this page cannot be read as images: {', '.join(skipped[:5])}")
        if self.grid.count():
            self.grid.setCurrentRow(0)

    # -- the augmentation preview --------------------------------------------------------------------------
    def _choose(self, item: QListWidgetItem | None, _previous: Any = None) -> None:
        if item is not None:
            self.chosen = item.data(Qt.ItemDataRole.UserRole)
            self._preview()

    def _preview(self) -> None:
        """The chosen sample and PREVIEWS copies under the design's augmentation, drawn anew."""
        wanted = self._wanted()
        if self.chosen is None or self.browsing is None or isinstance(wanted, str):
            return
        augment = wanted[0].augmentation
        self.augment_for = wanted[0].augment
        on = [f"{name} {value:g}" for name, value in vars(augment).items() if value]
        chosen = f"{self.chosen.name} ({self.browsing.classes[self.chosen.label]})"
        self.augment_text.setText(
            f"{chosen} under: {', '.join(on)}." if on else
            f"{chosen}: augmentation is off. Set it in the Training panel's augment keys; this preview follows.")
        browsing, sample = self.browsing, self.chosen
        self._run(lambda: [sample, *browsing.augmented(sample, augment, PREVIEWS)], self._show_preview)

    def _show_preview(self, samples: list[Any]) -> None:
        classes = self.browsing.classes
        for k, (tile, sample) in enumerate(zip(self.tiles, samples, strict=True)):
            tile.setPixmap(draw_sample(sample, classes, PREVIEW_TILE))
            tile.setToolTip("the sample as stored" if k == 0 else f"augmented copy {k}")
            tile.setStyleSheet("border: 2px solid palette(highlight);" if k == 0 else "")
