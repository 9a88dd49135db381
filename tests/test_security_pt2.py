"""A .pt2 archive is data: importing one never unpickles, loads native code or evaluates text (issue 19).

Each hostile archive is a real torch.export archive with one part changed so that loading it
would write a marker file; the test first shows that ``torch.export.load`` itself runs the
payload, then that ``cnnstudio import`` refuses the archive with one sentence and runs nothing.
Damaged archives (empty, garbage, truncated) are one sentence too, with none of torch's logs.
"""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnstudio.cli import main

pytestmark = pytest.mark.security


class Payload:
    """Unpickling this writes ``path``."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (os.system, (f"touch {self.path}",))


class Small(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.register_buffer("shift", torch.ones(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).relu() + self.shift.view(1, 2, 1, 1) + torch.tensor(0.5)


def _archive(tmp_path: Path, dynamic: bool = False) -> Path:
    x = torch.randn(2, 1, 8, 8)
    shapes = ({0: torch.export.Dim.DYNAMIC},) if dynamic else None
    path = tmp_path / "small.pt2"
    torch.export.save(torch.export.export(Small(), (x,), dynamic_shapes=shapes), path)
    return path


def _rewrite(path: Path, change: Callable[[dict[str, bytes]], None]) -> Path:
    with zipfile.ZipFile(path) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    change(parts)
    out = path.with_name("hostile.pt2")
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    return out


def _part(parts: dict[str, bytes], suffix: str) -> str:
    return next(name for name in parts if name.endswith(suffix))


def _pickled(config_suffix: str, marker: Path) -> Callable[[dict[str, bytes]], None]:
    def change(parts: dict[str, bytes]) -> None:
        name = _part(parts, config_suffix)
        config = json.loads(parts[name])
        key = next(iter(config["config"]))
        config["config"][key]["use_pickle"] = True
        parts[name] = json.dumps(config).encode()
        folder = name.rpartition("/")[0]
        parts[f"{folder}/{config['config'][key]['path_name']}"] = pickle.dumps(Payload(marker))

    return change


def _sample_inputs(marker: Path) -> Callable[[dict[str, bytes]], None]:
    def change(parts: dict[str, bytes]) -> None:
        parts[_part(parts, "data/sample_inputs/model.pt")] = pickle.dumps(Payload(marker))

    return change


def _shape_expression(marker: Path) -> Callable[[dict[str, bytes]], None]:
    def change(parts: dict[str, bytes]) -> None:
        name = _part(parts, "models/model.json")
        text = parts[name].decode()
        code = f"__import__('os').system('touch {marker}')"
        start = text.index('"expr_str": "') + len('"expr_str": "')
        parts[name] = (text[:start] + code + text[text.index('"', start):]).encode()

    return change


def _value_name(marker: Path) -> Callable[[dict[str, bytes]], None]:
    """The input's name becomes a default argument of the forward torch generates, run when defined."""
    def change(parts: dict[str, bytes]) -> None:
        name = _part(parts, "models/model.json")
        payload = json.dumps(f"x=__import__('os').system('touch {marker}')")
        parts[name] = parts[name].decode().replace('"x"', payload).encode()

    return change


HOSTILE = {
    "a weight stored as a pickle": (False, lambda m: _pickled("model_weights_config.json", m)),
    "a constant stored as a pickle": (False, lambda m: _pickled("model_constants_config.json", m)),
    "sample inputs that are a pickle": (False, _sample_inputs),
    "a shape expression that is Python": (True, _shape_expression),
    "a value name that is Python": (False, _value_name),
}


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_a_hostile_archive_runs_nothing_and_is_one_sentence(case: str, tmp_path: Path,
                                                          capfd: pytest.CaptureFixture[str]) -> None:
    dynamic, make = HOSTILE[case]
    marker = tmp_path / "marker"
    hostile = _rewrite(_archive(tmp_path, dynamic), make(marker))
    try:  # the payload is real: torch.export.load runs it
        torch.export.load(hostile)
    except Exception:
        pass
    assert marker.exists(), "the crafted archive does not carry a working payload"
    marker.unlink()
    capfd.readouterr()
    assert main(["import", str(hostile), "-o", str(tmp_path / "out.json")]) == 1
    err = capfd.readouterr().err
    assert not marker.exists() and not (tmp_path / "out.json").exists()
    assert "so it was not opened: loading it could run code" in err and len(err.strip().splitlines()) == 1, err


def test_native_code_and_the_old_pickled_format_are_refused(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    archive = _archive(tmp_path)
    native = _rewrite(archive, lambda parts: parts.update({f"{_part(parts, 'archive_version')[:-15]}data/aotinductor/model/m.so": b"\x7fELF"}))
    assert main(["import", str(native), "-o", str(tmp_path / "a.json")]) == 1
    assert "AOTInductor compiled code" in capfd.readouterr().err
    old = tmp_path / "old.pt2"
    with zipfile.ZipFile(old, "w") as zf:
        zf.writestr("version", "8.0")
        zf.writestr("serialized_state_dict.pt", pickle.dumps(Payload(tmp_path / "marker")))
    assert main(["import", str(old), "-o", str(tmp_path / "b.json")]) == 1
    assert "older archives are read with pickle" in capfd.readouterr().err and not (tmp_path / "marker").exists()


def test_a_clean_archive_still_imports(tmp_path: Path) -> None:
    assert main(["import", str(_archive(tmp_path, dynamic=True)), "-o", str(tmp_path / "ok.json")]) == 0


@pytest.mark.parametrize("damage", ["empty", "garbage", "truncated", "folder"])
def test_a_damaged_archive_is_one_sentence_without_torchs_logs(damage: str, tmp_path: Path,
                                                              capfd: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.pt2"
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "garbage":
        path.write_bytes(os.urandom(4096))
    elif damage == "truncated":
        data = _archive(tmp_path).read_bytes()
        path.write_bytes(data[: len(data) // 2])
    else:
        path.mkdir()
    capfd.readouterr()
    assert main(["import", str(path), "-o", str(tmp_path / "out.json")]) == 1
    err = capfd.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and str(path) in err, err
