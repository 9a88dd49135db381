"""The run folder's checkpoints, to resume a run or to load trained weights into the design.

A checkpoint's epoch and step are known from the engine's CheckpointWritten events; for files
from earlier sessions they are read in the background (a checkpoint can be large). Loaded weights
are matched to the design's nodes by id and shape (:mod:`cnnstudio.core.weights`) and kept as a
:class:`LoadedWeights` for the live views; what did not match is reported in the log.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QPushButton, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from cnnstudio.core.design import Design
from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.flow_layout import FlowLayout
from cnnstudio.training import events
from cnnstudio.training.errors import TrainingError


@dataclass(frozen=True)
class LoadedWeights:
    """Weights loaded into the design: the source file, the compiled model's state after loading
    (tensors by ``<node id>.<name>``), and the match report (``cnnstudio.core.weights.WeightsReport``)."""

    path: str
    state: dict[str, Any]
    report: Any


def load_weights(design: Design, path: str) -> LoadedWeights:
    """Compile ``design`` and load the matching tensors of ``path`` (slow: run it in the background)."""
    from cnnstudio.core.compiler import build_model
    from cnnstudio.core.weights import load_matching, read_state_dict

    model = build_model(design)
    report = load_matching(model, read_state_dict(path))
    return LoadedWeights(path, model.state_dict(), report)


def read_position(path: str) -> tuple[int, int]:
    """(epoch, global step) saved in a checkpoint."""
    from cnnstudio.training import checkpoint

    state = checkpoint.load(path)
    return int(state["epoch"]), int(state["global_step"])


class Checkpoints(QWidget):
    """``resume_requested(path)`` and ``load_requested(path)`` for the selected checkpoint."""

    resume_requested = Signal(str)
    load_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.folder: Path | None = None
        self.known: dict[str, tuple[int, int] | None] = {}  # path: (epoch, global step); None: unreadable
        self._jobs: set[BackgroundJob] = set()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Checkpoint", "Epoch", "Step", "Written"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.itemSelectionChanged.connect(self._update_buttons)
        self.tree.itemDoubleClicked.connect(lambda *_: self._emit(self.resume_requested))
        self.resume = QPushButton("Resume from Checkpoint")
        self.resume.setToolTip("Continue the saved run exactly where it stopped (its own design and settings; "
                               "the form's epochs and device apply)")
        self.resume.clicked.connect(lambda: self._emit(self.resume_requested))
        self.load = QPushButton("Load Weights into Design")
        self.load.setToolTip("Load the checkpoint's weights into the design's layers with the same id and shape, "
                             "for the views and for export; mismatches are listed in the log")
        self.load.clicked.connect(lambda: self._emit(self.load_requested))
        buttons = FlowLayout()  # one row, or two in a narrow dock
        buttons.addWidget(self.resume)
        buttons.addWidget(self.load)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.tree, 1)
        layout.addLayout(buttons)
        self._update_buttons()

    def set_folder(self, folder: Path | None) -> None:
        self.folder = folder
        self.refresh()

    def on_event(self, event: Any) -> None:
        if isinstance(event, events.CheckpointWritten):
            self.known[str(Path(event.path))] = (event.epoch, event.global_step)
            if self.folder is None or Path(event.path).parent != self.folder:
                self.folder = Path(event.path).parent
            self.refresh()

    def _files(self) -> list[tuple[Path, float]]:
        """The folder's checkpoints: last.pt (where a run resumes), then the others newest first. Hidden files are checkpoints still being written
        (core/atomic.py), and a file may vanish between listing and reading its date."""
        found = []
        for path in self.folder.glob("*.pt") if self.folder else ():
            if path.name.startswith("."):
                continue
            try:
                found.append((path, path.stat().st_mtime))
            except OSError:
                continue
        return sorted(found, key=lambda item: (item[0].name != "last.pt", -item[1]))

    def refresh(self) -> None:
        selected = self.selected()
        self.tree.clear()
        for path, mtime in self._files():
            key = str(path)
            position = [f"{n:,}" for n in self.known[key]] if self.known.get(key) else ["?" if key in self.known else "…"] * 2
            written = time.strftime("%Y-%m-%d %H:%M", time.localtime(mtime))
            item = QTreeWidgetItem([path.name, *position, written])
            item.setData(0, Qt.ItemDataRole.UserRole, str(path))
            item.setToolTip(0, str(path))
            self.tree.addTopLevelItem(item)
            if key not in self.known:
                self._read_later(key)
            if str(path) == selected or (selected is None and self.tree.topLevelItemCount() == 1):
                item.setSelected(True)
        for column in range(4):
            self.tree.resizeColumnToContents(column)
        self._update_buttons()

    def _read_later(self, path: str) -> None:
        self.known[path] = None  # until read: asked once, and "?" if it cannot be read
        job = BackgroundJob(lambda: read_position(path), (TrainingError, KeyError, ValueError), self)

        def finish(position: tuple[int, int] | None) -> None:
            self.known[path] = position
            self._jobs.discard(job)
            self.refresh()

        job.done.connect(finish)
        job.failed.connect(lambda _message: finish(None))
        self._jobs.add(job.start())

    def selected(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def set_busy(self, busy: bool) -> None:
        """No resuming while a run is going (loading weights stays possible)."""
        self.resume.setProperty("busy", busy)
        self._update_buttons()

    def _update_buttons(self) -> None:
        chosen = self.selected() is not None
        self.resume.setEnabled(chosen and not self.resume.property("busy"))
        self.load.setEnabled(chosen)

    def _emit(self, signal: Signal) -> None:
        path = self.selected()
        if path is not None:
            signal.emit(path)
