"""The live canvas: card thumbnails drawn from the snapshots of a run (throttled) and an overlay
that colours cards by a per-layer measure, with the same numbers as ``cnnstudio profile``."""

from __future__ import annotations

import json
import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design
from cnnstudio.gui.canvas.live import PROFILE_BATCH, dead_fraction
from cnnstudio.gui.canvas.node_item import NodeItem
from cnnstudio.gui.canvas.thumbnails import HEIGHT, WIDTH, _binned_means, bars, feature_maps, thumbnail
from cnnstudio.training import events
from gui_fixtures import FIGURE21, answers, figure21, recovery_dir, settings, window  # noqa: F401

CLASSES = [str(i) for i in range(10)]


def _started() -> events.Started:
    return events.Started("cpu", 100, 10, 10, 20, 0, CLASSES, ["fc2"])


def _snapshot(step: int, seed: int) -> events.Snapshot:
    g = torch.Generator().manual_seed(seed)
    activations = {
        "conv1": events.Activation(torch.randn(6, 24, 24, generator=g), (6, 24, 24)),
        "relu1": events.Activation(torch.randn(6, 24, 24, generator=g).clamp_min(0), (6, 24, 24)),
        "fc1": events.Activation(torch.randn(32, generator=g), (32,)),
        "fc2": events.Activation(torch.randn(10, generator=g), (10,)),
    }
    return events.Snapshot(step, 1, [torch.zeros(1, 28, 28)], None, activations,
                           grad_norms={"conv1": 0.5 + seed, "fc1": 2.0, "fc2": 0.1})


def _pixels(item) -> bytes:
    image = item.thumbnail.pixmap().toImage()
    return bytes(image.constBits()) if not image.isNull() else b""


def test_thumbnails_follow_the_snapshots(figure21, qtbot) -> None:  # noqa: F811
    win = figure21
    live = win.live_canvas
    view_menu = next(a.menu() for a in win.menuBar().actions() if a.text() == "&View")
    assert live.act_thumbnails in view_menu.actions() and live.overlay_menu.menuAction() in view_menu.actions()
    live.act_thumbnails.setChecked(True)
    win.views.build()
    needs = live.needs(win.views.context)
    assert set(needs["activations"]) == set(win.doc.design.graph) - set(win.doc.analysis.inputs)
    win.views.running = True  # while a run trains, the probe asks for every card's output too
    assert set(win.views.request().activations) == set(needs["activations"])
    win.views.running = False
    runner = win.training_runner
    runner.event.emit(_started())
    runner.event.emit(_snapshot(10, 0))
    nodes = win.scene.nodes
    qtbot.waitUntil(lambda: bool(_pixels(nodes["conv1"])), timeout=5000)
    first = {node: _pixels(nodes[node]) for node in ("conv1", "relu1", "fc1", "fc2")}
    assert all(first.values()) and not _pixels(nodes["conv2"])  # only what the snapshot holds
    runner.event.emit(_snapshot(20, 1))
    qtbot.waitUntil(lambda: _pixels(nodes["conv1"]) != first["conv1"], timeout=5000)
    live.act_thumbnails.setChecked(False)
    assert not _pixels(nodes["conv1"])


def test_a_thumbnail_refresh_repaints_no_card(figure21, qtbot, monkeypatch) -> None:  # noqa: ANN001, F811
    """The cards are cached pictures: thumbnails changing under them, as they do while a run trains,
    cost no card a paint (each repaints its text, 0.7 ms a card)."""
    painted: list[str] = []
    paint = NodeItem.paint
    monkeypatch.setattr(NodeItem, "paint", lambda item, *args: (painted.append(item.node_id), paint(item, *args))[1])
    assert figure21.open_path(FIGURE21, ask=False)  # cards made with the counting paint
    live = figure21.live_canvas
    live.act_thumbnails.setChecked(True)
    nodes = figure21.scene.nodes
    qtbot.waitUntil(lambda: set(painted) == set(nodes), timeout=5000)  # each painted once, into its cache
    painted.clear()
    for step in range(1, 4):
        figure21.training_runner.event.emit(_snapshot(10 * step, step))
        before = _pixels(nodes["conv1"])
        qtbot.waitUntil(lambda before=before: _pixels(nodes["conv1"]) != before, timeout=5000)
        figure21.view.viewport().repaint()
    assert painted == []
    nodes["conv1"].setSelected(True)  # a change of the card itself still repaints it
    figure21.view.viewport().repaint()
    assert painted == ["conv1"]


def test_many_snapshots_are_drawn_at_most_a_few_times_a_second(figure21, qtbot) -> None:  # noqa: F811
    live = figure21.live_canvas
    live.act_thumbnails.setChecked(True)
    drawn: list[int] = []
    original = live.refresh
    live.refresh = lambda: (drawn.append(live.snapshot.step), original())  # type: ignore[method-assign]
    live._timer.timeout.disconnect()
    live._timer.timeout.connect(live.refresh)
    for step in range(1, 41):
        figure21.training_runner.event.emit(_snapshot(step, step))
    qtbot.waitUntil(lambda: bool(drawn) and drawn[-1] == 40, timeout=5000)
    assert len(drawn) <= 2  # forty snapshots in a burst: drawn once or twice, the latest last


