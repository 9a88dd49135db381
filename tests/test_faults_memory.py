"""Issue 13 item 6: a design (or generated dataset) larger than the machine's memory is refused by
train and export before anything is allocated, with the estimate and the limit; check warns."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnstudio.cli import main
from cnnstudio.core.analysis import analyze
from cnnstudio.core.designfile import loads
from cnnstudio.core.memory import available_ram, estimate

HUGE = {"format": "cnnstudio-design", "version": 1, "name": "huge",
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [1, 1_000_000]}},
                  {"id": "fc", "type": "Linear", "params": {"out_features": 1_000_000}}],
        "edges": [["x", "fc"]],
        "training": {"data": "synthetic-sequences", "task": "reconstruction", "device": "cpu", "batch_size": 8}}


@pytest.fixture
def huge(tmp_path: Path) -> Path:
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(HUGE))
    return path


def test_the_estimate_counts_weights_and_activations() -> None:
    design = loads(json.dumps(HUGE))
    needed = estimate(analyze(design), 8)
    assert needed.weights == 4 * (10**12 + 10**6)
    assert needed.activations_per_sample == 4 * 2 * 10**6
    assert needed.training == 4 * needed.weights + 2 * 8 * needed.activations_per_sample


def test_check_warns_with_the_estimate(huge: Path, capsys) -> None:
    assert available_ram() is not None
    assert main(["check", str(huge)]) == 0  # valid: a warning, not an error
    out = capsys.readouterr().out
    assert "memory: 4.0 TB of weights, 16.0 TB to train at batch size 8" in out
    assert "warning: training this design needs about 16.0 TB of memory, more than the" in out
    assert main(["check", str(huge), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["memory"]["training_bytes"] > report["memory"]["available_bytes"]


def test_train_refuses_before_allocating(huge: Path, tmp_path: Path, capsys) -> None:
    assert main(["train", str(huge), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "this run needs about 16.0 TB of memory" in err and "available" in err and "internal error" not in err


def test_train_refuses_generated_data_that_cannot_fit(tmp_path: Path, capsys) -> None:
    small = {**HUGE, "nodes": [{"id": "x", "type": "Input", "params": {"shape": [3, 4096, 4096]}},
                               {"id": "c", "type": "Conv2d", "params": {"out_channels": 3, "kernel_size": 1}}],
             "edges": [["x", "c"]],
             "training": {"data": "synthetic-shapes", "task": "reconstruction", "device": "cpu", "batch_size": 1,
                          "data_options": {"count": 1_000_000}}}
    path = tmp_path / "data.json"
    path.write_text(json.dumps(small))
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert "the generated data: 201.3 TB" in err and "'count'" in err


def test_export_refuses_before_building(huge: Path, tmp_path: Path, capsys) -> None:
    assert main(["export", str(huge), "-o", str(tmp_path / "m.py")]) == 1
    err = capsys.readouterr().err
    assert "exporting this design needs about 8.0 TB of memory" in err and "available" in err
    assert not (tmp_path / "m.py").exists()


def test_the_limit_is_the_chosen_devices_free_memory(monkeypatch: pytest.MonkeyPatch) -> None:
    """On CUDA the limit is the GPU's free memory, not the machine's (no GPU here: its answer is given)."""
    import torch

    from cnnstudio.training import fits
    from cnnstudio.training.errors import TrainingError

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device: (2 * 10**9, 80 * 10**9))
    model = estimate(analyze(loads(json.dumps(HUGE))), 8)
    with pytest.raises(TrainingError, match="the CUDA has 2.0 GB available"):
        fits.check(model, 0, torch.device("cuda"))
    small = estimate(analyze(loads(json.dumps({**HUGE, "nodes": [HUGE["nodes"][0]], "edges": []}))), 8)
    fits.check(small, 10**9, torch.device("cuda"))  # 1 GB of data and a 32 MB model fit in 2 GB
