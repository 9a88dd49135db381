"""Defaults follow the design: with no "training" object (or no "data" in it) the data fits the
Input and the task fits the outputs, so a valid 1D, 3D or video design checks valid and trains."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.cli import main
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import save_design
from cnnstudio.training import events
from cnnstudio.training.check import training_problems
from cnnstudio.training.defaults import default_settings, input_kind, picked_defaults
from cnnstudio.training.engine import Trainer
from training_helpers import Recorder, chain


def sequence_design(padding: str) -> Design:
    return chain([1, 64], ("Conv1d", {"out_channels": 4, "kernel_size": 4, "padding": padding}), ("ReLU", {}),
                 ("AdaptiveMaxPool1d", {"output_size": 1}), ("Flatten", {}), ("Linear", {"out_features": 2}),
                 name=f"pattern {padding}")


def volume_design() -> Design:
    return chain([1, 16, 16, 16], ("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}), ("ReLU", {}),
                 ("AdaptiveAvgPool3d", {"output_size": 1}), ("Flatten", {}), ("Linear", {"out_features": 4}),
                 name="volumes")


def video_design() -> Design:
    """A clip [3, T, H, W], as torchvision's r3d_18 takes it, to four motions."""
    return chain([3, 4, 16, 16], ("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}), ("ReLU", {}),
                 ("AdaptiveAvgPool3d", {"output_size": 1}), ("Flatten", {}), ("Linear", {"out_features": 4}),
                 name="video")


DESIGNS = {"conv1d-valid": lambda: sequence_design("valid"), "conv1d-causal": lambda: sequence_design("causal"),
           "conv1d-same": lambda: sequence_design("same"), "conv3d": volume_design, "video": video_design}
SOURCES = {"conv1d-valid": "synthetic-sequences", "conv1d-causal": "synthetic-sequences",
           "conv1d-same": "synthetic-sequences", "conv3d": "synthetic-volumes", "video": "synthetic-video"}


@pytest.mark.parametrize("name", DESIGNS)
def test_a_design_without_training_settings_checks_valid(name: str, tmp_path, capsys) -> None:
    design = DESIGNS[name]()
    assert design.training == {}
    path = tmp_path / f"{name}.json"
    save_design(design, path)
    assert main(["check", str(path)]) == 0
    assert "training" not in capsys.readouterr().out.split("memory:")[1]  # no problem and no warning
    assert main(["check", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["training"]
    assert report == {"valid": True, "errors": [], "warnings": []}
    assert default_settings(design).data == SOURCES[name]


@pytest.mark.parametrize("name", DESIGNS)
def test_a_design_without_training_settings_trains_an_epoch(name: str) -> None:
    design = DESIGNS[name]()
    recorder = Recorder()
    settings = default_settings(design, {"epochs": 1, "batch_size": 16, "device": "cpu", "data_options": {"count": 64}})
    finished = Trainer(design, settings, on_event=recorder, step_rate=None).run()
    assert finished.status == "completed", finished.message
    assert recorder.of(events.EpochMetrics) and settings.data == SOURCES[name]


def test_cnnstudio_train_takes_the_defaults_too(tmp_path, capsys) -> None:
    design = sequence_design("causal")
    path = tmp_path / "pattern.json"
    save_design(design, path)
    assert main(["train", str(path), "--epochs", "1", "--batch-size", "256", "--device", "cpu",
                 "--out", str(tmp_path / "run")]) == 0
    written = json.loads((tmp_path / "run" / "settings.json").read_text())
    assert written["data"] == "synthetic-sequences" and written["task"] == "classification"


def test_written_data_is_kept_and_a_default_that_cannot_fit_says_it_was_picked() -> None:
    design = volume_design()
    design.node("x").params["shape"] = [2, 8, 8, 8]  # two channels: no generated source makes them
    (problem,) = training_problems({}, design)
    assert problem.key == "data"
    assert "has no 'data', so synthetic-volumes was picked (fits Input [2, 8, 8, 8], volumes)" in problem.message
    assert "'x' has 2 channels" in problem.message
    wrote = training_problems({"data": "synthetic-shapes"}, design)
    assert wrote and "was picked" not in wrote[0].message and "gives images" in wrote[0].message
    assert not [p for p in picked_defaults(design, {"data": "mnist", "task": "metric"})]


def test_the_task_follows_the_outputs() -> None:
    autoencoder = chain([1, 8, 8], ("Conv2d", {"out_channels": 1, "kernel_size": 3, "padding": "same"}))
    segmenter = chain([1, 8, 8], ("Conv2d", {"out_channels": 7, "kernel_size": 1}))
    grid = chain([1, 32, 32], ("Conv2d", {"out_channels": 16, "kernel_size": 8, "stride": 8}))
    classifier = chain([1, 8, 8], ("Flatten", {}), ("Linear", {"out_features": 6}))
    tasks = [default_settings(d).task for d in (autoencoder, segmenter, grid, classifier)]
    assert tasks == ["reconstruction", "segmentation", "detection", "classification"]
    assert default_settings(classifier, {"task": "metric"}).task == "metric"  # a written task is kept
    boxes = Design("boxes")
    boxes.add_node("Input", {"shape": [1, 16, 16]}, "x")
    boxes.add_node("Flatten", {}, "flat")
    boxes.connect("x", "flat")
    for node, width in (("box", 4), ("cls", 6)):
        boxes.add_node("Linear", {"out_features": width}, node)
        boxes.connect("flat", node)
    assert default_settings(boxes).task == "localization"
    assert training_problems({}, boxes) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=4))
def test_every_input_shape_gets_a_kind_or_none(shape: list[int]) -> None:
    kind = input_kind(shape)
    expected = {2: "sequences", 3: "images", 4: "video" if shape and shape[0] == 3 else "volumes"}.get(len(shape))
    assert kind == expected
    design = chain(shape, name="any")
    picks = {p.key: p.value for p in picked_defaults(design)}
    assert ("data" in picks) == (kind is not None)


@settings(max_examples=25, deadline=None)
@given(channels=st.sampled_from([1, 3]), frames=st.integers(2, 6), height=st.integers(8, 24), width=st.integers(8, 24),
       seed=st.integers(0, 2**31 - 1))
def test_every_synthetic_clip_moves_the_way_its_label_says(channels: int, frames: int, height: int, width: int,
                                                           seed: int) -> None:
    """No single frame tells the class: the disc's centre moves along the labelled direction."""
    import torch

    from cnnstudio.training.data.synthetic_video import MOTIONS, load

    data = load((channels, frames, height, width), {"count": 12, "noise": 0.0}, seed)
    assert tuple(data.images.shape) == (12, channels, frames, height, width)
    assert data.classes == list(MOTIONS)
    ys, xs = torch.meshgrid(torch.arange(height, dtype=torch.float32), torch.arange(width, dtype=torch.float32), indexing="ij")
    for clip, label in zip(data.images, data.labels.tolist()):
        lit = (clip[0] > 0).float()  # [T, H, W]
        assert (lit.flatten(1).sum(1) > 0).all()  # the disc is in every frame
        centre = torch.stack([(lit * ys).sum((1, 2)), (lit * xs).sum((1, 2))], 1) / lit.sum((1, 2)).unsqueeze(1)
        dy, dx = (centre[-1] - centre[0]).tolist()
        want_y, want_x = MOTIONS[data.classes[label]]
        moved, still = (dy, dx) if want_y else (dx, dy)
        assert moved * (want_y or want_x) > 0 and abs(still) < abs(moved) / 2  # rasterising wobbles the other axis
