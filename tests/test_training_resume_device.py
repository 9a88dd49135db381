"""A run continues on another device (issue 20): a checkpoint records its device ("cuda:0"), opens
on a machine without a GPU, and the resumed run keeps its weights, optimizer state and place and
says once "resumed on cpu (was cuda:0)".

There is no GPU here, so the checkpoints of a GPU run are made as a GPU run writes them: the
recorded device, a GPU's random state, a float16 loss scale, and every tensor's storage tagged
"cuda:0" in the file (torch.load without map_location refuses such a file on this machine, as it
would a real one). tests/test_cuda.py trains on a real GPU and resumes on the CPU where there is one.
"""

from __future__ import annotations

import contextlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from cnnstudio.cli import main
from cnnstudio.core.compiler import build_model
from cnnstudio.core.designfile import save_design
from cnnstudio.core.weights import load_weights_file
from cnnstudio.export import export_design
from cnnstudio.runs.older import checkpoint_header
from cnnstudio.training import checkpoint
from cnnstudio.training.distributed import moved
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
from training_helpers import classifier

_TAGGING = {"on": False}


def _tag(storage: object) -> str | None:
    """Storages saved while tagging say they live on the first GPU, as a CUDA run's do."""
    device = getattr(storage, "device", None)
    return "cuda:0" if _TAGGING["on"] and device is not None and device.type == "cpu" else None


torch.serialization.register_package(0, _tag, lambda storage, location: None)


@contextlib.contextmanager
def saved_on_gpu() -> Iterator[None]:
    _TAGGING["on"] = True
    try:
        yield
    finally:
        _TAGGING["on"] = False


def as_gpu_run_wrote_it(path: Path, **changes: object) -> dict:
    """Rewrite the checkpoint at ``path`` as a run on cuda:0 with float16 would have written it."""
    state = checkpoint.load(path)
    for key in ("format", "version", checkpoint.CHECKSUM):
        state.pop(key)
    state["device"] = "cuda:0"
    state["rng"]["cuda"] = [torch.zeros(16, dtype=torch.uint8)]  # one GPU's generator state
    state["scaler"] = {"scale": 32768.0, "growth_factor": 2.0, "backoff_factor": 0.5, "growth_interval": 2000,
                       "_growth_tracker": 7}
    state.update(changes)
    with saved_on_gpu():
        checkpoint.save(state, path)
    with pytest.raises(RuntimeError, match="CUDA"):  # as a real GPU checkpoint on this machine
        torch.load(path, weights_only=True)
    return state


def design_file(tmp_path: Path):
    design = classifier(6, size=8)
    design.training = {"data_options": {"count": 200}, "batch_size": 16, "epochs": 2, "seed": 3}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    return design, path


def metrics(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]


