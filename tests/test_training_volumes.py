"""synthetic-volumes: seeded 3D solids for Conv3d designs, trained end to end."""

from __future__ import annotations

import pytest
import torch

from cnnstudio.training.data import synthetic_volumes
from cnnstudio.training.data.registry import load_data
from cnnstudio.training.errors import TrainingError
from training_helpers import chain, train


def test_volumes_are_seeded_labelled_and_in_range() -> None:
    first = load_data("synthetic-volumes", (1, 12, 12, 12), {"count": 50}, 3, print)
    again = load_data("synthetic-volumes", (1, 12, 12, 12), {"count": 50}, 3, print)
    assert first.images.shape == (50, 1, 12, 12, 12)
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    assert first.classes == list(synthetic_volumes.SOLIDS)
    assert 0 <= float(first.images.min()) and float(first.images.max()) <= 1
    assert set(first.labels.tolist()) == set(range(len(first.classes)))


def test_each_solid_fills_its_own_part_of_the_cube() -> None:
    """Without noise, at the same size, a cube holds more voxels than a sphere, a sphere more than a shell or a cross."""
    options = {"count": 40, "noise": 0.0, "min_size": 0.8, "max_size": 0.8}
    data = load_data("synthetic-volumes", (1, 16, 16, 16), options, 0, print)
    filled = (data.images > 0).flatten(1).sum(1).float()
    mean = {name: float(filled[data.labels == k].mean()) for k, name in enumerate(data.classes)}
    assert mean["cube"] > mean["sphere"] > max(mean["shell"], mean["cross"])


def test_options_and_wrong_inputs_are_explained() -> None:
    data = load_data("synthetic-volumes", (1, 8, 8, 8), {"count": 20, "solids": ["cube", "sphere"]}, 0, print)
    assert data.classes == ["cube", "sphere"]
    with pytest.raises(TrainingError, match=r"\[1, D, H, W\]; it is \[1, 28, 28\]"):
        load_data("synthetic-volumes", (1, 28, 28), {}, 0, print)
    with pytest.raises(TrainingError, match="distinct solids"):
        load_data("synthetic-volumes", (1, 8, 8, 8), {"solids": ["cube", "cube"]}, 0, print)


def test_a_conv3d_design_trains_on_volumes() -> None:
    design = chain(
        [1, 8, 8, 8],
        ("Conv3d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}),
        ("ReLU", {}),
        ("AdaptiveMaxPool3d", {"output_size": 1}),
        ("Flatten", {}),
        ("Linear", {"out_features": 4}),
    )
    finished, recorder = train(design, data="synthetic-volumes", data_options={"count": 80}, epochs=1, batch_size=16)
    assert finished.status == "completed", recorder.events
