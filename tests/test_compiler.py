"""The compiler: inputs in Input-node order, outputs in output order, frozen nodes, errors."""

from __future__ import annotations

import pytest
import torch

import cnnstudio
from cnnstudio.core.analysis import analyze
from cnnstudio.core.compiler import CompileError, build_model, example_inputs, module_names
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design
from corehelpers import FIGURE21, chain, check_against_torch


def two_in_two_out() -> Design:
    """Inputs 'z' (an image) then 'a' (a vector): node order, not alphabetical order."""
    design = Design("two heads")
    design.add_node("Input", {"shape": [2, 6, 6]}, "z")
    design.add_node("Input", {"shape": [5]}, "a")
    design.add_node("Identity", {}, "image_out")
    design.add_node("Flatten", {}, "flat")
    design.add_node("Concat", {}, "joined")
    design.add_node("Identity", {}, "vector_out")
    design.connect("z", "image_out")
    design.connect("z", "flat")
    design.connect("flat", "joined")
    design.connect("a", "joined")
    design.connect("joined", "vector_out")
    return design


def test_inputs_in_input_node_order_and_outputs_as_a_tuple():
    design = two_in_two_out()
    analysis = analyze(design)
    assert analysis.inputs == ["z", "a"]
    assert analysis.outputs == ["image_out", "vector_out"]
    model = build_model(design)
    z, a = torch.randn(3, 2, 6, 6), torch.randn(3, 5)
    result = model(z, a)
    assert isinstance(result, tuple) and len(result) == 2
    image, vector = result
    assert torch.equal(image, z)
    assert torch.equal(vector, torch.cat([z.flatten(1), a], 1))  # Concat in connection order


def test_output_order_is_honoured():
    design = two_in_two_out()
    design.output_order = ["vector_out", "image_out"]
    z, a = torch.randn(1, 2, 6, 6), torch.randn(1, 5)
    vector, image = build_model(design)(z, a)
    assert vector.shape == (1, 77) and torch.equal(image, z)
    design.output_order = ["joined"]  # an inner node alone: one tensor
    out = build_model(design)(z, a)
    assert isinstance(out, torch.Tensor) and out.shape == (1, 77)
    check_against_torch(design)


def test_single_output_is_a_tensor():
    model = cnnstudio.build_model(load_design(FIGURE21))
    out = model(torch.randn(4, 1, 28, 28))
    assert isinstance(out, torch.Tensor) and out.shape == (4, 10)
    assert torch.allclose(out.sum(1), torch.ones(4))  # the template ends in Softmax


def test_figure21_matches_torch_and_generated_code_reads_like_hand_written():
    design = load_design(FIGURE21)
    check_against_torch(design)
    model = build_model(design)
    assert "conv1 = self.conv1(x)" in model.code
    assert type(model).__name__ == "Figure21MnistCnn"


def test_frozen_nodes_do_not_train():
    design = load_design(FIGURE21)
    design.node("conv1").frozen = True
    model = build_model(design)
    assert all(not p.requires_grad for p in model.conv1.parameters())
    assert all(p.requires_grad for p in model.conv2.parameters())
    model(torch.randn(2, 1, 28, 28)).sum().backward()
    assert model.conv1.weight.grad is None and model.conv2.weight.grad is not None


def test_invalid_design_raises_compile_error_listing_every_error():
    design = chain([1, 8, 8], ("Conv2d", {"kernel_size": 9}), ("ReLU", {}))
    design.add_node("Tanh", {}, "orphan")
    design.add_node("Add", {}, "lonely")
    design.connect("x", "lonely")
    with pytest.raises(CompileError) as caught:
        build_model(design)
    message = str(caught.value)
    assert "3 error(s)" in message
    for node_id in ("conv2d1", "orphan", "lonely"):
        assert f"\n{node_id}: " in message


def test_module_names_are_unique_identifiers():
    design = Design("odd ids")
    design.add_node("Input", {"shape": [3]}, "in put")
    ids = ["1st", "class", "a-b", "a_b", "a.b", "ü"]
    previous = "in put"
    for node_id in ids:
        design.add_node("Identity", {}, node_id)
        design.connect(previous, node_id)
        previous = node_id
    names = module_names(design)
    assert len(set(names.values())) == len(names)
    assert all(name.isidentifier() for name in names.values())
    model = build_model(design)
    assert model.node_names == {name: node_id for node_id, name in names.items()}
    x = torch.randn(2, 3)
    assert torch.equal(model(x), x)
    check_against_torch(design)


def test_unconnected_input_is_still_an_argument():
    design = chain([3], ("ReLU", {}))
    design.add_node("Input", {"shape": [4]}, "spare")
    analysis = analyze(design)
    assert analysis.valid and analysis.warnings
    model = build_model(design)
    assert model(torch.ones(1, 3), torch.ones(1, 4)).shape == (1, 3)


def test_example_inputs_have_the_input_shapes():
    design = two_in_two_out()
    z, a = example_inputs(design, batch=3)
    assert z.shape == (3, 2, 6, 6) and a.shape == (3, 5)


