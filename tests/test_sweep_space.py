"""What a sweep varies: every KEY kind and SPEC parsed, checked against the design and applied;
every bad ``--param`` refused with a sentence naming it (hostile inputs generated)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.core.compiler import build_model
from cnnstudio.core.design import DesignError
from cnnstudio.sweeps.space import Dimension, SweepError, apply, parse_param
from training_helpers import chain, classifier


def grouped():
    design = chain([1, 12, 12], ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}), ("ReLU", {}),
                   ("Dropout", {"p": 0.1}), ("Flatten", {}), ("Linear", {"out_features": 3}))
    design.add_group("block", ["conv2d1", "relu1"])
    return design


def params(design, node_id):
    with __import__("torch").device("meta"):
        model = build_model(design)
    return sum(p.numel() for name, p in model.named_parameters() if name.startswith(node_id))


@pytest.mark.parametrize("text, expected", [
    ("training.lr=float:0.0001:0.1:log", Dimension("training.lr", "float", 0.0001, 0.1, log=True)),
    ("training.weight_decay=float:0:0.01", Dimension("training.weight_decay", "float", 0.0, 0.01)),
    ("training.batch_size=int:8:64:8", Dimension("training.batch_size", "int", 8, 64, step=8)),
    ("training.optimizer=choice:sgd,adam", Dimension("training.optimizer", "choice", choices=("sgd", "adam"))),
    ("training.augment.hflip=float:0:0.5", Dimension("training.augment.hflip", "float", 0.0, 0.5)),
    ("nodes.conv2d1.out_channels=int:2:16", Dimension("nodes.conv2d1.out_channels", "int", 2, 16)),
    ("nodes.dropout1.p=float:0:0.5", Dimension("nodes.dropout1.p", "float", 0.0, 0.5)),
    ("nodes.conv2d1.kernel_size=choice:3,[3,5],5", Dimension("nodes.conv2d1.kernel_size", "choice", choices=(3, [3, 5], 5))),
    ("nodes.conv2d1.padding=choice:same,1", Dimension("nodes.conv2d1.padding", "choice", choices=("same", 1))),
    ("groups.block.repeat=int:0:3", Dimension("groups.block.repeat", "int", 0, 3)),
])
def test_every_key_kind_and_spec_parses(text, expected):
    found = parse_param(text, grouped())
    assert found == Dimension(**{**expected.__dict__, "text": text})


def test_applying_a_trial_changes_the_design_and_its_parameter_count():
    design = grouped()
    trained = apply(design, {"nodes.conv2d1.out_channels": 9, "nodes.conv2d1.kernel_size": [3, 5],
                             "training.lr": 0.5, "training.augment.shift": 0.1, "nodes.dropout1.p": 0.3})
    assert trained.node("conv2d1").params["out_channels"] == 9 and trained.node("dropout1").params["p"] == 0.3
    assert trained.training == {"lr": 0.5, "augment": {"shift": 0.1}}
    assert params(trained, "conv2d1") == 9 * (3 * 5 + 1) != params(design, "conv2d1")
    assert design.node("conv2d1").params["out_channels"] == 4 and design.training == {}  # the original is untouched


def test_a_repeat_chains_copies_that_take_the_trials_layer_values():
    trained = apply(grouped(), {"groups.block.repeat": 2, "nodes.conv2d1.out_channels": 4})
    convs = [n for n in trained.nodes if n.type == "Conv2d"]
    assert len(convs) == 3 and {c.params["out_channels"] for c in convs} == {4}
    assert len(apply(grouped(), {"groups.block.repeat": 0}).nodes) == len(grouped().nodes)


@pytest.mark.parametrize("text, words", [
    ("training.lrr=float:0.1:1", "did you mean 'lr'"),
    ("training.lr=float:-1:1", "'lr' must be greater than 0"),
    ("training.lr=float:0:1:log", "log range needs LOW above 0"),
    ("training.epochs=float:1:3", "a float range cannot set it"),
    ("training.optimizer=choice:sgd,adamax", "must be one of sgd, adam, adamw"),
    ("training.optimizer=int:1:3", "use choice:"),
    ("training.augment.spin=float:0:1", "no key 'augment.spin'"),
    ("nodes.conv9.out_channels=int:1:4", "no node 'conv9'"),
    ("nodes.conv2d1.channels=int:1:4", "has no parameter 'channels'"),
    ("nodes.conv2d1.out_channels=int:0:4", "'out_channels' must be a whole number from 1"),
    ("nodes.conv2d1.out_channels=float:1:4", "a float range cannot set it"),
    ("nodes.dropout1.p=float:0:1.5", "'p' must be a number from 0 to 1"),
    ("groups.nope.repeat=int:0:2", "no group 'nope'"),
    ("groups.block.repeat=int:0:99", "from 0 to 64"),
    ("training.lr=float:0.1", "SPEC must be"),
    ("training.lr=float:1:0.1", "LOW (1) is above HIGH (0.1)"),
    ("training.lr=float:a:b", "'a' is not a number"),
    ("training.lr=float:0:inf", "not a finite number"),
    ("training.batch_size=int:8:64:0", "STEP must be"),
    ("training.optimizer=choice:sgd,sgd", "listed twice"),
    ("training.optimizer=choice:sgd,,adam", "a choice is empty"),
    ("lr=float:0:1", "KEY must be"),
    ("training.lr", "write KEY=SPEC"),
])
def test_bad_params_are_refused_with_a_sentence_naming_them(text, words):
    with pytest.raises(SweepError) as caught:
        parse_param(text, grouped())
    assert str(caught.value).startswith(f"--param {text}") and words in str(caught.value)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_any_text_is_a_dimension_or_a_sentence(text):
    try:
        dimension = parse_param(text, classifier())
    except SweepError as error:
        assert str(error).startswith("--param ") and "\n" not in str(error)
        return
    assert dimension.key == text.partition("=")[0].strip()


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(["int", "float", "choice"]),
       values=st.lists(st.one_of(st.integers(-5, 40), st.floats(-2, 40, allow_nan=False)), min_size=1, max_size=4),
       key=st.sampled_from(["nodes.conv2d1.out_channels", "nodes.conv2d1.kernel_size", "nodes.dropout1.p",
                            "training.batch_size", "training.momentum", "groups.block.repeat"]))
def test_whatever_a_dimension_accepts_applies_to_the_design(kind, values, key):
    """A range or choices that pass the checks never make a trial whose values the design refuses."""
    parts = ",".join(map(str, values)) if kind == "choice" else ":".join(map(str, sorted(values)[:1] + sorted(values)[-1:]))
    text = f"{key}={kind}:{parts}"
    try:
        dimension = parse_param(text, grouped())
    except SweepError:
        return
    for value in dimension.values():
        try:
            apply(grouped(), {key: value})
        except DesignError as error:
            pytest.fail(f"{text} was accepted but {value!r} is refused: {error}")