def test_a_gpu_checkpoint_resumes_on_the_cpu_and_says_so_once(tmp_path: Path, capsys) -> None:
    design, path = design_file(tmp_path)
    assert main(["train", str(path), "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "run")]) == 0
    assert checkpoint.load(tmp_path / "run" / "last.pt")["device"] == "cpu"
    as_gpu_run_wrote_it(tmp_path / "run" / "last.pt")
    capsys.readouterr()
    assert main(["train", str(path), "--resume", str(tmp_path / "run" / "last.pt"), "--epochs", "2"]) == 0
    err = capsys.readouterr().err
    assert err.count("resumed on cpu (was cuda:0): same settings, the numbers differ slightly") == 1
    assert checkpoint.load(tmp_path / "run" / "last.pt")["device"] == "cpu"  # where it ran last
    straight = Trainer(design, parse_settings(design.training, {"device": "cpu"}), out_dir=tmp_path / "whole",
                       step_rate=None)
    assert straight.run().status == "completed"
    # the same numbers as an uninterrupted run: nothing of the place, weights or optimizer was lost
    assert [r["train_loss"] for r in metrics(tmp_path / "run")] == pytest.approx(
        [r["train_loss"] for r in metrics(tmp_path / "whole")], abs=1e-6)


def test_the_optimizer_state_is_on_the_new_device_with_its_values(tmp_path: Path) -> None:
    design, _ = design_file(tmp_path)
    first = Trainer(design, parse_settings(design.training, {"device": "cpu", "epochs": 1}), out_dir=tmp_path / "run",
                    step_rate=None)
    assert first.run().status == "completed"
    saved = as_gpu_run_wrote_it(tmp_path / "run" / "last.pt")
    resumed = Trainer.from_checkpoint(tmp_path / "run" / "last.pt", {"epochs": 2}, step_rate=None)
    resumed.prepare()
    state = resumed.optimizer.state_dict()["state"]
    assert state and len(state) == len(saved["optimizer"]["state"])
    params = dict(enumerate(p for group in resumed.optimizer.param_groups for p in group["params"]))
    for index, values in state.items():
        for name, tensor in values.items():
            if name != "step":  # Adam keeps its step count on the CPU wherever it trains
                assert tensor.device == params[index].device
            assert torch.equal(tensor.cpu(), saved["optimizer"]["state"][index][name])
    assert not resumed.scaler.is_enabled()  # float16's loss scale has nothing to scale on the CPU
    for name, tensor in resumed.model.state_dict().items():
        assert torch.equal(tensor, saved["model"][name])


def test_a_run_that_asked_for_cuda_says_how_to_continue_here(tmp_path: Path, capsys) -> None:
    design, path = design_file(tmp_path)
    assert main(["train", str(path), "--epochs", "1", "--device", "cpu", "--out", str(tmp_path / "run")]) == 0
    saved = checkpoint.load(tmp_path / "run" / "last.pt")
    as_gpu_run_wrote_it(tmp_path / "run" / "last.pt", settings={**saved["settings"], "device": "cuda"})
    capsys.readouterr()
    assert main(["train", str(path), "--resume", str(tmp_path / "run" / "last.pt"), "--epochs", "2"]) == 1
    assert "'cuda' was asked for, but this PyTorch sees no CUDA GPU; use --device cpu" in capsys.readouterr().err
    assert main(["train", str(path), "--resume", str(tmp_path / "run" / "last.pt"), "--epochs", "2",
                 "--device", "cpu"]) == 0
    assert "resumed on cpu (was cuda:0)" in capsys.readouterr().err


def test_gpu_checkpoints_and_weights_open_everywhere_on_a_cpu_machine(tmp_path: Path) -> None:
    """The views' and export's weights, the run list's header, and an exported script's weights."""
    design, _ = design_file(tmp_path)
    assert Trainer(design, parse_settings(design.training, {"device": "cpu", "epochs": 1}), out_dir=tmp_path / "run",
                   step_rate=None).run().status == "completed"
    last = tmp_path / "run" / "last.pt"
    as_gpu_run_wrote_it(last)
    report = load_weights_file(build_model(design), last)  # Load Weights, export, visualize, stylize
    assert not report.missing
    header = checkpoint_header(last)
    assert header is not None and header["device"] == "cuda:0" and header["epoch"] == 1
    target = tmp_path / "code" / "tiny.py"
    target.parent.mkdir()
    export_design(design, "code", target, last)
    weights = target.with_suffix(".pt")
    with saved_on_gpu():
        torch.save(torch.load(weights, weights_only=True), weights)
    result = subprocess.run([sys.executable, "-I", str(target), "--smoke"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("loaded")


def test_the_sentence_names_the_devices_and_ignores_which_gpu() -> None:
    assert moved((1, "cuda:0"), (1, "cpu")) == "resumed on cpu (was cuda:0): same settings, the numbers differ slightly"
    assert moved((1, "cpu"), (1, "cuda:0")) == "resumed on cuda:0 (was cpu): same settings, the numbers differ slightly"
    assert moved((2, "cuda:0"), (1, "cpu")) == ("resumed on 1 process on cpu (was 2 on cuda:0): same settings, "
                                                "the order of samples differs")
    assert moved((1, "cuda:0"), (1, "cuda:1")) is None and moved((2, "cuda"), (2, "cuda:0")) is None


def test_a_device_is_recorded_with_its_gpu_number() -> None:
    from cnnstudio.training.device import recorded

    assert recorded(torch.device("cpu")) == "cpu" and recorded(torch.device("cuda", 1)) == "cuda:1"


class Small(torch.nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).relu()


def test_a_program_exported_on_a_gpu_is_a_sentence_on_a_cpu_machine(tmp_path: Path, capsys) -> None:
    """torch.export cannot load it without a GPU: the import says why, not that it holds Python objects."""
    model = Small()
    path = tmp_path / "small.pt2"
    program = torch.export.export(model, (torch.randn(2, 1, 8, 8),), dynamic_shapes=({0: torch.export.Dim.DYNAMIC},))
    torch.export.save(program, path)
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    name = next(n for n in parts if "/sample_inputs/" in n)
    buffer = io.BytesIO()
    with saved_on_gpu():
        torch.save(torch.load(io.BytesIO(parts[name]), weights_only=True), buffer)
    parts[name] = buffer.getvalue()
    gpu = tmp_path / "gpu.pt2"
    with zipfile.ZipFile(gpu, "w", zipfile.ZIP_STORED) as archive:
        for part, data in parts.items():
            archive.writestr(part, data)
    assert main(["import", str(path), "--out", str(tmp_path / "cpu.json")]) == 0
    capsys.readouterr()
    assert main(["import", str(gpu), "--out", str(tmp_path / "gpu.json")]) == 1
    err = capsys.readouterr().err
    assert "was exported from a model on a GPU (cuda:0)" in err and "export it again after model.cpu()" in err
