"""Tied tensors stay tied (issue 21): a tensor two nodes use is one Parameter of the built design."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

import cnnstudio
from cnnstudio.core.analysis import analyze
from cnnstudio.core.designfile import DesignFileError, load_design, loads, save_design
from cnnstudio.importers import import_model, save_import
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401


class SharedLinear(nn.Module):
    """Two Linear layers with one weight (as a language model ties its embedding and its head)."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(8, 8)
        self.b = nn.Linear(8, 8)
        self.b.weight = self.a.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(torch.relu(self.a(x)))


class ReusedConv(nn.Module):
    """One convolution called twice, and a second convolution sharing its weight."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.other = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.other.weight = self.conv.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.other(self.conv(torch.tanh(self.conv(x))))


class GridFromItsWeight(nn.Module):
    """A positional grid made on its projection's device and in its dtype, then projected (XCiT's
    Fourier encoding): the one Function node holding that step keeps the projection's weight as a
    tensor of its own and inside the Conv2d it runs, one tensor of the model."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Conv2d(4, 6, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        device, dtype = self.proj.weight.device, self.proj.weight.dtype
        grid = torch.arange(4 * 3 * 3, device=device).reshape(1, 4, 3, 3).to(dtype)
        return x + self.proj(grid / 36).repeat(x.shape[0], 1, 1, 1)


class SelfAttention(nn.Module):
    """nn.MultiheadAttention on (x, x, x): torch.export's program uses its in_proj weight in three nodes."""

    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.attn(x, x, x, need_weights=False)[0]


