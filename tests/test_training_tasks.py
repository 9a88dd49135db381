"""Every task trains a few steps on a tiny design, on the CPU, and its loss falls."""

from __future__ import annotations

import pytest

from cnnstudio.core.design import Design
from cnnstudio.training import events
from training_helpers import chain, classifier, train

CONV = ("Conv2d", {"out_channels": 8, "kernel_size": 3, "padding": "same"})


def _localizer() -> Design:
    design = chain([1, 16, 16], CONV, ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}),
                   ("Linear", {"out_features": 32}), ("ReLU", {}), ("Linear", {"out_features": 4}))
    design.add_node("Linear", {"out_features": 6}, "cls")
    design.connect("relu2", "cls")
    return design


def _detector() -> Design:
    wide = ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": "same"})
    return chain([1, 16, 16], wide, ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}), wide, ("ReLU", {}),
                 ("MaxPool2d", {"kernel_size": 2}), ("Conv2d", {"out_channels": 16, "kernel_size": 1}))


def _segmenter() -> Design:
    return chain([1, 16, 16], CONV, ("ReLU", {}), ("Conv2d", {"out_channels": 7, "kernel_size": 3, "padding": "same"}))


def _autoencoder() -> Design:
    return chain([1, 16, 16], CONV, ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}),
                 ("ConvTranspose2d", {"out_channels": 1}), ("Sigmoid", {}))


def _embedder() -> Design:
    return chain([1, 16, 16], CONV, ("ReLU", {}), ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}),
                 ("Linear", {"out_features": 16}))


def _sequence_classifier() -> Design:
    return chain([1, 32], ("Conv1d", {"out_channels": 8, "kernel_size": 4, "padding": "causal"}), ("ReLU", {}),
                 ("AdaptiveMaxPool1d", {"output_size": 1}), ("Flatten", {}), ("Linear", {"out_features": 2}))


CASES = {
    "classification": (classifier, {}, "val_accuracy"),
    "localization": (_localizer, {"task": "localization"}, "val_iou"),
    "detection": (_detector, {"task": "detection", "data_options": {"count": 400, "objects": 3}}, "val_map50"),
    "segmentation": (_segmenter, {"task": "segmentation"}, "val_mean_iou"),
    "reconstruction": (_autoencoder, {"task": "reconstruction"}, "val_psnr"),
    "denoising-sparse": (_autoencoder, {"task": "reconstruction", "noise": "masking", "sparse_node": "relu1"}, "val_mse"),
    "triplet-batch-all": (_embedder, {"task": "metric", "mining": "batch-all"}, "val_nn_accuracy"),
    "triplet-batch-hard": (_embedder, {"task": "metric", "mining": "batch-hard"}, "val_nn_accuracy"),
    "triplet-semi-hard": (_embedder, {"task": "metric", "mining": "semi-hard"}, "val_nn_accuracy"),
    "contrastive": (_embedder, {"task": "metric", "loss": "contrastive", "margin": 1.0}, "val_nn_accuracy"),
    "sequences": (_sequence_classifier, {"data": "synthetic-sequences", "data_options": {"count": 800}}, "val_accuracy"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_loss_falls(case: str) -> None:
    make, overrides, metric = CASES[case]
    finished, recorder = train(make(), epochs=3, lr=0.01, **overrides)
    assert finished.status == "completed", recorder.of(events.Error)
    losses = recorder.step_losses
    assert sum(losses[-3:]) < sum(losses[:3]), losses
    epochs = recorder.of(events.EpochMetrics)
    assert len(epochs) == 3 and metric in epochs[-1].metrics


def test_triplet_counts_are_reported_per_batch() -> None:
    _, recorder = train(_embedder(), epochs=1, task="metric", mining="batch-hard")
    stats = recorder.of(events.StepMetrics)[0].stats
    assert set(stats) == {"triplets_easy", "triplets_semi_hard", "triplets_hard"}
    assert sum(stats.values()) > 0


def test_auxiliary_heads_train_with_their_weights() -> None:
    design = classifier()
    design.add_node("Linear", {"out_features": 6}, "aux")
    design.connect("flatten1", "aux")
    finished, recorder = train(design, epochs=1, outputs=["softmax1", "aux"], loss_weights=[1.0, 0.3])
    assert finished.status == "completed", recorder.of(events.Error)
    assert recorder.of(events.Started)[0].outputs == ["linear1", "aux"]


def test_several_inputs_each_get_the_data() -> None:
    design = classifier()
    design.add_node("Input", {"shape": [3, 8, 8]}, "small")
    design.add_node("Flatten", {}, "flat_small")
    design.add_node("Concat", {}, "join")
    design.connect("small", "flat_small")
    design.disconnect("flatten1", "linear1")
    design.connect("flatten1", "join")
    design.connect("flat_small", "join")
    design.connect("join", "linear1")
    finished, recorder = train(design, epochs=1)
    assert finished.status == "completed", recorder.of(events.Error)


def test_a_wrong_output_shape_is_explained() -> None:
    finished, recorder = train(classifier(), task="segmentation")
    assert finished.status == "failed"
    assert "score map" in recorder.of(events.Error)[0].message
