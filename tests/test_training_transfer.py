"""Transfer learning: train on some classes, start a new design from the matching weights."""

from pathlib import Path

import pytest
import torch

from cnnstudio.core.weights import read_state_dict
from cnnstudio.training import events
from cnnstudio.training.data.synthetic_shapes import SHAPES
from training_helpers import classifier, train


def test_classes_keeps_and_renumbers_the_chosen_classes() -> None:
    finished, recorder = train(classifier(classes=3), epochs=1, classes=[4, 0, 2])
    assert finished.status == "completed"
    assert recorder.of(events.Started)[0].classes == [list(SHAPES)[i] for i in (4, 0, 2)]
    assert int(recorder.of(events.Samples)[0].labels.max()) <= 2


def test_classes_outside_the_data_are_refused() -> None:
    finished, recorder = train(classifier(classes=3), epochs=1, classes=[0, 9])
    assert finished.status == "failed"
    assert "from 0 to 5" in recorder.of(events.Error)[0].message


def test_init_weights_loads_matching_nodes_and_reports_the_new_head(tmp_path: Path) -> None:
    first, _ = train(classifier(classes=3), tmp_path / "first", epochs=1, classes=[0, 1, 2])
    assert first.status == "completed"
    trained = read_state_dict(first.checkpoint)
    second = classifier(classes=2)
    second.node("conv2d1").frozen = True  # the transferred features stay as they are
    finished, recorder = train(second, tmp_path / "second", epochs=1, classes=[3, 4], init_weights=first.checkpoint)
    assert finished.status == "completed"
    report = next(w.message for w in recorder.of(events.Warning) if w.message.startswith("started from"))
    assert "linear1.weight (model [2, 512], file [3, 512])" in report
    after = read_state_dict(finished.checkpoint)
    assert torch.equal(after["conv2d1.weight"], trained["conv2d1.weight"])  # frozen, transferred
    assert after["linear1.weight"].shape == (2, 512)


def test_init_weights_that_match_nothing_are_an_error(tmp_path: Path) -> None:
    path = tmp_path / "other.pt"
    torch.save({"elsewhere.weight": torch.zeros(1)}, path)
    finished, recorder = train(classifier(), epochs=1, init_weights=str(path))
    assert finished.status == "failed"
    assert "matches a node" in recorder.of(events.Error)[0].message


@pytest.mark.parametrize("task", ["segmentation"])
def test_classes_only_for_label_tasks(task: str) -> None:
    finished, recorder = train(classifier(), epochs=1, task=task, classes=[0, 1])
    assert finished.status == "failed"
