"""Shape inference of whole designs: every problem found, on its node, saying what to change."""

from __future__ import annotations

import pytest

from cnnstudio.core.analysis import analyze
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design
from corehelpers import FIGURE21, chain


def apply_fix(design: Design, fix) -> None:
    for name, value in fix.params.items():
        design.set_param(fix.node, name, value)


def test_figure21_shapes_formulas_and_counts():
    design = load_design(FIGURE21)
    analysis = analyze(design)
    assert analysis.valid and not analysis.warnings
    shapes = {n: analysis.nodes[n].shape for n in analysis.order}
    assert shapes == {
        "x": (1, 28, 28),
        "conv1": (6, 24, 24),
        "relu1": (6, 24, 24),
        "conv2": (12, 20, 20),
        "relu2": (12, 20, 20),
        "pool1": (12, 10, 10),
        "conv3": (12, 6, 6),
        "relu3": (12, 6, 6),
        "pool2": (12, 3, 3),
        "flatten": (108,),
        "fc1": (256,),
        "relu4": (256,),
        "fc2": (10,),
        "softmax": (10,),
    }
    assert analysis.nodes["conv1"].formulas == ["H: (28 - 5 + 2*0)/1 + 1 = 24", "W: (28 - 5 + 2*0)/1 + 1 = 24"]
    assert "W: (28 - 5 + 2*0)/1 + 1 = 24" in analysis.nodes["conv1"].formulas
    assert analysis.nodes["conv1"].params == 6 * 25 + 6
    assert analysis.nodes["fc1"].params == 108 * 256 + 256
    assert analysis.total_params == 156 + (12 * 6 * 25 + 12) + (12 * 12 * 25 + 12) + 27904 + 2570
    assert analysis.outputs == ["softmax"] and analysis.inputs == ["x"]


def test_every_error_is_collected_not_only_the_first():
    design = Design("three mistakes")
    design.add_node("Input", {"shape": [1, 12, 12]}, "x")
    design.add_node("Conv2d", {"out_channels": 12, "kernel_size": 3}, "a")
    design.add_node("Conv2d", {"out_channels": 6, "kernel_size": 3}, "b")
    design.add_node("Add", {}, "sum")
    design.add_node("Conv2d", {"out_channels": 4, "kernel_size": 13}, "big")
    design.add_node("Flatten", {}, "flat")
    design.add_node("Conv2d", {}, "after_flat")
    design.add_node("ReLU", {}, "after_sum")
    for src, dst in [("x", "a"), ("x", "b"), ("a", "sum"), ("b", "sum"), ("sum", "after_sum"),
                     ("x", "big"), ("x", "flat"), ("flat", "after_flat")]:
        design.connect(src, dst)
    analysis = analyze(design)
    assert not analysis.valid
    assert sorted(i.node for i in analysis.errors) == ["after_flat", "big", "sum"]
    # Downstream of a mistake: no shape, and no second report.
    assert analysis.nodes["after_sum"].shape is None and not analysis.nodes["after_sum"].issues
    (add_error,) = analysis.nodes["sum"].errors
    assert "[12, 10, 10]" in add_error.message and "[6, 10, 10]" in add_error.message
    assert "'a'" in add_error.message and "'b'" in add_error.message
    (flat_error,) = analysis.nodes["after_flat"].errors
    assert "[C, H, W]" in flat_error.message and "[144]" in flat_error.message and "Flatten" in flat_error.message


def test_kernel_larger_than_input_has_a_fix_that_works():
    design = chain([1, 3, 4], ("Conv2d", {"kernel_size": 5}))
    analysis = analyze(design)
    (error,) = analysis.nodes["conv2d1"].errors
    assert "larger than the input" in error.message and "kernel_size" in error.message
    assert error.fix is not None and error.fix.node == "conv2d1"
    assert dict(error.fix.params) == {"kernel_size": (3, 4)}
    apply_fix(design, error.fix)
    assert analyze(design).valid


@pytest.mark.parametrize(
    ("layers", "node"),
    [
        ([("MaxPool2d", {"kernel_size": 5})], "max_pool2d1"),
        ([("MaxPool2d", {"kernel_size": 3, "padding": 2})], "max_pool2d1"),
        ([("Conv2d", {"out_channels": 6, "groups": 4})], "conv2d1"),
        ([("Conv2d", {"padding": "causal"})], "conv2d1"),
        ([("ConvTranspose2d", {"stride": 2, "output_padding": 3})], "conv_transpose2d1"),
        ([("Upsample", {"mode": "linear"})], "upsample1"),
        ([("ResidualBlock", {"out_channels": 8, "projection": "identity"})], "residual_block1"),
        ([("AvgPool3d", {"kernel_size": 3})], None),
    ],
)
def test_fixes_resolve_their_error(layers, node):
    if node is None:  # a 3D case
        design = chain([4, 2, 4, 4], *layers)
        node = "avg_pool3d1"
    else:
        design = chain([4, 4, 4], *layers)
    (error,) = analyze(design).errors
    assert error.node == node and error.fix is not None, error
    apply_fix(design, error.fix)
    assert analyze(design).valid, analyze(design).errors


