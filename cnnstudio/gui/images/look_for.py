"""The Filters view's "what it looks for" grid: made in the background on a runner of its own, shown as
it forms, one image per filter of the chosen convolution."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject

from cnnstudio.gui.images.weights import confirm_random, current_weights
from cnnstudio.gui.training.runner import TrainingRunner

if TYPE_CHECKING:
    from cnnstudio.gui.state import StudioState
    from cnnstudio.gui.views.filters import Filters

STEPS = 256


class LookFor(QObject):
    def __init__(self, state: StudioState, filters: Filters):
        super().__init__(filters)
        self.state, self.filters = state, filters
        self.runner = TrainingRunner(state.runner.mode, self)
        self.runner.event.connect(self.on_event)
        self.runner.running_changed.connect(self._running)
        self.layer = ""
        filters.look_for_requested.connect(self.start)

    def start(self, layer: str) -> bool:
        """Visualise every filter of ``layer`` (up to 64); a run in progress is stopped first."""
        from cnnstudio.core.designfile import to_dict
        from cnnstudio.training.synthesis.jobs import (
            NetworkSpec,
            VisualizeJob,
            visualize,
        )
        from cnnstudio.training.synthesis.visualize import VisualizeSettings

        design = self.state.design
        source = current_weights(self.state)
        random = source is None and confirm_random(self.filters, design.name)
        if source is None and not random:
            return False
        if self.runner.is_running():
            self.runner.shutdown(10.0)
        self.layer = layer
        self.filters.status.setText(f"{layer}: finding what each filter looks for…")
        job = VisualizeJob(NetworkSpec(to_dict(design), source, random), VisualizeSettings(layer, steps=STEPS))
        self.runner.start_job(job, visualize)
        return True

    def on_event(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "SynthesisProgress" and event.image is not None:
            done = event.step / event.steps
            self.filters.show_look_for(event.image.numpy()[None], self.layer, f"{done:.0%}", live=True)
        elif kind == "VisualizeDone":
            self.filters.show_look_for(event.images.numpy(), event.layer,
                                       f"{len(event.channels)} filters", event.activations)
            self.filters.status.setText(f"{event.layer}: each filter's image, {STEPS} steps; hover for its activation")
        elif kind == "Error":
            self.filters.status.setText(f"What it looks for: {event.message}")

    def _running(self, running: bool) -> None:
        self.filters.look_button.setEnabled(not running)

    def shutdown(self) -> None:
        self.runner.shutdown(10.0)
