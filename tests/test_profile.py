"""``cnnstudio profile`` and ``training/profile.py``: each layer once, activation memory exact
(batch x output elements x 4 bytes), times measured and non-negative, the CLI's JSON is the
profile's, and every refusal is a sentence with its exit code."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cnnstudio.cli import main
from cnnstudio.core.analysis import analyze
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.training.profile import MEASURES, ProfileError, profile_design


@pytest.mark.parametrize("template", ["figure21", "inception", "siamese", "pattern1d_causal"])
@pytest.mark.parametrize("batch", [1, 3])
def test_each_layer_once_with_its_exact_output_memory(template: str, batch: int) -> None:
    design = load_design(TEMPLATES / f"{template}.json")
    analysis = analyze(design)
    profile = profile_design(design, batch_size=batch, repeats=1)
    nodes = [layer.node for layer in profile.layers]
    inputs = set(analysis.inputs)
    assert sorted(nodes) == sorted(n.id for n in design.nodes if n.id not in inputs)
    for layer in profile.layers:
        assert layer.activation_bytes == batch * math.prod(analysis.nodes[layer.node].shape) * 4
        assert layer.forward_ms >= 0 and layer.backward_ms >= 0
        assert profile.value(layer.node, "time_ms") == pytest.approx(layer.forward_ms + layer.backward_ms)
    assert sum(layer.forward_ms for layer in profile.layers) > 0 and set(MEASURES) <= set(profile.to_json()["layers"][0])


def test_the_cli_prints_the_profile(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "figure21.json"
    save_design(load_design(TEMPLATES / "figure21.json"), path)
    assert main(["profile", str(path), "--batch-size", "2", "--repeats", "1", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = profile_design(load_design(path), batch_size=2, repeats=1).to_json()
    assert printed["batch_size"] == 2 and printed["device"] == "cpu"
    assert [(r["node"], r["activation_bytes"]) for r in printed["layers"]] == [
        (r["node"], r["activation_bytes"]) for r in expected["layers"]]
    assert main(["profile", str(path), "--batch-size", "2", "--repeats", "1"]) == 0
    table = capsys.readouterr().out
    assert "conv1" in table and table.splitlines()[-1].startswith("total")


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--batch-size", "0"], 1, "at least 1"),
    (["--device", "cuda:7"], 1, "cuda"),
    (["--device", "tpu"], 1, "unknown device"),
])
def test_refusals_are_sentences(tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], code: int,
                                words: str) -> None:
    path = tmp_path / "figure21.json"
    save_design(load_design(TEMPLATES / "figure21.json"), path)
    assert main(["profile", str(path), *args]) == code
    error = capsys.readouterr().err
    assert words in error and "Traceback" not in error


def test_an_unreadable_or_invalid_design(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["profile", str(tmp_path / "missing.json")]) == 2
    design = Design()
    design.add_node("ReLU", node_id="alone")
    path = tmp_path / "bad.json"
    save_design(design, path)
    assert main(["profile", str(path)]) == 1
    assert "does not compile" in capsys.readouterr().err
    with pytest.raises(ProfileError):
        profile_design(design)
