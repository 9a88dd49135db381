"""The design editing API: merge input order survives every edit, and undo restores it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.core.design import Design, DesignError
from cnnstudio.core.designfile import to_dict


def merge_design() -> Design:
    """x feeds a, b, c; all three feed 'cat' in the order c, a, b; cat feeds out."""
    design = Design("merge")
    design.add_node("Input", {"shape": [2, 4, 4]}, "x")
    for node_id in ("a", "b", "c"):
        design.add_node("Conv2d", {"out_channels": 2, "padding": "same"}, node_id)
        design.connect("x", node_id)
    design.add_node("Concat", {}, "cat")
    design.add_node("ReLU", {}, "out")
    design.connect("a", "cat")
    design.connect("b", "cat")
    design.connect("c", "cat", 0)
    design.connect("cat", "out")
    return design


def snapshot(design: Design) -> dict:
    """Every node's inputs in order (node order in the graph may change on undo)."""
    return {n.id: (n.type, n.params, design.inputs_of(n.id)) for n in design.nodes}


def test_generated_ids():
    design = Design()
    assert design.add_node("Conv2d").id == "conv2d1"
    assert design.add_node("Conv2d").id == "conv2d2"
    assert design.add_node("MaxPool2d").id == "max_pool2d1"
    assert design.add_node("TorchvisionBackbone").id == "torchvision_backbone1"
    assert design.new_id("ReLU") == "relu1" and design.new_id("BatchNorm2d") == "batch_norm2d1"


def test_generated_ids_take_the_lowest_free_number_again() -> None:
    design = Design()
    for _ in range(4):
        design.add_node("ReLU")
    design.remove_node("relu2")
    assert design.add_node("ReLU").id == "relu2"
    assert design.add_node("ReLU").id == "relu5"
    design.rename("relu1", "first")
    assert design.new_id("ReLU") == "relu1"
    design.add_node("ReLU", node_id="relu1")  # a given id is skipped by the next generated one
    design.add_node("ReLU", node_id="relu6")
    assert design.add_node("ReLU").id == "relu7"
    assert design.copy().new_id("ReLU") == "relu8"


def test_add_node_errors():
    design = Design()
    design.add_node("ReLU", node_id="r")
    with pytest.raises(DesignError, match="already exists"):
        design.add_node("Tanh", node_id="r")
    with pytest.raises(DesignError, match="did you mean 'Conv2d'"):
        design.add_node("Conv2D")
    with pytest.raises(DesignError, match="'kernel_size'"):
        design.add_node("Conv2d", {"kernel_size": 0})
    with pytest.raises(DesignError, match="did you mean 'stride'"):
        design.add_node("Conv2d", {"strides": 2})
    with pytest.raises(DesignError, match="non-empty"):
        design.add_node("ReLU", node_id="  ")
    assert [n.id for n in design.nodes] == ["r"]


def test_connect_with_index_sets_the_input_position():
    design = merge_design()
    assert design.inputs_of("cat") == ["c", "a", "b"]
    design.add_node("Conv2d", {"out_channels": 2, "padding": "same"}, "d")
    design.connect("x", "d")
    design.connect("d", "cat", 2)
    assert design.inputs_of("cat") == ["c", "a", "d", "b"]
    design.disconnect("d", "cat")
    design.connect("d", "cat", 99)  # past the end: last
    assert design.inputs_of("cat") == ["c", "a", "b", "d"]
    assert [e for e in design.edges if e[1] == "cat"] == [("c", "cat"), ("a", "cat"), ("b", "cat"), ("d", "cat")]


def test_connect_errors():
    design = merge_design()
    with pytest.raises(DesignError, match="already connected"):
        design.connect("a", "cat")
    with pytest.raises(DesignError, match="feed itself"):
        design.connect("a", "a")
    with pytest.raises(DesignError, match="no node 'zz'"):
        design.connect("a", "zz")
    with pytest.raises(DesignError, match="not connected"):
        design.disconnect("out", "cat")
    assert design.inputs_of("cat") == ["c", "a", "b"]


def test_disconnect_returns_the_index_for_undo():
    design = merge_design()
    index = design.disconnect("a", "cat")
    assert index == 1 and design.inputs_of("cat") == ["c", "b"]
    design.connect("a", "cat", index)
    assert design.inputs_of("cat") == ["c", "a", "b"]


