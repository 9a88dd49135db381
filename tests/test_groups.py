"""Groups in the core: the Design API, its checks, and that nothing computed depends on groups."""

from __future__ import annotations

import pytest

from cnnstudio.core import groups as grouping
from cnnstudio.core.analysis import analyze
from cnnstudio.core.design import Design, DesignError
from cnnstudio.core.designfile import from_dict, to_dict
from cnnstudio.core.groups import Group
from cnnstudio.core.layout import COLUMN_STEP, WRAP_COLUMNS, layered_positions
from cnnstudio.core.repeat import plan_repeat, repeat_group
from corehelpers import chain


def six() -> Design:
    """x -> conv2d1 -> relu1 -> conv2d2 -> relu2 -> flatten1."""
    conv = ("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same"})
    return chain([3, 8, 8], conv, ("ReLU", {}), conv, ("ReLU", {}), ("Flatten", {}))


def test_add_group_and_group_of():
    design = six()
    group = design.add_group("b1", ["conv2d1", "relu1"], name="Block 1")
    assert group == Group("b1", "Block 1", ["conv2d1", "relu1"], None, True)
    assert design.groups == {"b1": group}
    assert design.group_of("relu1") == "b1" and design.group_of("x") is None
    assert design.add_group("b2", ["conv2d2"], collapsed=False).name == "b2"  # name defaults to id


def test_nested_groups_keep_each_node_in_its_innermost_group():
    design = six()
    design.add_group("stage", ["conv2d1", "relu1", "conv2d2", "relu2"])
    design.add_group("b1", ["conv2d1", "relu1"], parent="stage")  # moves them out of 'stage'
    assert design.groups["stage"].nodes == ["conv2d2", "relu2"]
    assert design.group_of("conv2d1") == "b1"
    # Ungrouped nodes can go straight into a nested group (as an importer builds them).
    design.add_group("tail", ["flatten1"], parent="b1")
    assert grouping.ancestors(design.groups, "tail") == ["b1", "stage"]
    assert grouping.members(design.groups, "stage") == ["conv2d2", "relu2", "conv2d1", "relu1", "flatten1"]
    assert grouping.descendants(design.groups, "stage") == ["b1", "tail"]
    # Existing groups can move into a new one beside them.
    design.add_group("both", [], parent="stage", children=["b1"])
    assert design.groups["b1"].parent == "both" and grouping.children(design.groups, "stage") == ["both"]
    assert grouping.problems(design.groups, design.graph) == []


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda d: d.add_group("b1", ["conv2d2"]), ["'b1'", "already exists"]),
        (lambda d: d.add_group("", ["conv2d2"]), ["group id"]),
        (lambda d: d.add_group("g", ["nope"]), ["'nope'"]),
        (lambda d: d.add_group("g", ["conv2d2", "conv2d2"]), ["twice"]),
        (lambda d: d.add_group("g", ["conv2d1"]), ["'conv2d1'", "'b1'"]),  # would be in two groups
        (lambda d: d.add_group("g", [], parent="zz"), ["parent 'zz'"]),
        (lambda d: d.add_group("g", [], parent="b1", children=["b1"]), ["'b1'", "encloses"]),  # a loop
        (lambda d: d.remove_group("zz"), ["no group 'zz'"]),
        (lambda d: d.set_groups({"g": Group("g", "G", ["x"], parent="g")}), ["loop"]),
    ],
)
def test_bad_group_edits_raise_design_error_and_change_nothing(call, words):
    design = six()
    design.add_group("b1", ["conv2d1", "relu1"])
    before = to_dict(design)
    with pytest.raises(DesignError) as caught:
        call(design)
    for word in words:
        assert word in str(caught.value)
    assert to_dict(design) == before


def test_remove_group_moves_members_and_children_to_the_parent():
    design = six()
    design.add_group("stage", ["flatten1"])
    design.add_group("b1", ["conv2d1"], parent="stage")
    design.add_group("inner", ["relu1"], parent="b1")
    removed = design.remove_group("b1")
    assert removed.nodes == ["conv2d1"]
    assert "b1" not in design.groups
    assert design.groups["stage"].nodes == ["flatten1", "conv2d1"]
    assert design.groups["inner"].parent == "stage"
    design.remove_group("stage")
    assert design.group_of("conv2d1") is None and design.groups["inner"].parent is None


def test_removing_nodes_drops_them_and_empty_groups():
    design = six()
    design.add_group("stage", ["conv2d2"])
    design.add_group("b1", ["conv2d1", "relu1"], parent="stage")
    design.remove_node("conv2d1")
    assert design.groups["b1"].nodes == ["relu1"]
    design.remove_node("relu1")
    assert "b1" not in design.groups and "stage" in design.groups  # 'stage' still holds conv2d2
    design.remove_node("conv2d2")
    assert design.groups == {}


