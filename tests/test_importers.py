"""Importing models as designs with their weights (issue 10): torchvision, module:, ONNX, torch.export.

Each torchvision model is saved as a random state dict, imported with it, checked by
``cnnstudio check``, counted, compiled with the written weights and compared with torchvision's
own outputs in evaluation mode. Inputs are as small as each model allows, to keep this fast.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
import torchvision
from torch import nn

import cnnstudio
from cnnstudio.cli import main
from cnnstudio.core.analysis import analyze
from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.importers import import_model, save_import
from cnnstudio.training.listeners import read_metrics

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-5
MODELS = {  # name -> the smallest input (C, H, W) worth checking
    "resnet18": (3, 64, 64),
    "resnet50": (3, 64, 64),
    "vgg16": (3, 32, 32),
    "mobilenet_v3_small": (3, 64, 64),
    "efficientnet_b0": (3, 64, 64),
    "densenet121": (3, 64, 64),
    "convnext_tiny": (3, 64, 64),
}


def _compare(design_path: Path, reference: nn.Module, shape: tuple[int, ...]) -> None:
    design = load_design(design_path)
    model = cnnstudio.build_model(design).eval()
    assert model.weights_report is not None and not model.weights_report.missing
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected, got = reference.eval()(x), model(x)
    assert (got - expected).abs().max().item() < TOLERANCE


@pytest.mark.parametrize("name", list(MODELS))
def test_torchvision_model_imports_exactly_with_its_weights(name: str, tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = torchvision.models.get_model(name, weights=None)
    for buffer_name, buffer in reference.named_buffers():  # non-trivial statistics, so they must load
        if buffer_name.endswith(("running_mean", "running_var")):
            buffer.uniform_(0.5, 1.5)
    torch.save(reference.state_dict(), tmp_path / "state.pt")
    shape = MODELS[name]
    out = tmp_path / f"{name}.json"
    assert main(["import", f"torchvision:{name}", "--weights", str(tmp_path / "state.pt"),
                 "--input", "x".join(map(str, shape)), "-o", str(out)]) == 0
    assert json.loads(out.read_text())["weights"] == f"{name}.safetensors"
    assert main(["check", str(out)]) == 0
    assert analyze(load_design(out)).total_params == sum(p.numel() for p in reference.parameters())
    _compare(out, reference, shape)


@pytest.mark.parametrize(("name", "shape", "aux_weights"), [("googlenet", (3, 64, 64), [0.3, 0.3]),
                                                         ("inception_v3", (3, 299, 299), [0.4])])
def test_auxiliary_classifiers_import_as_extra_outputs_that_train(name: str, shape: tuple[int, ...], aux_weights: list[float],
                                                                 tmp_path: Path) -> None:
    """GoogLeNet's and Inception v3's auxiliary heads run only in training mode; they are imported as
    outputs with the usual loss weights, every head the same numbers as torchvision's own in eval."""
    torch.manual_seed(0)
    reference = torchvision.models.get_model(name, weights=None, aux_logits=True, init_weights=False)
    torch.save(reference.state_dict(), tmp_path / "state.pt")
    out = tmp_path / f"{name}.json"
    assert main(["import", f"torchvision:{name}", "--weights", str(tmp_path / "state.pt"),
                 "--input", "x".join(map(str, shape)), "-o", str(out)]) == 0
    assert main(["check", str(out)]) == 0  # the training object too: outputs and loss weights
    design = load_design(out)
    assert design.training == {"outputs": design.output_order, "loss_weights": [1.0, *aux_weights]}
    assert len(design.output_order) == 1 + len(aux_weights)
    assert analyze(design).total_params == sum(p.numel() for p in reference.parameters())
    heads = torch.fx.symbolic_trace(reference.train()).eval()  # torchvision's forward with its heads, evaluating
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected, got = heads(x), cnnstudio.build_model(design).eval()(x)
        assert (got[0] - reference.eval()(x)).abs().max().item() < TOLERANCE
    for mine, theirs in zip(got, expected, strict=True):
        assert (mine - theirs).abs().max().item() < TOLERANCE


def test_an_imported_googlenet_trains_its_auxiliary_heads(tmp_path: Path) -> None:
    out = tmp_path / "googlenet.json"
    assert main(["import", "torchvision:googlenet", "--input", "3x32x32", "-o", str(out)]) == 0
    design = load_design(out)
    design.training.update({"data_options": {"count": 40}, "epochs": 1, "batch_size": 8, "device": "cpu"})
    save_design(design, out)
    assert main(["train", str(out), "--out", str(tmp_path / "run")]) == 0
    (record,) = read_metrics(tmp_path / "run")
    assert record["epoch"] == 1 and math.isfinite(record["train_loss"])