@pytest.mark.parametrize("node_id", ["code", "graph", "forward", "training", "train", "eval", "to", "type", "meta"])
def test_ids_that_name_module_attributes_still_train(node_id):
    """A node called "code" must not replace GraphModule.code (it broke training)."""
    design = Design("reserved")
    design.add_node("Input", {"shape": [4]}, "x")
    design.add_node("Linear", {"out_features": 3}, node_id)
    design.connect("x", node_id)
    model = build_model(design)
    assert module_names(design)[node_id] == f"{node_id}_"
    model.train()
    model(torch.randn(2, 4)).sum().backward()
    assert getattr(model, f"{node_id}_").weight.grad is not None


# -- models built again share their code, never their state ------------------------------------
def test_a_design_built_twice_gets_new_layers_and_its_own_graph():
    design = load_design(FIGURE21)
    first, second = build_model(design), build_model(design)
    assert first.code == second.code
    assert first.conv1 is not second.conv1 and first.conv1.weight.data_ptr() != second.conv1.weight.data_ptr()
    assert first.graph is not second.graph and first.graph.owning_module is first
    images = torch.randn(2, 1, 28, 28)
    second.load_state_dict(first.state_dict())
    assert torch.equal(first(images), second(images))


def test_recompiling_one_model_leaves_the_others_of_its_structure_alone():
    design = load_design(FIGURE21)
    first, second = build_model(design), build_model(design)
    output = first.graph.find_nodes(op="output")[0]
    output.args = (first.graph.find_nodes(op="call_module", target="conv1")[0],)
    first.graph.eliminate_dead_code()
    first.recompile()
    images = torch.randn(2, 1, 28, 28)
    assert first(images).shape == (2, 6, 24, 24)
    assert second(images).shape == (2, 10)
    assert build_model(design)(images).shape == (2, 10)
    assert "conv2" in second.code and "conv2" not in first.code


def test_a_parameter_change_rebuilds_the_layer_with_the_same_code():
    design = load_design(FIGURE21)
    before = build_model(design)
    design.set_param("conv1", "out_channels", 8)
    after = build_model(design)
    assert after.conv1.out_channels == 8 and before.conv1.out_channels == 6
    assert after.conv2.in_channels == 8
    assert type(after) is type(before)  # one structure: the code was not generated again


def test_a_renamed_or_rewired_design_gets_new_code():
    design = load_design(FIGURE21)
    before = build_model(design)
    design.name = "Other Name"
    renamed = build_model(design)
    assert type(renamed).__name__ == "OtherName" and type(before).__name__ == "Figure21MnistCnn"
    design.rename("conv1", "first")
    assert "self.first(" in build_model(design).code


def test_freezing_a_node_of_a_design_built_before_is_honoured():
    design = load_design(FIGURE21)
    assert all(p.requires_grad for p in build_model(design).conv1.parameters())
    design.node("conv1").frozen = True
    assert not any(p.requires_grad for p in build_model(design).conv1.parameters())


def test_a_built_model_is_a_graph_module_like_any_other():
    import copy
    import io

    model = build_model(load_design(FIGURE21))
    reference = torch.fx.GraphModule(model, copy.deepcopy(model.graph), "Figure21MnistCnn")
    assert set(vars(model)) == set(vars(reference)) | {"node_names"}
    images = torch.randn(2, 1, 28, 28)
    assert torch.equal(copy.deepcopy(model)(images), model(images))
    buffer = io.BytesIO()
    torch.save(model, buffer)
    buffer.seek(0)
    assert torch.equal(torch.load(buffer, weights_only=False)(images), model(images))


def test_a_built_model_holds_what_graph_module_sets_with_the_same_values():
    """core/compiled.py copies GraphModule's private fields from one template per structure instead
    of running GraphModule.__init__ per model; a torch that changes those fields fails here."""
    import copy

    from cnnstudio.core.compiled import graph_module_fields

    first, second = build_model(load_design(FIGURE21)), build_model(load_design(FIGURE21))
    reference = torch.fx.GraphModule(first, copy.deepcopy(first.graph), "Figure21MnistCnn")
    expected = graph_module_fields(reference)
    assert len(expected) == 11 and "_code" in expected  # torch 2.14's set; a change is worth a look
    assert set(graph_module_fields(first)) - {"node_names"} == set(expected)
    for name, value in expected.items():
        assert type(vars(first)[name]) is type(value) and vars(first)[name] == value, name
        if isinstance(value, (list, dict)) and not value:  # hooks and meta: each model's own
            assert vars(first)[name] is not vars(second)[name], name
    first.meta["seen"] = True
    assert "seen" not in second.meta and first.code == reference.code


def test_a_design_named_like_torch_fx_internal_class_still_builds():
    design = load_design(FIGURE21)
    design.name = "graph module impl"
    assert build_model(design)(torch.randn(1, 1, 28, 28)).shape == (1, 10)


def test_an_empty_output_order_is_a_compile_error_not_a_crash():
    design = load_design(FIGURE21)
    design.output_order = []  # what removing the only listed output leaves
    with pytest.raises(CompileError, match="no output"):
        build_model(design)
