"""Several Inputs without training settings (issue 20): two towers train on pairs with the
contrastive loss, three on triplets with the triplet loss, each Input fed its own member; a design
with more Inputs than a triplet gets a sentence."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.cli import main
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import save_design
from cnnstudio.training import events
from cnnstudio.training.check import training_problems
from cnnstudio.training.data.convert import to_float
from cnnstudio.training.data.pairing import VALIDATION, Pairing
from cnnstudio.training.defaults import default_settings, picked_defaults
from cnnstudio.training.engine import Trainer
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.probes import ProbeRequest
from training_helpers import Recorder

TOWER = (("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}), ("ReLU", {}),
         ("MaxPool2d", {"kernel_size": 2}), ("Flatten", {}), ("Linear", {"out_features": 8}))


def towers(count: int, tied: bool = True, size: int = 8) -> Design:
    """``count`` Inputs, each with its own tower and embedding; ``tied``: one network's weights."""
    design = Design(name=f"towers{count}")
    for k in range(count):
        previous = design.add_node("Input", {"shape": [1, size, size]}, f"in{k}").id
        for type_name, params in TOWER:
            node = design.add_node(type_name, params, f"{type_name.lower()}{k}").id
            design.connect(previous, node)
            previous = node
    if tied:
        design.tied = {(f"{layer}{k}", tensor): (f"{layer}0", tensor)
                       for k in range(1, count) for layer in ("conv2d", "linear") for tensor in ("weight", "bias")}
    return design


def quick(design: Design, out_dir: Path | None = None, **overrides) -> Trainer:
    """A trainer of ``design``'s defaults on a few hundred samples."""
    settings = default_settings(design, {"epochs": 1, "batch_size": 32, "device": "cpu",
                                         "data_options": {"count": 320}, **overrides})
    return Trainer(design, settings, out_dir=out_dir, step_rate=None)


CASES = {"pair, separate towers": (2, False, "contrastive"), "pair, shared towers": (2, True, "contrastive"),
         "triplet, shared towers": (3, True, "triplet")}