def test_an_input_too_small_for_the_auxiliary_heads_imports_without_them(capsys: pytest.CaptureFixture[str],
                                                                        tmp_path: Path) -> None:
    """Inception v3 runs on 75x75 in evaluation mode, but its auxiliary head needs 299x299."""
    assert main(["import", "torchvision:inception_v3", "--input", "3x75x75", "-o", str(tmp_path / "v3.json")]) == 0
    assert "auxiliary classifiers do not fit an input of 3x75x75, so they were left out" in capsys.readouterr().out
    design = load_design(tmp_path / "v3.json")
    assert len(design.output_order) == 1 and not design.training


class SmallNet(nn.Module):
    """A user's own model: a custom block, a functional call, a layer scale and a reshape."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU())
        self.scale = nn.Parameter(torch.full((8, 1, 1), 0.5))
        self.shuffle = nn.PixelShuffle(2)  # a torch.nn module without a catalogue layer
        self.head = nn.Linear(2 * 16 * 16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.stem(x)
        y = y + self.scale * torch.tanh(y)
        y = self.shuffle(y)
        return self.head(y.reshape(y.size(0), -1))


def test_module_import_of_a_model_defined_here(tmp_path: Path) -> None:
    torch.manual_seed(1)
    reference = SmallNet()
    imported = import_model("module:test_importers:SmallNet", [(3, 8, 8)])
    types = {node.id: node.type for node in imported.design.nodes}
    assert types["stem.0"] == "Conv2d" and types["stem.1"] == "BatchNorm2d" and types["head"] == "Linear"
    assert types["shuffle"] == "Module"  # opaque, rebuilt from torch.nn.PixelShuffle(2)
    assert set(imported.opaque) >= {"shuffle"}
    torch.save(reference.state_dict(), tmp_path / "w.pt")
    imported = import_model("module:test_importers:SmallNet", [(3, 8, 8)], str(tmp_path / "w.pt"))
    save_import(imported, tmp_path / "small.json")
    _compare(tmp_path / "small.json", reference, (3, 8, 8))


def test_module_import_needs_an_input_shape() -> None:
    with pytest.raises(ValueError, match="--input"):
        import_model("module:test_importers:SmallNet")


def test_onnx_and_pt2_exported_by_cnnstudio_import_back_to_the_same_outputs(tmp_path: Path) -> None:
    pytest.importorskip("onnx2torch")
    template = ROOT / "resources" / "templates" / "lenet5.json"
    design = load_design(template)
    model = cnnstudio.build_model(design).eval()
    torch.save(model.state_dict(), tmp_path / "w.pt")
    x = torch.randn(3, *analyze(design).nodes[design.input_ids[0]].shape)
    with torch.no_grad():
        expected = model(x)
    for fmt, suffix in (("onnx", ".onnx"), ("export", ".pt2")):
        exported = tmp_path / f"lenet{suffix}"
        assert main(["export", str(template), "-f", fmt, "--weights", str(tmp_path / "w.pt"), "-o", str(exported)]) == 0
        out = tmp_path / f"back_{fmt}.json"
        assert main(["import", str(exported), "-o", str(out)]) == 0
        assert main(["check", str(out)]) == 0
        back_design = load_design(out)
        if fmt == "export":  # torch.export keeps the module names: every step is its layer again
            assert [n.type for n in back_design.nodes] == [n.type for n in design.nodes]
            assert [n.id for n in back_design.nodes][1:] == [n.id for n in design.nodes][1:]
        back = cnnstudio.build_model(back_design).eval()
        with torch.no_grad():
            assert (back(x) - expected).abs().max().item() < TOLERANCE, fmt


def test_unknown_names_and_sources_are_sentences(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["import", "torchvision:resnet181", "-o", str(tmp_path / "a.json")]) == 1
    assert "did you mean resnet18" in capsys.readouterr().err
    assert main(["import", "model.h5", "-o", str(tmp_path / "a.json")]) == 1
    assert "cannot tell what" in capsys.readouterr().err
    assert main(["import", "module:no_such_package.mod:Net", "--input", "3x8x8", "-o", str(tmp_path / "a.json")]) == 1
    assert "cannot import no_such_package.mod" in capsys.readouterr().err


def test_weights_that_match_no_layer_of_the_model_are_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.save({"something.else": torch.zeros(3)}, tmp_path / "w.pt")
    assert main(["import", "torchvision:squeezenet1_1", "--weights", str(tmp_path / "w.pt"),
                 "--input", "3x64x64", "-o", str(tmp_path / "a.json")]) == 1
    assert "nothing was loaded" in capsys.readouterr().err


def test_a_design_may_not_name_calls_outside_tensor_operations(tmp_path: Path) -> None:
    design = cnnstudio.Design("evil")
    design.add_node("Input", {"shape": [3]}, "x")
    design.add_node("Function", {"call": {"function": "os.system", "args": ["echo owned"]}}, "f")
    design.add_node("Module", {"class": "subprocess.Popen", "arguments": {"args": "true"}}, "m")
    design.connect("x", "f")
    design.connect("x", "m")
    errors = {issue.node: issue.message for issue in analyze(design).errors}
    assert "may not call 'os.system'" in errors["f"]
    assert "may not call 'subprocess.Popen'" in errors["m"]


def test_the_original_unet_template_is_valid_with_the_papers_size_and_parameters() -> None:
    design = load_design(ROOT / "resources" / "templates" / "unet_original.json")
    analysis = analyze(design)
    assert analysis.valid
    assert analysis.total_params == 31_030_658
    assert analysis.output_shapes() == [(2, 388, 388)]
    crops = [n for n in design.nodes if n.type == "Crop"]
    assert [analysis.nodes[n.id].shape for n in crops] == [(512, 56, 56), (256, 104, 104), (128, 200, 200), (64, 392, 392)]
    assert main(["check", str(ROOT / "resources" / "templates" / "unet_original.json")]) == 0


def test_weights_load_by_node_id_for_any_id_and_report(tmp_path: Path) -> None:
    """Ids with dots, spaces and unicode load from a file keyed by node id (issue 10's bug: ids
    like features.0 became module names features_0, so nothing matched and random weights stayed)."""
    design = cnnstudio.Design("ids")
    design.add_node("Input", {"shape": [3]}, "x")
    for node_id in ("features.0", "couche à droite", "9 lives"):
        design.add_node("Linear", {"out_features": 3}, node_id)
    design.connect("x", "features.0")
    design.connect("features.0", "couche à droite")
    design.connect("couche à droite", "9 lives")
    from cnnstudio.core.weights import save_tensors

    tensors = {"features.0.weight": torch.eye(3), "couche à droite.bias": torch.ones(3), "unknown.weight": torch.ones(1)}
    save_tensors(tensors, tmp_path / "w.safetensors")
    model = cnnstudio.build_model(design, weights=tmp_path / "w.safetensors")
    report = model.weights_report
    assert sorted(report.loaded) == ["couche à droite.bias", "features.0.weight"]
    assert report.unexpected == ["unknown.weight"] and "9 lives.weight" in report.missing
    assert torch.equal(model.get_submodule(model_name(model, "features.0")).weight, torch.eye(3))


def model_name(model: nn.Module, node_id: str) -> str:
    return next(name for name, nid in model.node_names.items() if nid == node_id)


def test_export_with_weights_that_match_nothing_exits_1_with_the_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    torch.save({"features.0.weight": torch.zeros(2, 2)}, tmp_path / "w.pt")
    template = ROOT / "resources" / "templates" / "figure21.json"
    assert main(["export", str(template), "-f", "safetensors", "--weights", str(tmp_path / "w.pt"), "-o", str(tmp_path / "o.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "nothing was loaded" in err and "features.0.weight" in err and "the design expects: conv1.weight" in err
    assert not (tmp_path / "o.safetensors").exists()


def test_import_makes_one_group_per_module_of_the_source(tmp_path: Path) -> None:
    imported = import_model("torchvision:resnet18", [(3, 32, 32)])
    save_import(imported, tmp_path / "r18.json")
    groups = load_design(tmp_path / "r18.json").groups
    assert {"layer1", "layer1.0", "layer2.0.downsample"} <= set(groups)
    assert groups["layer1.0"].parent == "layer1" and groups["layer1.0"].collapsed
    assert "layer1.0.conv1" in groups["layer1.0"].nodes and "layer1.0.add" in groups["layer1.0"].nodes
    assert groups["layer1"].nodes == [] and groups["layer1.0"].name == "layer1.0 (BasicBlock)" and groups["layer1"].name == "layer1"
    assert "conv1" not in {n for g in groups.values() for n in g.nodes}  # top-level modules stay ungrouped


@pytest.mark.parametrize(("name", "shape"), [("convnext_atto", (3, 64, 64)), ("vit_tiny_patch16_224", (3, 224, 224))])
def test_timm_models_import_exactly(name: str, shape: tuple[int, ...], tmp_path: Path) -> None:
    timm = pytest.importorskip("timm")
    torch.manual_seed(2)
    reference = timm.create_model(name)
    torch.save(reference.state_dict(), tmp_path / "w.pt")
    imported = import_model(f"timm:{name}", [shape], str(tmp_path / "w.pt"))
    assert analyze(imported.design).total_params == sum(p.numel() for p in reference.parameters())
    save_import(imported, tmp_path / f"{name}.json")
    _compare(tmp_path / f"{name}.json", reference, shape)


def test_code_export_writes_opaque_nodes_as_readable_calls(tmp_path: Path) -> None:
    import importlib.util

    torch.manual_seed(3)
    reference = SmallNet()
    torch.save(reference.state_dict(), tmp_path / "w.pt")
    save_import(import_model("module:test_importers:SmallNet", [(3, 8, 8)], str(tmp_path / "w.pt")), tmp_path / "small.json")
    assert main(["export", str(tmp_path / "small.json"), "-f", "code", "-o", str(tmp_path / "small.py")]) == 0
    source = (tmp_path / "small.py").read_text()
    assert "Call(lambda owned, parts, x0: operator.mul(owned.scale, x0)" in source
    assert "torch.nn.PixelShuffle(upscale_factor=2)" in source
    spec = importlib.util.spec_from_file_location("exported_small", tmp_path / "small.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    exported = module.Smallnet()
    exported.load_state_dict(torch.load(tmp_path / "small.pt", weights_only=True))  # the design's weights, beside
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        assert (exported.eval()(x) - reference.eval()(x)).abs().max().item() < TOLERANCE


def test_the_weights_path_is_kept_relative_to_the_design_file(tmp_path: Path) -> None:
    from cnnstudio.core.designfile import save_design

    imported = import_model("module:test_importers:SmallNet", [(3, 8, 8)])
    save_import(imported, tmp_path / "a" / "small.json")
    design = load_design(tmp_path / "a" / "small.json")
    assert design.weights == str((tmp_path / "a" / "small.safetensors").resolve())
    (tmp_path / "b").mkdir()
    save_design(design, tmp_path / "b" / "moved.json")
    assert json.loads((tmp_path / "b" / "moved.json").read_text())["weights"] == "../a/small.safetensors"
    assert cnnstudio.build_model(load_design(tmp_path / "b" / "moved.json")).weights_report.loaded


def test_a_torch_export_program_imports_as_layers_with_its_module_names(tmp_path: Path) -> None:
    torch.manual_seed(4)
    reference = torchvision.models.resnet18(num_classes=7).eval()
    for name, buffer in reference.named_buffers():
        if name.endswith("running_var"):
            buffer.uniform_(0.5, 1.5)
    x = torch.randn(2, 3, 32, 32)
    program = torch.export.export(reference, (x,), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
    torch.export.save(program, tmp_path / "r18.pt2")
    imported = import_model(str(tmp_path / "r18.pt2"))
    assert not imported.opaque
    assert {"layer1.0.conv1", "layer1.0.bn1", "layer1.0.relu", "fc"} <= {n.id for n in imported.design.nodes}
    assert imported.design.node("layer1.0.bn1").type == "BatchNorm2d" and "layer1.0" in imported.design.groups
    save_import(imported, tmp_path / "r18.json")
    _compare(tmp_path / "r18.json", reference, (3, 32, 32))


@pytest.mark.parametrize(("name", "weights"), [("googlenet", [0.3, 0.3]), ("quantized_googlenet", [0.3, 0.3]),
                                               ("inception_v3", [0.4]), ("quantized_inception_v3", [0.4]),
                                               ("resnet18", None), ("fcn_resnet50", None)])
def test_auxiliary_heads_are_found_by_their_class_not_the_model_name(name: str, weights: list[float] | None) -> None:
    from cnnstudio.importers.sources import load_source

    assert load_source(f"torchvision:{name}").aux_loss_weights == weights
