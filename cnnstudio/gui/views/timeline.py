"""The timeline: every snapshot of the run, to scrub back through training and watch the features
form. Memory stays bounded: past 200 snapshots (or 256 MB of tensors), every other one of the
older half is dropped (:func:`cnnstudio.runs.snapshots.thin`, the rule the run folder's copy on
disk follows too), so the whole run stays covered, more coarsely further back. A view pinned to
a past snapshot says so and offers Live."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox, QVBoxLayout, QWidget

from cnnstudio.gui import theme
from cnnstudio.gui.flow_layout import FlowLayout
from cnnstudio.runs.snapshots import MAX_BYTES, MAX_SNAPSHOTS, thin


def snapshot_bytes(snapshot: Any) -> int:
    """The tensors a snapshot holds on its own (the embedding thumbnails are shared by all)."""
    tensors = [a.values for a in snapshot.activations.values()] + list(snapshot.filters.values())
    if snapshot.embedding is not None:
        tensors += [snapshot.embedding.points, snapshot.embedding.features]
    return sum(t.numel() * t.element_size() for t in tensors)


class Timeline:
    def __init__(self, limit: int = MAX_SNAPSHOTS, max_bytes: int = MAX_BYTES):
        self.limit, self.max_bytes = limit, max_bytes
        self.snapshots: list[Any] = []
        self.sizes: list[int] = []

    def __len__(self) -> int:
        return len(self.snapshots)

    def __getitem__(self, index: int) -> Any:
        return self.snapshots[index]

    def add(self, snapshot: Any) -> None:
        if self.snapshots and snapshot.step <= self.snapshots[-1].step:  # a recapture of the same step
            self.snapshots.pop()
            self.sizes.pop()
        self.snapshots.append(snapshot)
        self.sizes.append(snapshot_bytes(snapshot))
        while len(self.snapshots) > self.limit or (sum(self.sizes) > self.max_bytes and len(self.snapshots) > 2):
            self._thin()

    def _thin(self) -> None:
        """Drop every other snapshot of the older half; the newest half stays at full detail."""
        keep = thin(len(self.snapshots))
        self.snapshots = [self.snapshots[i] for i in keep]
        self.sizes = [self.sizes[i] for i in keep]

    def clear(self) -> None:
        self.snapshots.clear()
        self.sizes.clear()


class TimelineBar(QWidget):
    """A slider over the kept snapshots, a Live button that follows new ones, and the refresh
    interval. ``picked(index)`` when the user moves to a snapshot."""

    picked = Signal(int)
    every_changed = Signal(int)

    def __init__(self, every: int, parent: QWidget | None = None):
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setEnabled(False)
        self.slider.setToolTip("Scrub back through training: every view shows the snapshot of that step")
        self.slider.valueChanged.connect(self._moved)
        self.where = QLabel("no snapshots yet")
        self.where.setMinimumWidth(90)
        self.live = QPushButton("Live")
        self.live.setCheckable(True)
        self.live.setChecked(True)
        self.live.setToolTip("Follow the newest snapshot")
        self.live.toggled.connect(lambda on: on and self.slider.setValue(self.slider.maximum()))
        self.every = QSpinBox()
        self.every.setRange(1, 100_000)
        self.every.setValue(every)
        self.every.setPrefix("every ")
        self.every.setSuffix(" steps")
        self.every.setToolTip("How often the views refresh while training (and add a snapshot to the timeline)")
        self.every.valueChanged.connect(self.every_changed)
        top, bottom = QHBoxLayout(), FlowLayout()
        top.addWidget(QLabel("Timeline"))
        top.addWidget(self.slider, 1)
        bottom.addWidget(self.where)
        bottom.addWidget(self.live)
        bottom.addWidget(self.every)
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.addLayout(top)
        column.addLayout(bottom)

    def update_range(self, timeline: Timeline) -> None:
        """After a snapshot was added (or thinned away): follow it when live."""
        self.slider.blockSignals(True)
        self.slider.setRange(0, max(0, len(timeline) - 1))
        self.slider.setEnabled(len(timeline) > 1)
        if self.live.isChecked():
            self.slider.setValue(self.slider.maximum())
        self.slider.blockSignals(False)

    def describe(self, snapshot: Any, index: int, count: int) -> None:
        """Where the shown snapshot is; pinned to a past one, say so and point at Live."""
        pinned = not self.live.isChecked()
        text = f"step {snapshot.step:,} · epoch {snapshot.epoch}  ({index + 1}/{count})"
        if pinned:
            text = f"<b>Pinned</b> to {text}: press Live to follow training"
        self.where.setText(text)
        self.live.setStyleSheet(f"QPushButton {{ color: {theme.colors().warning.name()}; font-weight: bold; }}"
                                if pinned else "")

    def describe_weights(self, snapshot: Any, source: str) -> None:
        """A snapshot of loaded or final weights, outside the timeline."""
        self.where.setText(f"{source}: step {snapshot.step:,} · epoch {snapshot.epoch}")
        self.live.setStyleSheet("")

    def _moved(self, index: int) -> None:
        live = index == self.slider.maximum()
        if self.live.isChecked() != live:
            self.live.blockSignals(True)
            self.live.setChecked(live)
            self.live.blockSignals(False)
        self.picked.emit(index)