def test_cycle_is_named():
    design = chain([1, 8, 8], ("ReLU", {}), ("Tanh", {}), ("Sigmoid", {}))
    design.connect("sigmoid1", "tanh1")  # tanh1 -> sigmoid1 -> tanh1
    analysis = analyze(design)
    assert not analysis.valid
    cycle_errors = [i for i in analysis.errors if "cycle" in i.message]
    assert {i.node for i in cycle_errors} == {"tanh1", "sigmoid1"}
    message = cycle_errors[0].message
    assert "tanh1" in message and "sigmoid1" in message and "→" in message
    assert analysis.nodes["relu1"].shape == (1, 8, 8)


def test_unreachable_node_reported_once():
    design = chain([1, 8, 8], ("ReLU", {}))
    design.add_node("Conv2d", {}, "orphan")
    design.add_node("ReLU", {}, "after_orphan")
    design.connect("orphan", "after_orphan")
    analysis = analyze(design)
    (error,) = analysis.errors
    assert error.node == "orphan" and "nothing flows into" in error.message
    assert analysis.nodes["after_orphan"].shape is None


def test_merge_with_one_input():
    design = chain([2, 4, 4], ("Add", {}))
    (error,) = analyze(design).errors
    assert error.node == "add1" and "at least 2" in error.message and "only 1" in error.message


def test_single_input_layer_with_two_inputs():
    design = chain([2, 4, 4], ("ReLU", {}), ("Tanh", {}))
    design.connect("x", "tanh1")
    (error,) = analyze(design).errors
    assert error.node == "tanh1" and "takes one input but 2" in error.message and "Add or Concat" in error.message


def test_input_with_incoming_edge_and_missing_input_or_output():
    design = chain([2, 4, 4], ("ReLU", {}))
    design.add_node("Input", {"shape": [2, 4, 4]}, "y")
    design.connect("relu1", "y")
    errors = analyze(design).errors
    assert any(e.node == "y" and "Input takes no incoming" in e.message for e in errors)

    empty = Design("no input")
    empty.add_node("ReLU", {}, "r")
    messages = [e.message for e in analyze(empty).errors]
    assert any("no Input node" in m for m in messages)

    only_input = Design("no output")
    only_input.add_node("Input", {}, "x")
    analysis = analyze(only_input)
    assert not analysis.valid
    assert any("no output" in e.message for e in analysis.errors)
    assert any("not connected" in w.message for w in analysis.warnings)

    wrong_output = chain([2, 4, 4], ("ReLU", {}))
    wrong_output.output_order = ["relu1", "gone"]
    assert any("'gone'" in e.message for e in analyze(wrong_output).errors)


def test_dropped_rows_warning_says_how_many_and_padding_fix_removes_it():
    design = chain([1, 28, 28], ("Conv2d", {"out_channels": 6, "kernel_size": 5, "stride": 3}))
    analysis = analyze(design)
    assert analysis.valid  # only a warning
    (warning,) = analysis.nodes["conv2d1"].warnings
    assert warning.severity == "warning"
    assert "2 along H and 2 along W" in warning.message
    assert analysis.nodes["conv2d1"].formulas[0] == "H: (28 - 5 + 2*0)/3 + 1 = 8.66667 → 8"
    assert warning.fix is not None and dict(warning.fix.params) == {"padding": 2}
    apply_fix(design, warning.fix)
    after = analyze(design)
    assert after.valid and not after.warnings
    assert after.nodes["conv2d1"].shape == (6, 10, 10)


def test_dropped_rows_with_even_stride_offers_same_padding():
    """Symmetric padding cannot make an odd W1 - F divisible by 2 (this once looped forever)."""
    design = chain([1, 28, 28], ("Conv2d", {"kernel_size": 5, "stride": 2}))
    (warning,) = analyze(design).warnings
    assert "1 along H" in warning.message
    assert dict(warning.fix.params) == {"padding": "same"}
    apply_fix(design, warning.fix)
    assert not analyze(design).warnings


def test_dropped_rows_without_any_padding_fix():
    design = chain([1, 10], ("Conv1d", {"kernel_size": 1, "stride": 4}))
    (warning,) = analyze(design).warnings
    assert "1 along L" in warning.message and warning.fix is None


def test_pooling_dropped_rows_warning_fix_is_ceil_mode():
    design = chain([1, 9, 9], ("MaxPool2d", {"kernel_size": 2}))
    (warning,) = analyze(design).warnings
    assert "1 along H and 1 along W" in warning.message
    apply_fix(design, warning.fix)
    after = analyze(design)
    assert not after.warnings and after.nodes["max_pool2d1"].shape == (1, 5, 5)


def test_linear_on_a_feature_map_warns():
    (warning,) = analyze(chain([3, 4, 5], ("Linear", {}))).warnings
    assert "Flatten" in warning.message


def test_analysis_does_not_mutate_the_design():
    design = load_design(FIGURE21)
    from cnnstudio.core.designfile import to_dict

    before = to_dict(design)
    analyze(design)
    assert to_dict(design) == before
