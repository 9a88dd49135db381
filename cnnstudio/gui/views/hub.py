"""The views of what a network computes, as docks of the studio, and the one object that feeds them.

``Views`` puts the Probe dock and the view docks into the window, follows the canvas selection
(as the inspector does), and keeps one capture request up to date: ``request_changed(ProbeRequest
| None)``. While a run trains, the request covers every view, visible or not, so each snapshot
holds what every view the design supports needs; the timeline keeps them (bounded, see
``timeline.py``) and the run folder keeps a copy on disk (``cnnstudio.runs.snapshots``). A view
opened during or after the run shows its whole timeline. Only visible views draw. Outside a run
(after it ends, or with loaded weights) the visible views' requests are captured in the
background by :class:`OfflineProber`, named by the checkpoint's real step and epoch. A past run
loaded from the Runs panel brings its timeline back from its folder. Opening another design
clears the timeline and every view.

The docks are placed at once (so the saved layout restores them), but the views themselves, which
import pyqtgraph (about 0.3 s), are built after the window's first paint or at first need.
With a training runner (``window.training_runner``) the views follow its events and send it their
requests (``set_probe``); weights loaded into the design (``window.training.weights_loaded``) and
the checkpoint of a finished run are looked at offline.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMessageBox, QWidget

from cnnstudio.gui.views.context import Context
from cnnstudio.gui.views.offline import OfflineProber
from cnnstudio.gui.views.timeline import Timeline
from cnnstudio.training import events
from cnnstudio.training.defaults import with_defaults

if TYPE_CHECKING:
    from cnnstudio.gui.main_window import MainWindow
    from cnnstudio.gui.views.base import View

DEFAULT_EVERY = 100  # probes.DEFAULT_EVERY, without importing torch with the window
REDRAW_MS = 400  # snapshots arriving faster are all kept, but drawn at most this often
BUILD_DELAY_MS = 700  # after the first paint
VIEW_DOCKS = (("activations", "Activations"), ("filters", "Filters"), ("predictions", "Predictions"),
              ("gradients", "Gradients"), ("embeddings", "Embeddings"))
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".pgm", ".ppm", ".pbm", ".tif", ".tiff", ".webp"}


class Views(QObject):
    request_changed = Signal(object)

    def __init__(self, window: MainWindow):
        super().__init__(window)
        self.window = window
        self.doc = window.doc
        self.timeline = Timeline()
        self.context: Context | None = None
        self.running = False
        self.classes: list[str] = []
        self.shown: Any = None  # the snapshot on screen
        self.views: list[View] = []
        self.extra_needs: list[Callable[[Context], dict[str, Any]]] = []  # more to capture (the live canvas)
        self.offline = OfflineProber(self)
        right, bottom = Qt.DockWidgetArea.RightDockWidgetArea, Qt.DockWidgetArea.BottomDockWidgetArea
        self.probe_dock = window.add_dock("probe", "Probe", QWidget(), right)
        self.view_docks = [window.add_dock(name, title, QWidget(), bottom) for name, title in VIEW_DOCKS]
        # Tabbed with the Summary rather than beside it: side by side, the bottom docks' minimum
        # widths add up and the window no longer fits a laptop screen (1440x900).
        summary = window.findChild(QDockWidget, "dock-summary")
        for dock in self.view_docks:
            window.tabifyDockWidget(summary, dock)
        summary.raise_()
        inspector = window.findChild(QDockWidget, "dock-inspector")  # likewise for the heights on the right
        window.tabifyDockWidget(inspector, self.probe_dock)
        inspector.raise_()
        self._request_timer = QTimer(self, singleShot=True, interval=0)
        self._request_timer.timeout.connect(self._send_request)
        self._draw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._draw_timer.timeout.connect(self._draw)

        self.act_load_image = QAction("Load &Image…", window)
        self.act_load_image.setShortcut(QKeySequence("Ctrl+I"))
        self.act_load_image.setToolTip("Probe the network with an image file")
        self.act_load_image.triggered.connect(lambda: self.build().probe.open_dialog())
        window.addAction(self.act_load_image)
        window.setAcceptDrops(True)
        window.installEventFilter(self)
        window.first_painted.connect(lambda: QTimer.singleShot(BUILD_DELAY_MS, self.build))
        runner = getattr(window, "training_runner", None)
        if runner is not None:
            runner.event.connect(self.on_event)
            runner.running_changed.connect(self._runner_running)
            self.request_changed.connect(lambda request: runner.call("set_probe", request))
        training = getattr(window, "training", None)
        if training is not None:
            training.weights_loaded.connect(lambda loaded: self.look_at(loaded.path))
            training.run_shown.connect(self.show_run)
        self.doc.reset.connect(self._design_replaced)

    @property
    def built(self) -> bool:
        return bool(self.views)

    def build(self) -> Views:
        """Build the views (once): pyqtgraph is imported here, not with the window."""
        if self.built:
            return self
        from cnnstudio.gui.views.activations import Activations
        from cnnstudio.gui.views.embeddings import Embeddings
        from cnnstudio.gui.views.filters import Filters
        from cnnstudio.gui.views.gradients import Gradients
        from cnnstudio.gui.views.predictions import Predictions
        from cnnstudio.gui.views.probe_panel import ProbePanel

        self.probe = ProbePanel(DEFAULT_EVERY)
        self.activations, self.filters, self.predictions = Activations(), Filters(), Predictions()
        self.gradients, self.embeddings = Gradients(), Embeddings()
        self.views = [self.activations, self.filters, self.predictions, self.gradients, self.embeddings]
        self.probe_dock.setWidget(self.probe)
        self.docks: dict[View, QDockWidget] = dict(zip(self.views, self.view_docks))
        for view, dock in self.docks.items():
            dock.setWidget(view)
            dock.visibilityChanged.connect(lambda visible, v=view: self._visibility_changed(v, visible))
            view.needs_changed.connect(self.schedule_request)
        self.window.scene.selectionChanged.connect(self._selection_changed)
        self.doc.analyzed.connect(self._design_changed)
        self.probe.changed.connect(self.schedule_request)
        self.probe.failed.connect(self._probe_failed)
        self.probe.timeline.picked.connect(self._picked)
        self.probe.timeline.every_changed.connect(lambda _: self.schedule_request())
        self.embeddings.tsne_failed.connect(self._probe_failed)
        from cnnstudio.gui.images.look_for import LookFor

        self.look_for = LookFor(self.window, self.filters)
        self.offline.ready.connect(self._offline_snapshot)
        self.offline.failed.connect(lambda message: self.window.statusBar().showMessage(
            f"The views cannot look at these weights: {message}", 8000))
        self._design_changed()
        return self

    # -- what the views need --------------------------------------------------------------------------
    def visible_views(self) -> list[View]:
        if not self.built:
            return []
        # a dock behind another's tab stays "visible", moved out of sight: its visible region is empty
        return [view for view, dock in self.docks.items() if dock.isVisible() and not view.visibleRegion().isEmpty()]

    def request(self) -> Any:
        """What to capture: for every view while a run trains (hidden ones too, so their timeline
        is whole), for the visible views otherwise; None when there is nothing to capture."""
        views = self.views if self.running else self.visible_views()
        if not views or self.context is None or not self.context.analysis.valid:
            return None
        from cnnstudio.training.probes import ProbeRequest

        fields: dict[str, Any] = {"every": self.probe.timeline.every.value(), **self.probe.request_fields()}
        for view in views:
            fields.update(view.needs(self.context))
        for needs in self.extra_needs:  # the live canvas: every card's output, gradient norms...
            for key, value in needs(self.context).items():
                fields[key] = tuple(dict.fromkeys((*fields.get(key, ()), *value))) if key == "activations" else value
        if self.offline.active and not self.running:
            fields["confusion"] = bool(fields.get("predictions")) and self.context.task == "classification"
        return ProbeRequest(**fields)

    def schedule_request(self) -> None:
        self._request_timer.start()

    def _send_request(self) -> None:
        request = self.request()
        self.request_changed.emit(request)
        if not self.running:
            self.offline.request(request)

    def _visibility_changed(self, view: View, visible: bool) -> None:
        if visible and self.shown is not None and self.context is not None:
            view.show_snapshot(self.shown, self.context)
        self.schedule_request()

    # -- the design and the selection -----------------------------------------------------------------
    def _design_changed(self) -> None:
        doc = self.doc
        task = str(with_defaults(doc.design.training, doc.design, analysis=doc.analysis).get("task", "classification"))
        self.context = Context(doc.design, doc.analysis, task, self.classes, self.probe.timeline.every.value())
        self.probe.set_context(self.context)
        if not self.running:
            self.offline.release()
        self.schedule_request()

    def _selection_changed(self) -> None:
        if not shiboken6.isValid(self.window.scene):
            return
        selected = self.window.scene.selected_node_ids()
        if len(selected) == 1:
            self.activations.set_node(selected[0])
            self.filters.set_layer(selected[0])

    # -- the probe ----------------------------------------------------------------------------------------
    def _probe_failed(self, message: str) -> None:
        QMessageBox.warning(self.window, "Cannot Use This Probe", message)

    def load_image(self, path: str | Path) -> bool:
        self.build()
        self.probe_dock.show()
        self.probe_dock.raise_()
        return self.probe.load_file(path)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Image files dropped anywhere on the window become the probe."""
        if event.type() in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and self._dropped_image(event):
            event.acceptProposedAction()
            return True
        if event.type() == QEvent.Type.Drop and (path := self._dropped_image(event)):
            event.acceptProposedAction()
            self.load_image(path)
            return True
        return super().eventFilter(watched, event)

    @staticmethod
    def _dropped_image(event: Any) -> str | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [url.toLocalFile() for url in urls if url.isLocalFile()]
        return next((p for p in paths if Path(p).suffix.lower() in IMAGE_SUFFIXES), None)

    # -- events ---------------------------------------------------------------------------------------------
    def on_event(self, event: Any) -> None:
        """Every engine event, on the GUI thread (from the training runner)."""
        self.build()
        if isinstance(event, events.Started):
            self.running = True
            self.offline.release()
            self.classes = list(event.classes)
            self._design_changed()
            if not event.start_step:
                self._forget()
            self.schedule_request()
        elif isinstance(event, events.Snapshot):
            self.timeline.add(event)
            self.gradients.record(event)
            self.probe.timeline.update_range(self.timeline)
            if self.probe.timeline.live.isChecked():
                self._show(event)
        elif isinstance(event, (events.StepMetrics, events.EpochMetrics)):
            self.embeddings.on_metrics(event)
            self.predictions.on_metrics(event, self.context)
        elif isinstance(event, events.Finished):
            self.running = False
            if event.checkpoint:
                self.look_at(event.checkpoint)

    def _forget(self) -> None:
        """Empty the timeline and every view (a new run, another design)."""
        self.timeline.clear()
        self.shown = None
        for view in self.views:
            view.clear()
        if self.built:
            self.probe.timeline.update_range(self.timeline)
            self.probe.timeline.where.setText("no snapshots yet")

    def _design_replaced(self) -> None:
        if not self.running:
            self.offline.release()
        self.classes = []
        self._forget()

    def show_run(self, run: Any) -> None:
        """A past run: its snapshots, read back from its folder in the background, become the timeline."""
        from cnnstudio.gui.background import BackgroundJob
        from cnnstudio.runs import snapshots

        files = snapshots.stored(run.path)
        if not files or self.running:
            return
        self.build()
        job = BackgroundJob(lambda: [snapshots.load(f) for f in files], (OSError, RuntimeError, KeyError, ValueError), self)
        job.done.connect(self._run_timeline)
        job.failed.connect(lambda message: self.window.statusBar().showMessage(
            f"The run's snapshots cannot be read: {message}", 8000))
        self._timeline_job = job.start()

    def _run_timeline(self, loaded: list[Any]) -> None:
        if self.running:
            return
        self._forget()
        for snapshot in loaded:
            self.timeline.add(snapshot)
            self.gradients.record(snapshot)
        self.probe.timeline.live.setChecked(True)
        self.probe.timeline.update_range(self.timeline)

    def _runner_running(self, running: bool) -> None:
        """A run starts (before its Started event): the views follow it from now on, and no offline
        capture of the previous weights is started beside the worker."""
        if running:
            self.running = True
            self.offline.release()
            self._send_request()  # now, so the trainer has it before its first step

    def look_at(self, weights: str | dict[str, Any]) -> None:
        """Show the design with these weights (a checkpoint or weights file, or a state dict)."""
        self.build()
        self.offline.set_weights(self.doc.design, weights)
        self.schedule_request()

    def _offline_snapshot(self, snapshot: Any, classes: list[str]) -> None:
        if self.running:
            return
        self.classes = list(classes)
        self.context = replace(self.context, classes=self.classes)
        self._show(snapshot)

    def _picked(self, index: int) -> None:
        if 0 <= index < len(self.timeline):
            self._show(self.timeline[index])

    def _show(self, snapshot: Any) -> None:
        self.shown = snapshot
        if not self._draw_timer.isActive():
            self._draw_timer.start()

    def _draw(self) -> None:
        snapshot, context = self.shown, self.context
        if snapshot is None or context is None:
            return
        index = next((i for i, s in enumerate(self.timeline.snapshots) if s is snapshot), None)
        if index is not None:
            self.probe.timeline.describe(snapshot, index, len(self.timeline))
        else:
            self.probe.timeline.describe_weights(snapshot, "Trained weights")
        truth = f"true class: {context.class_name(snapshot.label)}" if snapshot.label is not None else ""
        self.probe.show_probe(snapshot.probe[0], truth)
        for view in self.visible_views():
            view.show_snapshot(snapshot, context)