def test_snapshot_measures_colour_the_cards_with_a_legend(figure21, qtbot) -> None:  # noqa: F811
    win = figure21
    live = win.live_canvas
    win.training_runner.event.emit(_started())
    snapshot = _snapshot(10, 3)
    win.training_runner.event.emit(snapshot)
    live.set_measure("grad_norm")
    assert live.values == snapshot.grad_norms
    assert win.scene.nodes["conv1"].overlay is not None and win.scene.nodes["conv2"].overlay is None
    assert live.legend.isVisible() and live.legend.title == "Gradient Norm" and live.legend.high == "3.5"
    live.set_measure("dead")
    assert live.values["relu1"] == dead_fraction(snapshot.activations["relu1"].values.numpy())
    live.set_measure(None)
    assert all(item.overlay is None for item in win.scene.nodes.values()) and not live.legend.isVisible()


def test_the_overlay_shows_what_cnnstudio_profile_prints(figure21, qtbot, tmp_path: Path, capsys) -> None:  # noqa: F811
    win = figure21
    live = win.live_canvas
    live.set_measure("activation_bytes")
    qtbot.waitUntil(lambda: live.profile is not None, timeout=120_000)
    path = tmp_path / "figure21.json"
    save_design(win.doc.design, path)
    capsys.readouterr()
    assert main(["profile", str(path), "--batch-size", str(PROFILE_BATCH), "--repeats", "1", "--json"]) == 0
    printed = {row["node"]: row for row in json.loads(capsys.readouterr().out)["layers"]}
    assert live.values == {node: row["activation_bytes"] for node, row in printed.items()}  # exact
    live.set_measure("time_ms")
    from_profile = {row["node"]: row["time_ms"] for row in live.profile.to_json()["layers"]}  # what the CLI prints
    assert live.values == pytest.approx(from_profile) and set(live.values) == set(printed)
    assert live.legend.title == "Forward + Backward Time"


@pytest.mark.parametrize("values", [np.zeros((3, 5, 5)), np.random.default_rng(0).normal(size=(64, 2, 70)),
                                    np.array([np.nan, 1.0]), np.zeros(0), np.ones(1000), np.full((2, 7), -3.0)])
def test_thumbnails_of_any_output(qapp, values: np.ndarray) -> None:
    image = thumbnail(values, output=values.ndim == 1 and values.size == 2)
    if values.size == 0 or not np.isfinite(values).all():
        assert image is None
    else:
        assert image is not None and image.width() <= 132 and image.height() <= 30


MAPS = arrays(np.float32, array_shapes(min_dims=3, max_dims=3, min_side=1, max_side=40),
              elements=st.floats(-1e3, 1e3, width=32))


@examples(max_examples=40, deadline=None)
@given(MAPS)
def test_each_feature_map_thumbnail_is_its_channel_sampled_and_scaled_by_its_own_range(qapp, values: np.ndarray) -> None:  # noqa: ANN001
    image = feature_maps(values)
    pixels = np.frombuffer(image.constBits(), np.uint8).reshape(HEIGHT, image.bytesPerLine())[:, :WIDTH].astype(int)
    height, width = values.shape[1:]
    for index in range(4):
        square = pixels[:, index * (HEIGHT + 3):index * (HEIGHT + 3) + HEIGHT]
        if index >= len(values):
            assert (square == 255).all()  # no map: the background
            continue
        channel = values[index].astype(np.float64)
        low, high = channel.min(), channel.max()
        for row in range(HEIGHT):
            for col in range(HEIGHT):
                value = channel[round(row * (height - 1) / (HEIGHT - 1)), round(col * (width - 1) / (HEIGHT - 1))]
                expected = 127.5 if high == low else 255 * (value - low) / (high - low)
                assert abs(square[row, col] - expected) <= 1, (index, row, col)


@given(arrays(np.float32, st.integers(1, 400), elements=st.floats(-1e3, 1e3, width=32)), st.integers(1, 66))
def test_long_vectors_are_drawn_as_the_means_of_nearly_equal_runs(values: np.ndarray, bins: int) -> None:
    bins = min(bins, len(values))
    expected = [chunk.astype(np.float64).mean() for chunk in np.array_split(values, bins)]
    assert _binned_means(values, bins) == pytest.approx(expected, rel=1e-9, abs=1e-9)


@given(arrays(np.float32, st.integers(1, 300), elements=st.floats(-1e3, 1e3, width=32)))
def test_bars_reach_from_the_zero_line_to_each_bins_mean_a_pixel_apart(values: np.ndarray) -> None:
    image = bars(values)
    alpha = np.frombuffer(image.constBits(), np.uint8).reshape(HEIGHT, image.bytesPerLine())[:, 3:WIDTH * 4:4]
    means = _binned_means(values, min(len(values), WIDTH // 2))
    low, high = min(0.0, means.min()), max(0.0, means.max())
    span = high - low or 1.0
    zero = HEIGHT * high / span
    for index, mean in enumerate(means):
        start, end = Fraction(index * WIDTH, len(means)), Fraction((index + 1) * WIDTH, len(means))
        first = math.ceil(start - Fraction(1, 2))  # the first column whose centre is in the bar
        rows = np.flatnonzero(alpha[:, first])
        assert abs(len(rows) - HEIGHT * abs(mean) / span) <= 1, index
        if len(rows):
            assert (rows + 0.5 <= zero + 1).all() if mean > 0 else (rows + 0.5 >= zero - 1).all()
            assert (alpha[rows, first] == 255).all()
        gap = math.ceil(end - Fraction(1, 2)) - 1  # its last column: the pixel between it and the next
        assert not alpha[:, gap].any(), index
