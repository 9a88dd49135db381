"""What a dropped connection would do (core/connecting.py, no Qt): connect, replace a single
input's connection, go through a collapsed group's free input or output, or refuse with a reason."""

from __future__ import annotations

from cnnstudio.core.connecting import Connection, Drop, End, plan_connection, plan_drop
from cnnstudio.core.design import Design
from cnnstudio.core.groups import free_inputs, group_outputs
from corehelpers import chain

CONV = ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same"})


def six() -> Design:
    """x -> conv2d1 -> relu1 -> conv2d2 -> relu2 -> flatten1."""
    return chain([3, 8, 8], CONV, ("ReLU", {}), CONV, ("ReLU", {}), ("Flatten", {}))


def test_a_free_input_is_a_plain_connection_without_a_hint() -> None:
    design = six()
    design.add_node("ReLU", node_id="spare")
    drop = plan_drop(design, End("relu1"), End("spare"))
    assert drop == Drop((Connection("relu1", "spare"),))
    assert drop.hint is None and drop.options[0].done() == "connected relu1 → spare"


def test_an_occupied_single_input_is_replaced_and_says_so() -> None:
    design = six()
    drop = plan_drop(design, End("x"), End("relu2"))
    assert drop.options == (Connection("x", "relu2", replaces="conv2d2"),)
    assert drop.hint == "drop to replace the connection from conv2d2"
    assert drop.options[0].done() == "replaced conv2d2 → relu2 by x → relu2; Ctrl+Z undoes"


def test_a_replacement_that_would_make_a_cycle_is_refused_with_the_loop() -> None:
    design = six()
    planned = plan_connection(design, "relu2", "conv2d1")  # conv2d1's input is x: replacing it loops
    assert planned == "this would make a cycle (conv2d1 → relu1 → conv2d2 → relu2 → conv2d1); a network must flow one way"
    drop = plan_drop(design, End("relu2"), End("conv2d1"))
    assert drop.options == () and drop.hint == planned


def test_refusals_keep_their_reasons() -> None:
    design = six()
    assert plan_connection(design, "relu1", "relu1") == "relu1 cannot feed itself"
    assert plan_connection(design, "x", "conv2d1") == "x is already connected to conv2d1"
    assert plan_connection(design, "relu1", "x") == "x is an Input: it takes no input"


def test_a_full_two_input_layer_is_refused_and_a_merge_takes_more() -> None:
    design = six()
    design.add_node("Crop", node_id="crop")
    design.connect("relu1", "crop")
    assert plan_connection(design, "relu2", "crop") == Connection("relu2", "crop")  # its second input
    design.connect("relu2", "crop")
    assert plan_connection(design, "x", "crop") == (
        "crop already has its 2 inputs (relu1, relu2); delete the one to replace first")
    design.add_node("Add", node_id="add")
    design.connect("relu1", "add")
    design.connect("relu2", "add")
    assert plan_connection(design, "x", "add") == Connection("x", "add")


def residual() -> Design:
    """x -> conv2d1 -> relu1 -> conv2d2 -> add(conv2d2, x), all but x in the group "block"."""
    design = chain([3, 8, 8], CONV, ("ReLU", {}), CONV)
    design.add_node("Add", node_id="add")
    design.connect("conv2d2", "add")
    design.connect("x", "add")
    design.add_group("block", ["conv2d1", "relu1", "conv2d2", "add"], name="Block 1")
    return design


def test_a_group_with_no_free_input_is_refused_naming_what_takes_its_inputs() -> None:
    design = residual()
    design.add_node("ReLU", node_id="r")
    assert free_inputs(design, "block") == []
    drop = plan_drop(design, End("r"), End("block", group=True))
    assert drop.options == ()
    assert drop.hint == "Block 1 has no free input (conv2d1 takes x; add takes x); open it to replace one"


def test_a_group_with_one_free_input_connects_to_it() -> None:
    design = residual()
    design.disconnect("x", "conv2d1")
    design.add_node("ReLU", node_id="r")
    assert free_inputs(design, "block") == ["conv2d1"]
    drop = plan_drop(design, End("r"), End("block", group=True))
    assert drop.options == (Connection("r", "conv2d1"),)
    assert drop.hint == "drop to connect r → conv2d1 (inside Block 1)"


def test_a_group_with_several_free_inputs_offers_those_that_make_no_cycle() -> None:
    design = residual()
    design.disconnect("x", "conv2d1")
    design.disconnect("x", "add")
    design.add_node("Crop", node_id="crop")  # a two-input layer with one input is free too
    design.connect("relu1", "crop")
    design.remove_group("block")
    design.add_group("block", ["conv2d1", "relu1", "conv2d2", "add", "crop"], name="Block 1")
    assert free_inputs(design, "block") == ["conv2d1", "crop"]  # add has an input: a merge is not free
    drop = plan_drop(design, End("x"), End("block", group=True))
    assert [c.dst for c in drop.options] == ["conv2d1", "crop"]
    assert drop.hint == "drop to choose: x → conv2d1, x → crop"
    design.add_node("ReLU", node_id="after")
    design.connect("add", "after")
    drop = plan_drop(design, End("after"), End("block", group=True))
    assert drop.options == (Connection("after", "crop"),)  # into conv2d1 it would loop


def test_dragging_from_a_group_starts_at_its_output() -> None:
    design = residual()
    design.add_node("ReLU", node_id="r")
    assert group_outputs(design, "block") == ["add"]
    drop = plan_drop(design, End("block", group=True), End("r"))
    assert drop.options == (Connection("add", "r"),) and drop.hint == "drop to connect add → r (inside Block 1)"
    design.connect("x", "r")  # r's one input is taken: the group's output replaces it
    drop = plan_drop(design, End("block", group=True), End("r"))
    assert drop.options == (Connection("add", "r", replaces="x"),)
    assert drop.hint == "drop to replace the connection from x"
