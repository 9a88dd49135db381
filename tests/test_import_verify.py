"""Every import verifies itself (issue 21): the verifier catches a wrong rebuild and names the node,
opaque modules that rebuild wrong are traced into, and a design that differs is never written
without saying so."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnstudio.cli import main
from cnnstudio.core.analysis import analyze
from cnnstudio.core.designfile import load_design
from cnnstudio.importers import import_model
from cnnstudio.importers.graph import convert
from cnnstudio.importers.verify import perturbed, verify


class Small(nn.Module):
    """Weights everywhere, a batch norm with untouched statistics, a residual, a flatten."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 6, 3, padding=1)
        self.bn = nn.BatchNorm2d(6)
        self.conv2 = nn.Conv2d(6, 6, 3, padding=1, bias=False)
        self.slope = nn.LeakyReLU(0.2)
        self.head = nn.Linear(6 * 8 * 8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = torch.relu(self.bn(self.conv(x)))
        y = y + self.slope(self.conv2(y))
        return self.head(y.flatten(1))


def _converted(model: nn.Module, shape=(3, 8, 8)):
    torch.manual_seed(0)
    with torch.no_grad():
        return convert(model, [shape], "small")


def _verify(converted, model=None):
    with torch.no_grad():
        return verify(converted.design, converted.weights, converted.graph_module, converted.fx_nodes,
                      [tuple(converted.design.node(converted.design.input_ids[0]).params["shape"])], model)


def test_a_faithful_import_is_exact() -> None:
    model = Small().eval()
    result = _verify(_converted(model), model)
    assert result.exact and not result.differing and result.sentence().startswith("verified")


@pytest.mark.parametrize("key", ["conv.weight", "conv.bias", "bn.weight", "bn.bias", "bn.running_mean",
                                 "bn.running_var", "conv2.weight", "head.weight", "head.bias"])
def test_any_wrong_weight_is_caught_and_its_node_named_first(key: str) -> None:
    model = Small().eval()
    converted = _converted(model)
    tensor = converted.weights[key]
    # A copy with the model's own (often default: ones, zeros) values: only realistic statistics and
    # gammas tell it apart, because the model's values are perturbed for the check and the copy's are not.
    converted.weights[key] = tensor.clone() + (0 if key.startswith("bn.") else 1e-2)
    result = _verify(converted, model)
    assert not result.exact
    assert result.differing[0].node == key.rpartition(".")[0]
    assert key.rpartition(".")[0] in result.sentence()


def test_a_wrong_parameter_of_a_layer_is_caught() -> None:
    model = Small().eval()
    converted = _converted(model)
    node = converted.design.node("slope")
    node.params = {**node.params, "negative_slope": 0.1}
    result = _verify(converted, model)
    assert not result.exact and result.differing[0].node == "slope"


def test_the_model_is_left_as_it_was() -> None:
    model = Small().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with perturbed(model):
        assert not torch.equal(model.bn.running_var, before["bn.running_var"])
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


class Counting(nn.Module):
    """A forward that counts its calls: torch.fx writes the count of the trace into the design."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.conv(x) * self.calls


def test_a_model_the_design_cannot_match_is_refused_or_written_marked(tmp_path: Path,
                                                                      capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "counting.json"
    assert main(["import", "module:test_import_verify:Counting", "--input", "3x8x8", "-o", str(out)]) == 1
    error = capsys.readouterr().err
    assert "not imported" in error and "trace of the model computes something else" in error
    assert "--allow-unverified" in error and not out.exists()
    assert main(["import", "module:test_import_verify:Counting", "--input", "3x8x8", "-o", str(out),
                 "--allow-unverified"]) == 0
    assert "not exact" in capsys.readouterr().out
    (marked,) = [n for n in json.loads(out.read_text())["nodes"] if "unverified" in n]
    assert marked["id"] == load_design(out).output_ids[0]
    warnings = [str(w) for w in analyze(load_design(out)).warnings]
    assert any(w.startswith(f"{marked['id']}: unverified import") for w in warnings)
    assert analyze(load_design(out)).valid  # the mark is a warning on the node, not an error


class Noisy(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + torch.randn_like(x)


def test_a_design_its_own_check_refuses_is_never_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "noisy.json"
    assert main(["import", "module:test_import_verify:Noisy", "--input", "3x8x8", "-o", str(out),
                 "--allow-unverified"]) == 1
    # the importer checks the calls it writes against the list the checker uses (core/calls.py)
    assert "a design may not call 'torch.randn_like'" in capsys.readouterr().err and not out.exists()


def act_block() -> nn.Module:
    timm = pytest.importorskip("timm")
    from timm.layers.norm_act import BatchNormAct2d

    block = nn.Sequential(nn.Conv2d(3, 8, 3), BatchNormAct2d(8, act_layer=timm.layers.get_act_layer("silu")))
    return block.eval()


def test_an_opaque_module_that_rebuilds_wrong_is_traced_into() -> None:
    """timm's BatchNormAct2d keeps its activation as a child, not as its act_layer argument: rebuilt,
    it would be a ReLU. It becomes a batch norm and its real activation instead."""
    imported = import_model("module:test_import_verify:act_block", [(3, 8, 8)])
    assert imported.verification.exact
    assert imported.traced_into == ["1"]
    types = [n.type for n in imported.design.nodes]
    assert "BatchNorm2d" in types and "SiLU" in types and "Module" not in types



class Loud(nn.Module):
    """One channel a hundred thousand times louder than the rest (as random weights make RepVGG's)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.tensor([1e5] + [1.0] * 7).view(1, 8, 1, 1)


def loud_block() -> nn.Module:
    pytest.importorskip("timm")
    from timm.layers.norm_act import BatchNormAct2d

    # apply_act=False is not kept: rebuilt from its arguments it would end in a ReLU
    norm = BatchNormAct2d(8, apply_act=False)
    nn.init.constant_(norm.bias, -0.2)  # so its outputs are negative too, where a ReLU would change them
    return nn.Sequential(nn.Conv2d(3, 8, 3), Loud(), nn.ReLU(), norm).eval()


def test_a_rebuild_wrong_only_in_the_small_values_is_caught_and_traced_into() -> None:
    """timm's RepVGG: the ReLU a rebuilt BatchNormAct2d adds changes values near 0.3 in a tensor
    whose largest are thousands: within a tolerance of the largest, each value outside its own."""
    model = loud_block()
    imported = import_model(model, [(3, 8, 8)])
    assert imported.verification.exact and imported.traced_into == ["3"]
    from cnnstudio.importers.verify import build_rebuilt

    rebuilt, _ = build_rebuilt(imported.design, imported.weights)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        want, got = model(x), rebuilt(x)
    assert (want < 0).any() and torch.allclose(got, want, rtol=1e-5, atol=1e-4)


def quiet_relu6_block() -> nn.Module:
    pytest.importorskip("timm")
    from timm.layers.norm_act import BatchNormAct2d

    conv = nn.Conv2d(3, 8, 3)
    nn.init.normal_(conv.weight, std=0.01)  # values far below 6 everywhere in the model
    return nn.Sequential(conv, BatchNormAct2d(8, act_layer=nn.ReLU6)).eval()


def test_a_rebuild_wrong_only_for_values_the_model_never_reaches_is_caught() -> None:
    """timm's MobileNetV1: a rebuilt BatchNormAct2d has ReLU where the model has ReLU6, which
    differs only above 6: each opaque module is also checked on its inputs made a hundred times louder."""
    model = quiet_relu6_block()
    imported = import_model(model, [(3, 8, 8)])
    assert imported.verification.exact and imported.traced_into == ["1"]
    from cnnstudio.importers.verify import build_rebuilt

    rebuilt, _ = build_rebuilt(imported.design, imported.weights)
    x = torch.randn(2, 3, 8, 8) * 1e4
    with torch.no_grad():
        want = model(x)
        assert want.max() == 6.0 and torch.allclose(rebuilt(x), want)