@pytest.mark.parametrize("case", CASES)
def test_several_inputs_without_settings_check_valid_with_their_defaults(case: str, tmp_path: Path, capsys) -> None:
    count, tied, loss = CASES[case]
    design = towers(count, tied)
    assert design.training == {}
    path = tmp_path / "towers.json"
    save_design(design, path)
    assert main(["check", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["training"] == {"valid": True, "errors": [], "warnings": []}
    settings = default_settings(design)
    assert (settings.task, settings.data, settings.task_options.loss) == ("metric", "synthetic-shapes", loss)
    reasons = {pick.key: pick.reason for pick in picked_defaults(design)}
    assert reasons["task"].startswith(f"{count} Inputs, each with its own output")
    assert reasons["data"].endswith(f"{'pairs' if count == 2 else 'triplets'} of its samples, one to each Input")


@pytest.mark.parametrize("count", [2, 3])
def test_cnnstudio_train_trains_an_epoch_of_pairs_or_triplets(count: int, tmp_path: Path, capsys) -> None:
    """No task, data or loss written: only the size of the generated data, to keep the test short."""
    design = towers(count)
    design.training = {"data_options": {"count": 256}}
    path = tmp_path / "towers.json"
    save_design(design, path)
    assert main(["train", str(path), "--epochs", "1", "--batch-size", "32", "--device", "cpu",
                 "--out", str(tmp_path / "run")]) == 0
    written = json.loads((tmp_path / "run" / "settings.json").read_text())
    assert (written["task"], written["data"], written["loss"]) == ("metric", "synthetic-shapes",
                                                                   "contrastive" if count == 2 else "triplet")
    record = json.loads((tmp_path / "run" / "metrics.jsonl").read_text().splitlines()[0])
    kind = "pair" if count == 2 else "triplet"
    assert 0 <= record[f"val_{kind}_accuracy"] <= 1 and "val_nn_accuracy" in record


@pytest.mark.parametrize("count", [2, 3])
def test_the_loader_feeds_each_input_its_own_member_with_the_right_labels(count: int) -> None:
    trainer = quick(towers(count))
    trainer.prepare()
    loader, source = trainer.train_data, trainer.train_data.source
    anchors = next(iter(loader.sampler.batches(0)))
    batch = loader.prepare(next(loader.epoch(0)), augment=False)
    read = loader.pairing.expand(anchors, 0)  # anchors, then each kind of mate
    n = len(anchors)
    for k in range(count):  # each Input gets exactly the images and labels of its member
        chosen = read[k * n:(k + 1) * n]
        assert torch.equal(batch.inputs[k], to_float(source.images[chosen]))
        assert torch.equal(batch.members[k], source.labels[chosen])
    assert torch.equal(batch.labels, batch.members[0]) and torch.equal(read[:n], anchors)
    assert not torch.equal(batch.inputs[0], batch.inputs[1])
    same = batch.members[0] == batch.members[1]
    if count == 3:
        assert same.all() and (batch.members[2] != batch.members[0]).all()
        assert (read[n:2 * n] != anchors).all()  # a positive is another sample of the class
    else:
        assert 0 < int(same.sum()) < n  # same and different pairs, about half each


def test_validation_pairs_stay_the_same_and_training_pairs_change_each_epoch() -> None:
    trainer = quick(towers(2))
    trainer.prepare()
    pairing = trainer.val_data.pairing
    first = [b.members[1] for b in trainer.val_data.in_order(64)]
    assert all(torch.equal(a, b) for a, b in zip(first, [b.members[1] for b in trainer.val_data.in_order(64)]))
    train = trainer.train_data.pairing
    assert not torch.equal(train.mates(0), train.mates(1))
    assert torch.equal(pairing.mates(VALIDATION), Pairing(pairing.labels, 2, 0).mates(VALIDATION))


@settings(max_examples=150, deadline=None)
@given(labels=st.lists(st.integers(0, 5), min_size=2, max_size=60).filter(lambda xs: len(set(xs)) > 1),
       members=st.sampled_from([2, 3]), seed=st.integers(0, 2**31), epoch=st.integers(-1, 9))
def test_every_mate_has_the_class_its_role_says(labels: list[int], members: int, seed: int, epoch: int) -> None:
    classes = torch.tensor(labels)
    mates = Pairing(classes, members, seed).mates(epoch)
    assert mates.shape == (len(labels), members - 1)
    assert torch.equal(mates, Pairing(classes, members, seed).mates(epoch))  # a function of (seed, epoch)
    counts = torch.bincount(classes)
    for anchor, row in enumerate(mates.tolist()):
        if members == 3:
            positive, negative = row
            assert classes[positive] == classes[anchor] and classes[negative] != classes[anchor]
            assert positive != anchor or counts[classes[anchor]] == 1
        else:
            assert row[0] != anchor or counts[classes[anchor]] == 1
    index = torch.randperm(len(labels))[: max(1, len(labels) // 2)]
    expanded = Pairing(classes, members, seed).expand(index, epoch)
    assert torch.equal(expanded[: len(index)], index) and torch.equal(expanded[len(index):], mates[index].T.flatten())


def test_data_of_one_class_is_a_sentence() -> None:
    with pytest.raises(TrainingError, match="pairs need samples of at least 2 classes"):
        Pairing(torch.zeros(10, dtype=torch.long), 2, 0)


@pytest.mark.parametrize("count", [2, 3])
def test_the_loss_falls_over_a_few_epochs(count: int) -> None:
    recorder = Recorder()
    trainer = quick(towers(count), epochs=4, lr=0.003)
    trainer.on_event = recorder
    assert trainer.run().status == "completed"
    losses = [e.train_loss for e in recorder.of(events.EpochMetrics)]
    assert losses[-1] < 0.9 * losses[0], losses


def test_a_run_of_pairs_resumes_exactly(tmp_path: Path) -> None:
    assert quick(towers(2), tmp_path / "straight", epochs=2).run().status == "completed"
    stopped = quick(towers(2), tmp_path / "stopped", epochs=2)
    stopped.on_event = lambda e: isinstance(e, events.StepMetrics) and e.global_step == 12 and stopped.stop()
    assert stopped.run().status == "stopped"
    resumed = Trainer.from_checkpoint(tmp_path / "stopped" / "last.pt", out_dir=tmp_path / "stopped", step_rate=None)
    assert resumed.run().status == "completed"
    whole = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    again = [json.loads(line) for line in (tmp_path / "stopped" / "metrics.jsonl").read_text().splitlines()]
    assert [r["train_loss"] for r in again] == pytest.approx([r["train_loss"] for r in whole], abs=1e-6)
    assert [r["val_pair_accuracy"] for r in again] == [r["val_pair_accuracy"] for r in whole]


def test_four_inputs_get_a_sentence_in_check_and_train(tmp_path: Path, capsys) -> None:
    design = towers(4)
    (problem,) = training_problems({}, design)
    assert problem.key == "task" and problem.severity == "error"
    assert "has no 'task', so metric was picked (4 Inputs, each with its own output" in problem.message
    assert "2 Inputs (a Siamese pair) or 3 (anchor, positive, negative); this design has 4 Inputs" in problem.message
    path = tmp_path / "four.json"
    save_design(design, path)
    assert main(["check", str(path)]) == 1
    assert "error in training.task" in capsys.readouterr().out
    assert main(["train", str(path), "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "this design has 4 Inputs" in err and "Traceback" not in err
    design.training = {"task": "classification"}  # what it learns, said: every Input gets the same sample
    assert not [p for p in training_problems(design.training, design) if p.severity == "error"]


def test_written_settings_that_do_not_fit_the_members_name_their_key() -> None:
    design = towers(2)
    (problem,) = training_problems({"task": "metric", "loss": "triplet"}, design)
    assert problem.key == "loss" and "with 2 Inputs the metric task trains pairs with the contrastive loss" in problem.message
    merged = towers(2)
    merged.add_node("Add", {}, "joined")
    merged.connect("linear0", "joined")
    merged.connect("linear1", "joined")
    (problem,) = training_problems({"task": "metric"}, merged)
    assert problem.key == "outputs" and "'joined' by 'in0' and 'in1'" in problem.message
    assert picked_defaults(merged)[0].value == "classification"  # a merged head is no pair of towers


def test_triplet_towers_that_share_no_weights_are_warned_about() -> None:
    (problem,) = training_problems({}, towers(3, tied=False))
    assert problem.severity == "warning" and "the 3 towers share no weights" in problem.message
    assert not training_problems({}, towers(3, tied=True))


def test_data_of_one_class_is_refused_by_check_and_at_the_start() -> None:
    design = towers(2)
    raw = {"data_options": {"shapes": ["circle"], "count": 64}}
    (problem,) = training_problems(raw, design)
    assert problem.key == "data" and "has one class (circle) but the 2 Inputs train on pairs" in problem.message
    design.training = raw
    finished = Trainer(design, default_settings(design, {"device": "cpu"}), step_rate=None).run()
    assert finished.status == "failed" and "the 2 Inputs train on pairs" in finished.message


def test_the_views_look_at_a_pair_through_each_inputs_member() -> None:
    """The probe sample comes with its mate (one per Input); the embeddings are the first tower's."""
    trainer = quick(towers(2))
    trainer.prepare()
    snapshot = trainer.snapshot(ProbeRequest(activations=("conv2d0", "conv2d1"), predictions=True, embeddings=True))
    assert len(snapshot.probe) == 2 and not torch.equal(snapshot.probe[0], snapshot.probe[1])
    assert set(snapshot.activations) == {"conv2d0", "conv2d1"}
    assert snapshot.embedding.node == "linear0" and len(snapshot.embedding.labels) == len(trainer.val_data.source)
