"""The live canvas: each card can show a thumbnail of its own output for the probe, refreshed while
training, and an overlay that colours the cards by a per-layer measure, with a legend.

Both are switched in View (Card Thumbnails; Card Overlay › measure). While a run trains, the
views' probe request asks for every layer's output as well (``Views.extra_needs``); snapshots
arrive with the step events and are drawn at most :data:`REFRESH_MS` apart, whatever their rate,
by a timer on the GUI thread: the pictures are small QImages made from the snapshot's arrays
(``thumbnails.py``), a few milliseconds for a whole design, never on the hot path of an event.

Measures: forward + backward time and activation memory come from
:func:`cnnstudio.training.profile.profile_design` (the numbers ``cnnstudio profile`` prints, at
:data:`PROFILE_BATCH`, computed in the background); gradient norm, the fraction of dead units (a
unit that is zero or less for the probe) and the weight change since the run began (relative,
of each convolution's filters) come from the snapshots.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import shiboken6
from PySide6.QtCore import QEvent, QObject, QRectF, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QActionGroup,
    QColor,
    QLinearGradient,
    QPainter,
    QPaintEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QMenu, QWidget

from cnnstudio.core.display import size_text
from cnnstudio.gui.background import BackgroundJob
from cnnstudio.gui.canvas import thumbnails

if TYPE_CHECKING:
    from cnnstudio.gui.main_window import MainWindow
    from cnnstudio.training.profile import Profile

REFRESH_MS = 250  # at most four refreshes a second
PROFILE_BATCH = 8  # `cnnstudio profile`'s default batch size: the overlay shows the same numbers
MEASURES = {  # key: (menu text, how a value is written)
    "time_ms": ("Forward + Backward Time", lambda v: f"{v:.2f} ms"),
    "activation_bytes": ("Activation Memory", lambda v: size_text(int(v))),
    "grad_norm": ("Gradient Norm", lambda v: f"{v:.3g}"),
    "dead": ("Dead Units", lambda v: f"{100 * v:.0f}% dead"),
    "weight_change": ("Weight Change Since the Run Began", lambda v: f"{100 * v:.1f}%"),
}
PROFILED = ("time_ms", "activation_bytes")
RAMP = ("#440154", "#3b528b", "#21918c", "#5ec962", "#fde725")  # viridis: low to high, readable in grey too
TINT_ALPHA = 120


def ramp_color(fraction: float, alpha: int = 255) -> QColor:
    """The colour of ``fraction`` (0 to 1) on :data:`RAMP`."""
    position = min(max(fraction, 0.0), 1.0) * (len(RAMP) - 1)
    low = int(position)
    high = min(low + 1, len(RAMP) - 1)
    a, b, t = QColor(RAMP[low]), QColor(RAMP[high]), position - low
    color = QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t, a.greenF() + (b.greenF() - a.greenF()) * t,
                            a.blueF() + (b.blueF() - a.blueF()) * t)
    color.setAlpha(alpha)
    return color


def dead_fraction(values: np.ndarray) -> float:
    """The fraction of units (channels of a map, elements of a vector) that are zero or less everywhere."""
    units = values.reshape(values.shape[0], -1) if values.ndim > 1 else values.reshape(-1, 1)
    return float((units.max(axis=1) <= 0).mean()) if len(units) else 0.0


class OverlayLegend(QWidget):
    """The measure's name and its colour scale from the lowest to the highest value, at the canvas's
    lower right (a folded chain's last row is the shortest). A child of the view, not of its viewport, which moves its children as it scrolls."""

    def __init__(self, parent: QAbstractScrollArea):
        super().__init__(parent)
        self.title, self.low, self.high = "", "", ""
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self.resize(260, 48)
        self.hide()
        parent.installEventFilter(self)  # kept at the lower right as the canvas resizes

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize:
            self._place()
        return False

    def _place(self) -> None:
        area = self.parentWidget().viewport().geometry()
        self.move(area.right() - self.width() - 10, area.bottom() - self.height() - 10)

    def show_scale(self, title: str, low: str, high: str) -> None:
        self.title, self.low, self.high = title, low, high
        self._place()
        self.show()
        self.raise_()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setBrush(self.palette().base().color())
        painter.setPen(self.palette().mid().color())
        painter.drawRoundedRect(QRectF(0.5, 0.5, self.width() - 1, self.height() - 1), 6, 6)
        painter.setPen(self.palette().text().color())
        painter.drawText(QRectF(8, 4, self.width() - 16, 16), int(Qt.AlignmentFlag.AlignLeft), self.title)
        gradient = QLinearGradient(8, 0, self.width() - 8, 0)
        for index, name in enumerate(RAMP):
            gradient.setColorAt(index / (len(RAMP) - 1), QColor(name))
        painter.fillRect(QRectF(8, 22, self.width() - 16, 8), gradient)
        painter.drawText(QRectF(8, 31, 100, 14), int(Qt.AlignmentFlag.AlignLeft), self.low)
        painter.drawText(QRectF(self.width() - 108, 31, 100, 14), int(Qt.AlignmentFlag.AlignRight), self.high)


class LiveCanvas(QObject):
    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.scene = window.scene
        self.snapshot: Any = None
        self.classes: list[str] = []
        self.outputs: list[str] = []
        self.first_filters: dict[str, np.ndarray] = {}  # the run's filters at its first snapshot
        self.profile: Profile | None = None
        self.profile_job: BackgroundJob | None = None
        self.values: dict[str, float] = {}  # the overlay's measure, by node id
        self.legend = OverlayLegend(window.view)
        self._timer = QTimer(self, singleShot=True, interval=REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

        self.act_thumbnails = QAction("Card &Thumbnails", self, checkable=True)
        self.act_thumbnails.setToolTip("Show each layer's output for the probe under its card, live while training")
        self.act_thumbnails.toggled.connect(self._needs_changed)
        self.overlay_menu = QMenu("Card &Overlay", window)
        self.overlay_group = QActionGroup(self)
        self.overlay_actions: dict[str | None, QAction] = {}
        for key, text in ((None, "None"), *((k, m[0]) for k, m in MEASURES.items())):
            action = self.overlay_menu.addAction(text)
            action.setCheckable(True)
            action.setData(key)
            self.overlay_group.addAction(action)
            self.overlay_actions[key] = action
        self.overlay_actions[None].setChecked(True)
        self.overlay_group.triggered.connect(lambda _action: self._needs_changed())
        view_menu = next((a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "View"), None)
        if view_menu is not None:
            view_menu.addSeparator()
            view_menu.addAction(self.act_thumbnails)
            view_menu.addMenu(self.overlay_menu)

        window.training_runner.event.connect(self.on_event)
        window.views.extra_needs.append(self.needs)
        window.doc.reset.connect(self._design_replaced)
        window.doc.analyzed.connect(self._design_edited)

    # -- what is shown ---------------------------------------------------------------------------
    @property
    def measure(self) -> str | None:
        checked = self.overlay_group.checkedAction()
        return checked.data() if checked is not None else None

    def set_measure(self, key: str | None) -> None:
        self.overlay_actions[key].setChecked(True)
        self._needs_changed()

    def needs(self, context: Any) -> dict[str, Any]:
        """What the probe must capture for the cards (merged into the views' request)."""
        measure = self.measure
        fields: dict[str, Any] = {}
        if self.act_thumbnails.isChecked() or measure == "dead":
            fields["activations"] = tuple(n for n in context.design.graph if n not in context.analysis.inputs)
        if measure == "grad_norm":
            fields["grad_norms"] = True
        if measure == "weight_change":
            fields["filters"] = True
        return fields

    def _needs_changed(self, *_: object) -> None:
        self.window.views.schedule_request()
        if self.measure in PROFILED and self.profile is None:
            self._start_profile()
        self.refresh()

    # -- events ----------------------------------------------------------------------------------
    def on_event(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "Started":
            self.classes, self.outputs = list(event.classes), list(event.outputs)
            self.first_filters.clear()
        elif kind == "Snapshot":
            self.snapshot = event
            for node, weights in event.filters.items():
                self.first_filters.setdefault(node, np.asarray(weights, dtype=np.float32))
            if not self._timer.isActive():  # throttled: the latest snapshot is drawn at the next tick
                self._timer.start()

    def _design_replaced(self) -> None:
        self.snapshot, self.profile = None, None
        self.first_filters.clear()
        self.refresh()
        if self.measure in PROFILED:
            self._start_profile()

    def _design_edited(self) -> None:
        if self.profile is not None and self.profile.design is not None and self.measure in PROFILED:
            self._start_profile()  # another shape or layer: other costs

    # -- the profile -----------------------------------------------------------------------------
    def _start_profile(self) -> None:
        if self.profile_job is not None or not self.window.doc.analysis.valid:
            return
        design = self.window.doc.design.copy()

        def work() -> Profile:
            from cnnstudio.training.profile import profile_design

            return profile_design(design, batch_size=PROFILE_BATCH)

        from cnnstudio.training.profile import ProfileError

        self.profile_job = BackgroundJob(work, (ProfileError,), self)
        self.profile_job.done.connect(self._profiled)
        self.profile_job.failed.connect(self._profile_failed)
        self.profile_job.start()

    def _profiled(self, profile: Profile) -> None:
        self.profile_job, self.profile = None, profile
        self.refresh()

    def _profile_failed(self, message: str) -> None:
        self.profile_job = None
        self.window.statusBar().showMessage(f"The layers cannot be profiled: {message}", 8000)

    # -- drawing ---------------------------------------------------------------------------------
    def measured(self, key: str) -> dict[str, float]:
        """Each node's value of measure ``key`` that is known now."""
        if key in PROFILED:
            return {layer.node: float(getattr(layer, key)) for layer in self.profile.layers} if self.profile else {}
        snapshot = self.snapshot
        if snapshot is None:
            return {}
        if key == "grad_norm":
            return {node: float(value) for node, value in snapshot.grad_norms.items()}
        if key == "dead":
            return {node: dead_fraction(np.asarray(a.values, dtype=np.float32)) for node, a in snapshot.activations.items()}
        changes = {}
        for node, weights in snapshot.filters.items():
            first = self.first_filters.get(node)
            now = np.asarray(weights, dtype=np.float32)
            if first is not None and first.shape == now.shape:
                changes[node] = float(np.linalg.norm(now - first) / max(np.linalg.norm(first), 1e-12))
        return changes

    def refresh(self) -> None:
        if not shiboken6.isValid(self.scene):
            return
        self._draw_thumbnails()
        self._draw_overlay()

    def _draw_thumbnails(self) -> None:
        shown = self.snapshot.activations if self.snapshot is not None and self.act_thumbnails.isChecked() else {}
        for node_id, item in self.scene.nodes.items():
            activation = shown.get(node_id)
            image = None
            if activation is not None:
                image = thumbnails.thumbnail(np.asarray(activation.values), node_id in self.outputs, self.classes)
            item.set_thumbnail(image)

    def _draw_overlay(self) -> None:
        key = self.measure
        self.values = self.measured(key) if key is not None else {}
        values = [v for node, v in self.values.items() if node in self.scene.nodes]
        if key is None or not values:
            for item in self.scene.nodes.values():
                item.set_overlay(None)
            waiting = "profiling…" if key in PROFILED else "waiting for a training snapshot"
            if key is None:
                self.legend.hide()
            else:
                self.legend.show_scale(f"{MEASURES[key][0]}: {waiting}", "", "")
            return
        low, high = min(values), max(values)
        write = MEASURES[key][1]
        for node_id, item in self.scene.nodes.items():
            value = self.values.get(node_id)
            if value is None:
                item.set_overlay(None)
                continue
            fraction = (value - low) / (high - low) if high > low else 0.5
            item.set_overlay((ramp_color(fraction, TINT_ALPHA), write(value)))
        self.legend.show_scale(MEASURES[key][0], write(low), write(high))