def _source(factory, shape: tuple[int, ...], kind: str, folder: Path) -> str:  # noqa: ANN001
    """The model as a ``module:`` source, or saved as a torch.export program (dynamic batch)."""
    if kind == "module":
        return f"module:test_importers_tied:{factory.__name__}"
    torch.manual_seed(0)
    program = torch.export.export(factory().eval(), (torch.randn(2, *shape),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, folder / f"{factory.__name__}.pt2")
    return str(folder / f"{factory.__name__}.pt2")


@pytest.mark.parametrize(("factory", "shape", "kind"), [  # through torch.fx, attention is one layer: nothing tied
    (SharedLinear, (8,), "module"), (ReusedConv, (4, 6, 6), "module"),
    (SharedLinear, (8,), "pt2"), (ReusedConv, (4, 6, 6), "pt2"), (SelfAttention, (5, 8), "pt2"),
    (GridFromItsWeight, (6, 3, 3), "module")])
def test_a_shared_tensor_is_one_parameter_that_stays_one_in_training(factory, shape, kind: str,  # noqa: ANN001
                                                                    tmp_path: Path) -> None:
    torch.manual_seed(0)
    reference = factory().eval()
    torch.save(reference.state_dict(), tmp_path / "w.pt")
    source = _source(factory, shape, kind, tmp_path)
    imported = import_model(source, [shape], str(tmp_path / "w.pt") if kind == "module" else None)
    assert imported.verification.exact and imported.design.tied
    assert imported.verification.parameters == sum(p.numel() for p in reference.parameters())
    assert analyze(imported.design).total_params == sum(p.numel() for p in reference.parameters())
    save_import(imported, tmp_path / "tied.json")
    data = json.loads((tmp_path / "tied.json").read_text())
    assert data["version"] == 3 and data["tied"]
    model = cnnstudio.build_model(load_design(tmp_path / "tied.json"))
    assert sum(p.numel() for p in model.parameters()) == sum(p.numel() for p in reference.parameters())
    x = torch.randn(2, *shape)
    with torch.no_grad():
        assert torch.allclose(model.eval()(x), reference(x), atol=1e-6)
    model.train()
    torch.optim.SGD(model.parameters(), lr=0.5).zero_grad()
    model(x).square().mean().backward()
    torch.optim.SGD(model.parameters(), lr=0.5).step()
    state = dict(model.named_parameters(remove_duplicate=False))
    for (node, tensor), (owner, owner_tensor) in load_design(tmp_path / "tied.json").tied.items():
        names = {v: k for k, v in model.node_names.items()}
        assert state[f"{names[node]}.{tensor}"] is state[f"{names[owner]}.{owner_tensor}"]


def test_a_function_node_that_runs_a_module_and_reads_its_weight_ties_them_within_the_node(tmp_path: Path) -> None:
    """XCiT's case (issue 21: 8,192 parameters too many): one node, its own tensor and its module's weight."""
    import importlib.util

    from cnnstudio.cli import main

    imported = import_model("module:test_importers_tied:GridFromItsWeight", [(6, 3, 3)])
    ((node, tensor), (owner, owner_tensor)), = imported.design.tied.items()
    assert node == owner and imported.design.node(node).type == "Function"
    assert {tensor, owner_tensor} == {"owned.weight", "parts.proj.weight"}
    save_import(imported, tmp_path / "tied.json")
    assert main(["export", str(tmp_path / "tied.json"), "--format", "code", "-o", str(tmp_path / "model.py")]) == 0
    spec = importlib.util.spec_from_file_location("exported_grid", tmp_path / "model.py")
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    model = next(cls for cls in vars(exported).values() if isinstance(cls, type) and issubclass(cls, nn.Module)
                 and (cls.__doc__ or "").startswith("GridFromItsWeight:"))()  # the design's class, not a helper's
    assert model.repeat.parts.proj.weight is model.repeat.owned.weight
    assert sum(p.numel() for p in model.parameters()) == 6 * 4 + 6


def test_a_small_vision_transformer_from_torch_export_keeps_its_attention_weights_tied(tmp_path: Path) -> None:
    """torchvision's ViT as a .pt2 (issue 21 measured vit_b_16: +42.5 M parameters when untied)."""
    from torchvision.models.vision_transformer import VisionTransformer

    torch.manual_seed(0)
    reference = VisionTransformer(image_size=32, patch_size=16, num_layers=2, num_heads=2, hidden_dim=16, mlp_dim=32,
                                  num_classes=5).eval()
    program = torch.export.export(reference, (torch.randn(2, 3, 32, 32),),
                                  dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, tmp_path / "vit.pt2")
    imported = import_model(str(tmp_path / "vit.pt2"))
    assert imported.verification.exact
    assert {tensor for _, tensor in imported.design.tied} == {"owned.in_proj_weight", "owned.in_proj_bias"}
    count = sum(p.numel() for p in reference.parameters())
    assert imported.verification.parameters == count
    analysis = analyze(imported.design)
    assert analysis.total_params == count  # what check and the studio show
    for (node_id, tensor), (owner, _) in imported.design.tied.items():
        shared = next(s for s in analysis.nodes[node_id].shared if s.tensor == tensor)
        assert shared.owner == owner and shared.params == (16 * 3 * 16 if tensor.endswith("weight") else 16 * 3)


def _shared_linear(folder: Path) -> Path:
    save_import(import_model("module:test_importers_tied:SharedLinear", [(8,)]), folder / "tied.json")
    return folder / "tied.json"


def test_check_counts_a_shared_tensor_once_and_says_which_node_shares_it(tmp_path: Path, capsys) -> None:  # noqa: ANN001
    from cnnstudio.cli import main

    path = _shared_linear(tmp_path)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "80 parameters" in out and "72 shared" in out  # 8x8 + 8 + 8: b's weight is a's
    assert "b shares weight with a: its 64 parameters are counted once, at a" in out
    assert main(["check", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total_params"] == 80 and report["nodes"]["b"]["params"] == 72
    assert report["nodes"]["b"]["shares"] == [{"tensor": "weight", "with": ["a", "weight"], "params": 64}]
    assert report["nodes"]["a"]["shares"] == []


def test_a_group_holding_both_nodes_counts_the_shared_tensor_once(tmp_path: Path) -> None:
    from cnnstudio.core.groups import summarize

    design = load_design(_shared_linear(tmp_path))
    analysis = analyze(design)
    assert summarize(design, analysis, "g", ["a", "relu", "b"]).params == 80
    assert summarize(design, analysis, "g", ["relu", "b"]).params == 72  # its owner is outside: b holds it here


def test_the_studio_counts_a_shared_tensor_once_and_each_place_says_so(window, tmp_path: Path) -> None:  # noqa: ANN001, F811
    from PySide6.QtWidgets import QLabel

    window.open_path(_shared_linear(tmp_path), ask=False)
    assert "Total params:</b> 80" in window.summary.totals.text() and "Trainable:</b> 80" in window.summary.totals.text()
    table = window.summary.table
    rows = {table.topLevelItem(i).text(0): table.topLevelItem(i) for i in range(table.topLevelItemCount())}
    assert "shares weight with a" in rows["b"].text(5) and "shares" not in rows["a"].text(5)
    assert window.scene.nodes["b"].card.params == "72 parameters, shared"
    assert "Shares weight with a" in window.scene.nodes["b"].card.tooltip
    window.select_node("b")
    assert window.inspector.live.findChild(QLabel, "parameters").text() == "72; shares weight with a"
    window.select_node("a")
    assert window.inspector.live.findChild(QLabel, "parameters").text() == "72"


def test_untied_designs_are_written_as_version_2(tmp_path: Path) -> None:
    imported = import_model("module:test_importers_tied:ReusedConv", [(4, 6, 6)])
    imported.design.tied = {}
    save_import(imported, tmp_path / "untied.json")
    assert json.loads((tmp_path / "untied.json").read_text())["version"] == 2


def test_renaming_or_removing_a_node_keeps_the_design_buildable(tmp_path: Path) -> None:
    design = import_model("module:test_importers_tied:SharedLinear", [(8,)]).design
    design.rename("a", "first")
    assert design.tied == {("b", "weight"): ("first", "weight")}
    built = cnnstudio.build_model(design)
    assert built.first.weight is built.b.weight
    design.remove_node("first")
    assert design.tied == {}  # the tie went with the node: the file saved now opens again
    design.connect(design.input_ids[0], "relu")
    assert sum(p.numel() for p in cnnstudio.build_model(design).parameters()) == 8 * 8 + 8  # b alone, untied
    save_design(design, tmp_path / "untied.json")
    assert load_design(tmp_path / "untied.json").tied == {}


def test_undoing_a_removal_in_the_studio_puts_the_tie_back(qtbot) -> None:  # noqa: ANN001
    from cnnstudio.gui.document import Document

    doc = Document(import_model("module:test_importers_tied:SharedLinear", [(8,)]).design)
    removed = doc.remove_node("a")
    assert doc.design.tied == {}
    doc.restore(removed)
    assert doc.design.tied == {("b", "weight"): ("a", "weight")}


TEMPLATE = {"format": "cnnstudio-design", "version": 3, "name": "t",
            "nodes": [{"id": "x", "type": "Input", "params": {"shape": [8]}},
                      {"id": "a", "type": "Linear", "params": {"out_features": 8}},
                      {"id": "b", "type": "Linear", "params": {"out_features": 4}}],
            "edges": [["x", "a"], ["a", "b"]]}


@pytest.mark.parametrize("tied", [{}, [1], [{"tensor": ["a", "weight"]}], [{"tensor": ["a"], "is": ["b", "weight"]}],
                                  [{"tensor": ["nope", "weight"], "is": ["b", "weight"]}],
                                  [{"tensor": ["a", ""], "is": ["b", "weight"]}]])
def test_a_malformed_tie_is_a_sentence(tied) -> None:  # noqa: ANN001
    with pytest.raises(DesignFileError, match='"tied"'):
        loads(json.dumps({**TEMPLATE, "tied": tied}))


def test_a_tie_between_tensors_of_different_shapes_is_a_compile_error() -> None:
    design = loads(json.dumps({**TEMPLATE, "tied": [{"tensor": ["b", "weight"], "is": ["a", "weight"]}]}))
    with pytest.raises(ValueError, match="shapes now differ"):
        cnnstudio.build_model(design)


def test_a_tied_design_exports_as_safetensors_and_as_code_with_one_tensor(tmp_path: Path) -> None:
    """The weights file holds the tensor under both names; the exported model.py ties them again."""
    import importlib.util

    from cnnstudio.cli import main

    save_import(import_model("module:test_importers_tied:SharedLinear", [(8,)]), tmp_path / "tied.json")
    assert main(["export", str(tmp_path / "tied.json"), "--format", "safetensors", "-o", str(tmp_path / "w.safetensors")]) == 0
    from safetensors.torch import load_file

    weights = load_file(tmp_path / "w.safetensors")
    assert torch.equal(weights["a.weight"], weights["b.weight"])
    assert main(["export", str(tmp_path / "tied.json"), "--format", "code", "-o", str(tmp_path / "model.py")]) == 0
    spec = importlib.util.spec_from_file_location("exported_tied", tmp_path / "model.py")
    exported = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(exported)
    model = next(cls for name, cls in vars(exported).items() if isinstance(cls, type) and issubclass(cls, nn.Module)
                 and cls.__module__ == "exported_tied")()
    assert model.b.weight is model.a.weight
    assert sum(p.numel() for p in model.parameters()) == 8 * 8 + 8 + 8
