"""The views of what a network computes, as docks of the studio, and the one object that feeds them.

``Views(state)`` is a part of the studio (``registry.PartSpec``): it lists the Probe dock and the
view docks, follows the state's selection (as the inspector does), and keeps one capture request up to date: ``request_changed(ProbeRequest
| None)``. While a run trains, the request covers every view, visible or not, so each snapshot
holds what every view the design supports needs; the timeline keeps them (bounded, see
``timeline.py``) and the run folder keeps a copy on disk (``cnnstudio.runs.snapshots``). A view
opened during or after the run shows its whole timeline. Only visible views draw. Outside a run
(after it ends, or with loaded weights) the visible views' requests are captured in the
background by :class:`OfflineProber`, named by the checkpoint's real step and epoch. A past run
loaded from the Runs panel brings its timeline back from its folder. Opening another design
clears the timeline and every view (the state lets the previous weights and probe go).

The docks are placed at once (so the saved layout restores them), but the views themselves, which
import pyqtgraph (about 0.3 s), are built after the window's first paint or at first need.
The views follow the state's runner (its events; their requests go to it as ``set_probe``), and
look offline at the state's weights (a loaded run or file, a finished run's checkpoint). The probe
image is the state's (``state.set_probe``: File › Load Image…, or an image dropped on the window).
The latest snapshot shown is the state's too (``state.snapshot``, read by scripts).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QMessageBox, QVBoxLayout, QWidget

from cnnstudio.gui.registry import ActionSpec, DockSpec
from cnnstudio.gui.state import Weights
from cnnstudio.gui.training.panels import raise_dock
from cnnstudio.gui.views.context import Context
from cnnstudio.gui.views.offline import OfflineProber
from cnnstudio.gui.views.timeline import Timeline
from cnnstudio.training import events
from cnnstudio.training.defaults import with_defaults
from cnnstudio.training.probe_request import DEFAULT_EVERY, ProbeRequest

if TYPE_CHECKING:
    from cnnstudio.gui.state import StudioState
    from cnnstudio.gui.views.base import View

REDRAW_MS = 400  # snapshots arriving faster are all kept, but drawn at most this often
BUILD_DELAY_MS = 700  # after the first paint
VIEW_DOCKS = (("activations", "Activations"), ("filters", "Filters"), ("predictions", "Predictions"),
              ("gradients", "Gradients"), ("embeddings", "Embeddings"))


def _place() -> QWidget:
    """An empty dock body; the view is put in it when the views are built."""
    place = QWidget()
    QVBoxLayout(place).setContentsMargins(0, 0, 0, 0)
    return place


def dock_of(widget: QWidget) -> QDockWidget | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QDockWidget):
        parent = parent.parentWidget()
    return parent


class Views(QObject):
    request_changed = Signal(object)

    def __init__(self, state: StudioState):
        super().__init__(state.runner)
        self.state = state
        self.doc = state.document
        self.timeline = Timeline()
        self.context: Context | None = None
        self.running = False
        self.classes: list[str] = []
        self.shown: Any = None  # the snapshot on screen
        self.views: list[View] = []
        self.extra_needs: list[Callable[[Context], dict[str, Any]]] = []  # more to capture (the live canvas)
        self.offline = OfflineProber(self)
        self._probe_path: str | None = None  # the image the probe panel holds
        self._keeping = False
        self.probe_place = _place()
        self.view_places = [_place() for _ in VIEW_DOCKS]
        self.docks_specs = [DockSpec("probe", "Probe", "right", lambda _: self.probe_place)]
        self.docks_specs += [DockSpec(name, title, "bottom", lambda _, p=place: p)
                             for (name, title), place in zip(VIEW_DOCKS, self.view_places, strict=True)]
        self._request_timer = QTimer(self, singleShot=True, interval=0)
        self._request_timer.timeout.connect(self._send_request)
        self._draw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self._draw_timer.timeout.connect(self._draw)
        self.actions = [ActionSpec("load-image", "Load &Image…", lambda: self.build().probe.open_dialog(), "Ctrl+I",
                                   "Probe the network with an image file", menu="File")]
        state.first_painted.connect(lambda: QTimer.singleShot(BUILD_DELAY_MS, self.build))
        runner = state.runner
        runner.event.connect(self.on_event)
        runner.running_changed.connect(self._runner_running)
        self.request_changed.connect(lambda request: runner.call("set_probe", request))
        state.weights_changed.connect(self._weights_changed)
        state.run_shown.connect(self.show_run)
        state.probe_changed.connect(self._probe_changed)
        state.design_replaced.connect(self._design_replaced)

    @property
    def docks(self) -> list[DockSpec]:
        return self.docks_specs

    @property
    def probe_dock(self) -> QDockWidget | None:
        return dock_of(self.probe_place)

    @property
    def view_docks(self) -> list[QDockWidget | None]:
        return [dock_of(place) for place in self.view_places]

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
        self.probe_place.layout().addWidget(self.probe)
        for view, place in zip(self.views, self.view_places, strict=True):
            place.layout().addWidget(view)
            dock = dock_of(place)
            if dock is not None:
                dock.visibilityChanged.connect(lambda visible, v=view: self._visibility_changed(v, visible))
            view.needs_changed.connect(self.schedule_request)
        self.state.selection_changed.connect(self._selection_changed)
        self.doc.analyzed.connect(self._design_changed)
        self.probe.changed.connect(self.schedule_request)
        self.probe.failed.connect(self._probe_failed)
        self.probe.timeline.picked.connect(self._picked)
        self.probe.timeline.every_changed.connect(lambda _: self.schedule_request())
        self.embeddings.tsne_failed.connect(self._probe_failed)
        from cnnstudio.gui.images.look_for import LookFor

        self.look_for = LookFor(self.state, self.filters)
        self.offline.ready.connect(self._offline_snapshot)
        self.offline.failed.connect(lambda message: self.state.show_message(
            f"The views cannot look at these weights: {message}", 8000))
        self._design_changed()
        if self.state.probe is not None:
            self._probe_changed(self.state.probe)
        return self

    def shutdown(self) -> None:
        """The window closes: What It Looks For's run stops (the views have no other of their own)."""
        if self.built:
            self.look_for.shutdown()

    # -- what the views need --------------------------------------------------------------------------
    def visible_views(self) -> list[View]:
        if not self.built:
            return []
        # a dock behind another's tab stays "visible", moved out of sight: its visible region is empty
        return [view for view in self.views if view.isVisible() and not view.visibleRegion().isEmpty()]

    def request(self) -> Any:
        """What to capture: for every view while a run trains (hidden ones too, so their timeline
        is whole), for the visible views otherwise; None when there is nothing to capture."""
        views = self.views if self.running else self.visible_views()
        if not views or self.context is None or not self.context.analysis.valid:
            return None
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

    def _selection_changed(self, selected: tuple[str, ...]) -> None:
        if len(selected) == 1:
            self.activations.set_node(selected[0])
            self.filters.set_layer(selected[0])

    # -- the probe ----------------------------------------------------------------------------------------
    def _probe_failed(self, message: str) -> None:
        QMessageBox.warning(self.probe, "Cannot Use This Probe", message)

    def load_image(self, path: str | Path) -> bool:
        """Probe with this image file (``state.set_probe``); False when it cannot be used."""
        self.state.set_probe(str(path))
        return self.state.probe == str(path)

    def _probe_changed(self, path: str | None) -> None:
        if self._keeping or path == self._probe_path:
            return
        if not self.built:
            if path is not None:
                self.build()  # which takes the probe up
            return
        if path is None:
            self._probe_path = None
            self.probe.use_sample(0)
            return
        raise_dock(self.probe)
        if self.probe.load_file(path):
            self._probe_path = path
            return
        self._keeping = True  # a file that cannot be used: the previous probe stays, in the state too
        self.state.set_probe(self._probe_path)
        self._keeping = False

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
            self.running = False  # the training panels make its checkpoint the state's weights

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
        if self.built:
            self.probe.sample.setValue(0)  # the previous data's sample is not this design's

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
        job.failed.connect(lambda message: self.state.show_message(
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

    def look_at(self, path: str) -> None:
        """Show the design with these weights (a checkpoint or weights file): they become the state's."""
        if self.state.weights is not None and self.state.weights.path == path:
            self._weights_changed(self.state.weights)
        else:
            self.state.set_weights(Weights(path))

    def _weights_changed(self, weights: Weights | None) -> None:
        if weights is None:
            if not self.running:
                self.offline.release()
            return
        self.build()
        self.offline.set_weights(self.doc.design, weights.path)
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
        self.state.set_snapshot(snapshot)
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