def test_renaming_a_node_keeps_its_group():
    design = six()
    design.add_group("b1", ["conv2d1", "relu1"])
    design.rename("conv2d1", "stem")
    assert design.groups["b1"].nodes == ["stem", "relu1"]


def test_groups_change_nothing_computed():
    """See-through: shapes, parameters, errors and the compiled model ignore groups."""
    plain = six()
    grouped = six()
    grouped.add_group("b1", ["conv2d1", "relu1"])
    grouped.add_group("b2", ["conv2d2", "relu2"], collapsed=False)
    a, b = analyze(plain), analyze(grouped)
    assert {n: (i.shape, i.params) for n, i in a.nodes.items()} == {n: (i.shape, i.params) for n, i in b.nodes.items()}
    assert b.valid and b.total_params == a.total_params


def test_copy_and_dict_round_trip_keep_groups_independent():
    design = six()
    design.add_group("b1", ["conv2d1"])
    twin = design.copy()
    twin.groups["b1"].nodes.append("relu1")
    assert design.groups["b1"].nodes == ["conv2d1"]
    assert from_dict(to_dict(twin)).groups == twin.groups


def test_numbered_names_count_on():
    assert grouping.numbered("layer1.0", 1, []) == "layer1.1"
    assert grouping.numbered("block1", 2, ["block3"]) == "block4"
    assert grouping.numbered("Stem", 1, []) == "Stem 2"


def test_shown_as_is_the_outermost_collapsed_group():
    groups = {
        "a": Group("a", "a", [], None, False),
        "b": Group("b", "b", [], "a", True),
        "c": Group("c", "c", ["n"], "b", True),
    }
    assert grouping.shown_as(groups, "c") == "b"
    groups["a"].collapsed = True
    assert grouping.shown_as(groups, "c") == "a"
    groups["a"].collapsed = groups["b"].collapsed = groups["c"].collapsed = False
    assert grouping.shown_as(groups, "c") is None and grouping.shown_as(groups, None) is None


# -- boundary, summary, repeat --------------------------------------------------------------------


def residual() -> Design:
    """x -> stem -> [block1: a -> ra -> (+ stem) add] -> head (Flatten) -> fc; add takes (stem, ra)."""
    design = Design("residual")
    design.add_node("Input", {"shape": [4, 8, 8]}, "x", pos=(0.0, 0.0))
    design.add_node("Conv2d", {"out_channels": 4, "kernel_size": 1}, "stem", pos=(240.0, 0.0))
    design.add_node("Conv2d", {"out_channels": 4, "kernel_size": 3, "padding": "same"}, "block1.a", pos=(480.0, 0.0))
    design.add_node("ReLU", {}, "block1.ra", pos=(720.0, 0.0))
    design.add_node("Add", {}, "block1.add", pos=(960.0, 0.0))
    design.add_node("Flatten", {}, "head", pos=(1200.0, 0.0))
    design.add_node("Linear", {"out_features": 3}, "fc", pos=(1440.0, 0.0))
    for src, dst in [("x", "stem"), ("stem", "block1.a"), ("block1.a", "block1.ra"), ("stem", "block1.add"),
                     ("block1.ra", "block1.add"), ("block1.add", "head"), ("head", "fc")]:
        design.connect(src, dst)
    design.add_group("block1", ["block1.a", "block1.add"], name="Block 1")
    design.add_group("block1.inner", ["block1.ra"], parent="block1", collapsed=False)
    return design


def test_boundary_and_summary_see_the_group_from_outside():
    design = residual()
    edge = grouping.boundary(design, "block1")
    assert edge.entries == [("stem", "block1.a", 0), ("stem", "block1.add", 0)]
    assert edge.exits == [("block1.add", "head", 0)]
    assert edge.sources == ["stem"] and edge.exit_nodes == ["block1.add"]
    summary = grouping.summarize(design, analyze(design), "block1")
    assert summary.layers == 3 and summary.params == 4 * 4 * 9 + 4
    assert summary.input_shapes == [(4, 8, 8)] and summary.output_shapes == [(4, 8, 8)]
    assert summary.issues == []
    design.set_param("block1.a", "out_channels", 5)  # the Add now mixes 4 and 5 channels
    summary = grouping.summarize(design, analyze(design), "block1")
    assert [i.node for i in summary.issues] == ["block1.add"] and summary.issues[0].severity == "error"