@pytest.mark.parametrize("node_id", ["x", "a", "b", "c", "cat", "out"])
def test_remove_then_insert_restores_edges_at_their_positions(node_id):
    design = merge_design()
    before = snapshot(design)
    node, edges = design.remove_node(node_id)
    assert node_id not in design
    assert all(node_id not in (src, dst) for src, dst in design.edges)
    design.insert_node(node, edges)
    assert snapshot(design) == before


def test_undo_of_several_removals_in_reverse_order():
    design = merge_design()
    before = snapshot(design)
    undo = [design.remove_node(n) for n in ("b", "a", "cat")]
    for node, edges in reversed(undo):
        design.insert_node(node, edges)
    assert snapshot(design) == before


@settings(max_examples=40, deadline=None, database=None)
@given(st.lists(st.sampled_from(["x", "a", "b", "c", "cat", "out"]), min_size=1, max_size=6, unique=True))
def test_any_removals_undone_in_reverse_restore_the_design(order):
    design = merge_design()
    before = snapshot(design)
    undo = [design.remove_node(n) for n in order]
    for node, edges in reversed(undo):
        design.insert_node(node, edges)
    assert snapshot(design) == before


def test_remove_node_drops_it_from_the_output_order():
    design = merge_design()
    design.output_order = ["out", "cat"]
    design.remove_node("cat")
    assert design.output_order == ["out"]


def test_rename_keeps_input_order_and_outputs():
    design = merge_design()
    design.output_order = ["out", "a"]
    design.rename("a", "alpha")
    assert design.inputs_of("cat") == ["c", "alpha", "b"]
    assert design.inputs_of("alpha") == ["x"]
    assert design.node("alpha").id == "alpha" and "a" not in design
    assert design.output_order == ["out", "alpha"]
    design.rename("cat", "joined")
    assert design.inputs_of("joined") == ["c", "alpha", "b"] and design.inputs_of("out") == ["joined"]
    assert [n.id for n in design.nodes] == ["x", "alpha", "b", "c", "joined", "out"]  # order kept


def test_rename_errors():
    design = merge_design()
    with pytest.raises(DesignError, match="already exists"):
        design.rename("a", "b")
    with pytest.raises(DesignError, match="no node"):
        design.rename("zz", "yy")
    with pytest.raises(DesignError, match="non-empty"):
        design.rename("a", "")
    design.rename("a", "a")  # no change is not an error
    assert design.inputs_of("cat") == ["c", "a", "b"]


def test_set_param_validates_and_returns_the_previous_value():
    design = merge_design()
    assert design.set_param("a", "kernel_size", 5) == 3
    assert design.node("a").params["kernel_size"] == 5
    assert design.set_param("a", "kernel_size", [3, 1]) == 5
    assert design.node("a").params["kernel_size"] == (3, 1)
    for name, value, words in [
        ("kernel_size", 0, "'kernel_size'"),
        ("kernel_size", [1, 2, 3], "list of 2"),
        ("kernel_size", "3", "'kernel_size'"),
        ("padding", "full", '"same"'),
        ("bias", 1, "true or false"),
        ("out_channels", 2.5, "whole number"),
        ("kernal_size", 3, "no parameter 'kernal_size'"),
    ]:
        with pytest.raises(DesignError, match=words.replace("(", r"\(").replace("[", r"\[")):
            design.set_param("a", name, value)
    assert design.node("a").params["kernel_size"] == (3, 1)  # unchanged by the failures
    with pytest.raises(DesignError, match="no node"):
        design.set_param("zz", "kernel_size", 3)


def test_copy_is_independent():
    design = merge_design()
    clone = design.copy()
    clone.set_param("a", "out_channels", 7)
    clone.disconnect("a", "cat")
    assert design.node("a").params["out_channels"] == 2
    assert design.inputs_of("cat") == ["c", "a", "b"]
    assert to_dict(design) != to_dict(clone)


def test_output_ids_default_to_sinks_in_node_order():
    design = merge_design()
    design.add_node("Identity", {}, "side")
    design.connect("x", "side")
    assert design.output_ids == ["out", "side"]
    design.output_order = ["side", "cat"]
    assert design.output_ids == ["side", "cat"]
    assert design.input_ids == ["x"]
