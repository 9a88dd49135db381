"""Issue 23, D17: legends never cover the data. The Curves dock's loss and metric legends, the
runs overlay's (long run names) and the Gradients view's (many layers) sit beside their
plot (or right of it, in a wide short one), whatever the dock's size: the legend's scene rect never
meets the view box's, and every entry narrower than the plot is shown whole inside the widget."""

from __future__ import annotations

from types import SimpleNamespace

import pyqtgraph as pg
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from cnnstudio.gui.plot_legend import SPACING
from cnnstudio.gui.training.curves import Curves
from cnnstudio.gui.views.gradients import Gradients
from cnnstudio.training import events


def assert_beside(plot: pg.PlotWidget, entries: int) -> None:
    item = plot.getPlotItem()
    legend, box = item.legend, item.vb.sceneBoundingRect()
    assert len(legend.items) == entries
    assert legend.isVisible() and not legend.sceneBoundingRect().intersects(box)
    assert box.height() >= 40 and box.width() >= 100  # the data keeps room
    shown = plot.mapToScene(plot.viewport().rect()).boundingRect()
    for sample, label in legend.items:  # never over the data; whole and in the widget when it fits its width
        fits = sample.width() + label.width() + 2 * SPACING <= box.width()
        for part in (sample, label):
            rect = part.sceneBoundingRect()
            assert not rect.intersects(box) and (shown.contains(rect) or not fits), label.text


def fed_curves(qtbot, width: int, height: int) -> Curves:
    curves = Curves()
    qtbot.addWidget(curves)
    curves.resize(width, height)
    curves.show()
    qtbot.waitExposed(curves)
    curves.on_event(events.Started("cpu", 1000, 100, 10, 30, 0, [], ["out"]))
    for step in range(1, 31):
        curves.on_event(events.StepMetrics(1 + (step - 1) // 10, step, 10, step, 30, 2.0 / step, 0.01, 900.0, 0.0))
        if step % 10 == 0:
            curves.on_event(events.EpochMetrics(step // 10, 1.0 / step, 1.1 / step,
                                                {"val_accuracy": 0.9, "val_top5": 0.99}, 0.01, 1.0))
    curves.redraw()
    return curves


@pytest.mark.parametrize(("width", "height"), [(320, 520), (560, 300), (900, 260), (1400, 330)])
def test_the_curves_legends_sit_beside_their_plots(qtbot, width: int, height: int) -> None:
    curves = fed_curves(qtbot, width, height)
    qtbot.waitUntil(lambda: assert_beside(curves.loss_plot, 4), timeout=2000)  # the layouts settle
    qtbot.waitUntil(lambda: assert_beside(curves.metric_plot, 2), timeout=2000)


@hsettings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(st.sampled_from("abcdefgh xyz-0123"), min_size=1, max_size=40), min_size=1, max_size=6),
       width=st.integers(300, 1200))
def test_the_overlays_run_names_stay_off_the_curves(qtbot, names: list[str], width: int) -> None:
    curves = fed_curves(qtbot, width, 560)
    records = [{"epoch": e, "train_loss": 1 / e, "val_loss": 1.2 / e, "val_accuracy": 0.5 + e / 10} for e in (1, 2, 3)]
    curves.overlay([(name, "#2f63c8", records, "val_accuracy") for name in names])
    # the validation curves are named, the dashed training ones not, nor the metric's (the same colours)
    qtbot.waitUntil(lambda: assert_beside(curves.loss_plot, len(names)), timeout=2000)
    assert not curves.metric_plot.getPlotItem().legend.items
    curves.overlay([])
    qtbot.waitUntil(lambda: assert_beside(curves.loss_plot, 4), timeout=2000)
    qtbot.waitUntil(lambda: assert_beside(curves.metric_plot, 2), timeout=2000)


@pytest.mark.parametrize("layers", [3, 14])
def test_the_gradient_norms_legend_is_beside_its_plot(qtbot, layers: int) -> None:
    view = Gradients()
    qtbot.addWidget(view)
    view.resize(520, 520)
    view.show()
    qtbot.waitExposed(view)
    names = [f"conv{i}" for i in range(layers)]
    for step in (10, 20, 30):
        snapshot = SimpleNamespace(step=step, grad_norms={n: 0.1 * (i + 1) * step for i, n in enumerate(names)})
        view.record(snapshot)
    view.show_snapshot(snapshot, SimpleNamespace())
    qtbot.waitUntil(lambda: assert_beside(view.over_time, layers), timeout=2000)