def test_repeat_makes_a_chained_stage():
    design = residual()
    single = analyze(design).nodes["block1.a"].params + analyze(design).nodes["block1.add"].params
    plan = repeat_group(design, "block1", 2)
    assert plan.copies == ["block2", "block3"]
    assert design.groups["block2"].name == "Block 2" and design.groups["block3"].name == "Block 3"
    assert design.groups["block2.inner"].parent == "block2"  # nested groups come along
    assert design.groups["block2.inner"].nodes == ["block2.ra"]
    # Copy k takes copy k-1's output, at the same input index of each member.
    assert design.inputs_of("block2.a") == ["block1.add"]
    assert design.inputs_of("block2.add") == ["block1.add", "block2.ra"]
    assert design.inputs_of("block3.add") == ["block2.add", "block3.ra"]
    assert design.inputs_of("head") == ["block3.add"]  # the consumer moved to the last copy
    analysis = analyze(design)
    assert analysis.valid and analysis.nodes["fc"].shape == (3,)
    assert sum(analysis.nodes[n].params for n in grouping.members(design.groups, "block3")) == single
    # Collapsed, each copy is one card a column further right; what was right of it moved over.
    assert design.node("block2.a").pos == (480.0 + 240.0, 0.0)
    assert design.node("head").pos == (1200.0 + 2 * 240.0, 0.0)
    assert grouping.problems(design.groups, design.graph) == []


def test_repeat_of_an_open_group_places_copies_past_its_members():
    design = residual()
    design.groups["block1"].collapsed = False
    repeat_group(design, "block1", 1)
    span = 960.0 - 480.0 + 240.0
    assert design.node("block2.a").pos == (480.0 + span, 0.0)
    assert design.node("head").pos == (1200.0 + span, 0.0)


def test_repeat_without_group_prefix_keeps_ids_unique_and_updates_outputs():
    design = six()
    design.output_order = ["relu2"]
    design.add_group("tail", ["conv2d2", "relu2"])
    repeat_group(design, "tail", 1)
    assert design.groups["tail 2"].nodes == ["conv2d2_2", "relu2_2"]
    assert design.output_order == ["relu2_2"] and design.inputs_of("conv2d2_2") == ["relu2"]


@pytest.mark.parametrize(
    ("nodes", "times", "words"),
    [
        (["block1.add"], 1, ["fed by one layer", "stem, block1.ra"]),  # two outside inputs
        (["stem", "block1.a"], 1, ["one output", "stem, block1.a"]),  # two outputs leave it
        (["block1.a"], 0, ["between 1 and"]),
    ],
)
def test_repeat_refuses_what_cannot_chain(nodes, times, words):
    design = residual()
    design.groups.clear()
    design.add_group("g", nodes)
    with pytest.raises(DesignError) as caught:
        plan_repeat(design, "g", times)
    for word in words:
        assert word in str(caught.value)


def test_a_grouped_design_compiles_to_the_same_model():
    """See-through for the compiler (and so export and training): the same modules and outputs."""
    import torch

    from cnnstudio.core.compiler import build_model

    plain, grouped = residual(), residual()
    plain.groups.clear()
    torch.manual_seed(0)
    a = build_model(plain).eval()
    torch.manual_seed(0)
    b = build_model(grouped).eval()
    assert a.state_dict().keys() == b.state_dict().keys()
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(a(x), b(x))


# -- a real network built with Repeat ---------------------------------------------------------------


def _conv(design: Design, node_id: str, src: str, channels: int, kernel: int, stride: int = 1) -> str:
    """Conv2d without bias, then BatchNorm2d (``node_id`` and its ``bn`` twin); returns the norm."""
    design.add_node("Conv2d", {"out_channels": channels, "kernel_size": kernel, "stride": stride,
                               "padding": kernel // 2, "bias": False}, node_id)
    norm = node_id.replace("conv", "bn").replace("downsample.0", "downsample.1")
    design.add_node("BatchNorm2d", {}, norm)
    design.connect(src, node_id)
    design.connect(node_id, norm)
    return norm


def _bottleneck(design: Design, name: str, src: str, width: int, stride: int, project: bool) -> str:
    """torchvision's Bottleneck as group ``name``; returns its output node."""
    before = set(design.graph)
    out = src
    for index, (channels, kernel) in enumerate([(width, 1), (width, 3), (4 * width, 1)], start=1):
        out = _conv(design, f"{name}.conv{index}", out, channels, kernel, stride if kernel == 3 else 1)
        if index < 3:
            design.add_node("ReLU", {}, f"{name}.relu{index}")
            design.connect(out, f"{name}.relu{index}")
            out = f"{name}.relu{index}"
    skip = _conv(design, f"{name}.downsample.0", src, 4 * width, 1, stride) if project else src
    design.add_node("Add", {}, f"{name}.add")
    design.connect(out, f"{name}.add")
    design.connect(skip, f"{name}.add")
    design.add_node("ReLU", {}, f"{name}.relu")
    design.connect(f"{name}.add", f"{name}.relu")
    design.add_group(name, [n for n in design.graph if n not in before])
    return f"{name}.relu"


def _resnet50() -> Design:
    design = Design("ResNet-50")
    design.add_node("Input", {"shape": [3, 224, 224]}, "x")
    out = _conv(design, "conv1", "x", 64, 7, 2)
    design.add_node("ReLU", {}, "relu")
    design.add_node("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, "maxpool")
    design.connect(out, "relu")
    design.connect("relu", "maxpool")
    out = "maxpool"
    for stage, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1):
        out = _bottleneck(design, f"layer{stage}.0", out, width, stride, project=True)
        out = _bottleneck(design, f"layer{stage}.1", out, width, 1, project=False)
        if blocks > 2:
            plan = repeat_group(design, f"layer{stage}.1", blocks - 2)
            out = f"{plan.copies[-1]}.relu"
        blocks_of_stage = [g for g in design.groups if g.startswith(f"layer{stage}.")]
        design.add_group(f"layer{stage}", [], children=blocks_of_stage)
    design.add_node("AdaptiveAvgPool2d", {"output_size": 1}, "avgpool")
    design.add_node("Flatten", {}, "flatten")
    design.add_node("Linear", {"out_features": 1000}, "fc")
    for src, dst in [(out, "avgpool"), ("avgpool", "flatten"), ("flatten", "fc")]:
        design.connect(src, dst)
    return design


def test_resnet50_built_with_repeat_has_torchvisions_parameters_and_stages():
    """One bottleneck drawn per stage, the rest made with Repeat, as a user builds ResNet-50."""
    design = _resnet50()
    analysis = analyze(design)
    assert analysis.valid and analysis.total_params == 25_557_032  # torchvision.models.resnet50()
    assert analysis.nodes["fc"].shape == (1000,)
    assert grouping.children(design.groups, "layer3") == [f"layer3.{i}" for i in range(6)]
    assert design.inputs_of("layer3.5.conv1") == ["layer3.4.relu"]  # copies chain, ids follow torchvision's
    assert grouping.problems(design.groups, design.graph) == []


def _folded_chain() -> Design:
    """An Input and nine ReLUs laid out as the studio lays them: rows of WRAP_COLUMNS."""
    design = chain([3, 8, 8], *[("ReLU", {})] * 9)
    for node_id, pos in layered_positions(design).items():
        design.node(node_id).pos = pos
    return design


def test_a_closed_group_over_two_rows_sits_on_its_first_member_not_on_a_layer_outside():
    design = _folded_chain()
    ids = [node.id for node in design.nodes]
    taken = {node.id: node.pos for node in design.nodes}
    assert len(set(taken.values())) == len(ids) and len({y for _, y in taken.values()}) == 3  # rows of four
    for start in range(len(ids)):
        for stop in range(start + 1, len(ids) + 1):
            inside = ids[start:stop]
            card = grouping.card_position(taken[n] for n in inside)
            outside = [n for n in ids if n not in inside and taken[n] == card]
            assert card == taken[inside[0]] and not outside, (inside, card)
    # The case that broke: the end of row one and the start of row two. The members' top-left
    # corner is the chain's first layer, which is not in the group.
    inside = ids[WRAP_COLUMNS - 2:WRAP_COLUMNS + 2]
    corner = (min(taken[n][0] for n in inside), min(taken[n][1] for n in inside))
    assert corner == taken[ids[0]] and grouping.card_position(taken[n] for n in inside) == taken[inside[0]]
    assert grouping.card_position([]) == (0.0, 0.0)


def test_auto_layout_puts_a_closed_groups_card_in_the_room_it_keeps_for_it():
    """A block whose top member is not its leftmost (a branch): the card, on that member, still
    sits one column after the input and one before the next layer, not over it."""
    design = Design("branch")
    design.add_node("Input", {"shape": [4]}, "x")
    for node_id in ("a", "b1", "b2"):
        design.add_node("ReLU", {}, node_id)
    design.add_node("Add", {}, "add")
    design.add_node("ReLU", {}, "tail")
    for src, dst in [("x", "a"), ("a", "b1"), ("a", "b2"), ("b1", "add"), ("b2", "add"), ("add", "tail")]:
        design.connect(src, dst)
    design.add_group("block", ["a", "b1", "b2", "add"])
    pos = layered_positions(design)
    inside = grouping.members(design.groups, "block")
    assert grouping.card_position(pos[n] for n in inside) == (pos["x"][0] + COLUMN_STEP, pos["x"][1])
    assert pos["tail"] == (pos["x"][0] + 2 * COLUMN_STEP, pos["x"][1])
