"""Issue 13 item 1 (and 10): writes to a real full disk end in a sentence, keep the previous file
and leave no temporary file; writes are atomic, through links, with names up to 255 bytes."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnstudio.core import atomic
from cnnstudio.core.designfile import DesignFileError, load_design, save_design
from cnnstudio.export import FORMATS, ExportError, export_design
from cnnstudio.training import checkpoint
from cnnstudio.training.errors import TrainingError
from fault_helpers import REPO, assert_clean_failure, cli, entries, fill, small_disk
from training_helpers import classifier

FORMATS_ON_DISK = ["code", "torchscript", "export", "safetensors"]


@pytest.fixture
def disk(tmp_path: Path):
    with small_disk(tmp_path / "disk", size_kb=1024) as folder:
        yield folder


@pytest.mark.parametrize("fmt", FORMATS_ON_DISK)
def test_export_to_a_full_disk_keeps_the_previous_file(disk: Path, fmt: str) -> None:
    design = classifier()
    target = disk / f"model{FORMATS[fmt]}"
    export_design(design, fmt, target)
    before = target.read_bytes()
    fill(disk)  # the same network again: the new file needs as much room as the old one
    with pytest.raises(ExportError) as caught:
        export_design(design, fmt, target)
    message = str(caught.value)
    assert f"the disk holding {disk} is full" in message and "MB needed" in message
    assert "previous file is unchanged" in message
    assert target.read_bytes() == before
    assert entries(disk) == sorted(["filler", "filler2", target.name])


def test_code_with_weights_writes_both_files_or_neither(disk: Path, tmp_path: Path) -> None:
    weights = tmp_path / "w.safetensors"
    export_design(classifier(), "safetensors", weights)
    fill(disk)
    with pytest.raises(ExportError, match="is full"):
        export_design(classifier(), "code", disk / "model.py", weights)
    assert entries(disk) == ["filler", "filler2"]


@pytest.mark.faults
@pytest.mark.parametrize("fmt", ["torchscript", "export", "safetensors"])
def test_cli_export_to_a_full_disk_exits_with_a_sentence(disk: Path, tmp_path: Path, fmt: str) -> None:
    design = tmp_path / "tiny.json"
    save_design(classifier(), design)
    fill(disk)
    result = cli("export", str(design), "--format", fmt, "-o", str(disk / "m.out"))
    assert_clean_failure(result)
    assert result.returncode == 1
    assert "is full" in result.stderr and "MB needed" in result.stderr
    assert entries(disk) == ["filler", "filler2"]


def test_checkpoint_to_a_full_disk_keeps_the_previous_one(disk: Path) -> None:
    path = disk / "last.pt"
    state = {"epoch": 1, "model": {"w": torch.zeros(10_000)}}
    checkpoint.save(state, path)
    before = path.read_bytes()
    fill(disk)
    with pytest.raises(TrainingError) as caught:
        checkpoint.save({**state, "epoch": 2}, path)
    assert f"the disk holding {disk} is full" in str(caught.value) and "MB needed" in str(caught.value)
    assert path.read_bytes() == before
    assert entries(disk) == ["filler", "filler2", "last.pt"]


def test_design_save_to_a_full_disk(disk: Path) -> None:
    path = disk / "d.json"
    save_design(classifier(), path)
    fill(disk)
    big = classifier()
    big.name = "x" * 100_000
    with pytest.raises(DesignFileError, match="is full"):
        save_design(big, path)
    assert load_design(path).name == classifier().name


@pytest.mark.faults
@pytest.mark.skipif(sys.platform == "win32", reason="POSIX resource limits")
def test_cli_export_past_the_file_size_limit(tmp_path: Path) -> None:
    """RLIMIT_FSIZE: the other way a real write fails (EFBIG), where mounting is not allowed."""
    design = tmp_path / "tiny.json"
    save_design(classifier(), design)
    (tmp_path / "m.ts.pt").write_bytes(b"previous")
    code = ("import resource, sys; resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000)); "
            "from cnnstudio.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run([sys.executable, "-c", code, "export", str(design), "-f", "torchscript", "-o",
                             str(tmp_path / "m.ts.pt")], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert_clean_failure(result)
    assert "larger than this system lets a program write" in result.stderr
    assert (tmp_path / "m.ts.pt").read_bytes() == b"previous"
    assert entries(tmp_path) == ["m.ts.pt", "tiny.json"]


# -- item 9 and 10: names, links, folders ---------------------------------------------------------


def test_a_255_byte_name_saves(tmp_path: Path) -> None:
    path = tmp_path / ("d" * 250 + ".json")
    save_design(classifier(), path)
    assert load_design(path).name == classifier().name
    assert entries(tmp_path) == [path.name]


def test_saving_through_a_link_writes_its_target(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    save_design(classifier(), real)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    renamed = classifier()
    renamed.name = "Renamed"
    save_design(renamed, link)
    assert link.is_symlink() and load_design(real).name == "Renamed"


def test_export_into_a_path_under_a_file_says_so(tmp_path: Path) -> None:
    (tmp_path / "existing").write_text("x")
    with pytest.raises(ExportError) as caught:
        export_design(classifier(), "code", tmp_path / "existing" / "m.py")
    assert "existing is a file, not a folder" in str(caught.value) and "File exists" not in str(caught.value)


def test_the_folder_is_flushed_after_the_rename(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flushed: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (flushed.append(os.path.isdir(f"/proc/self/fd/{fd}")), real_fsync(fd)))
    atomic.atomic_write_text(tmp_path / "a.txt", "hello")
    assert flushed == [False, True]  # the file, then its folder


def test_stray_temporary_files_are_recognised(tmp_path: Path) -> None:
    ours = [tmp_path / atomic.temp_name(tmp_path / name) for name in ("last.pt", "metrics.jsonl", "d" * 255)]
    others = [tmp_path / ".lastly.abcd1234.pt", tmp_path / "last.pt", tmp_path / "notes.part"]
    for path in ours + others:
        path.write_bytes(b"x")
    assert sorted(atomic.stray_temps(tmp_path)) == sorted(ours)
    assert all(len(path.name.encode()) <= 255 for path in ours)


def test_efbig_is_explained(tmp_path: Path) -> None:
    message = atomic.explain(OSError(errno.EFBIG, "File too large"), tmp_path / "x.pt", 5_000_000)
    assert message == f"{tmp_path / 'x.pt'}: the file would be larger than this system lets a program write (5.0 MB)"


def test_the_exported_scripts_own_save_is_atomic(disk: Path, tmp_path: Path) -> None:
    import importlib.util

    script = tmp_path / "model.py"
    export_design(classifier(), "code", script)
    spec = importlib.util.spec_from_file_location("exported_model", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.Tiny()
    weights = disk / "model.pt"
    module.save_weights(model, str(weights))
    before = weights.read_bytes()
    fill(disk)
    with pytest.raises(OSError):
        module.save_weights(model, str(weights))
    assert weights.read_bytes() == before
    assert entries(disk) == ["filler", "filler2", "model.pt"]


def test_a_writer_through_a_path_on_a_full_disk(disk: Path) -> None:
    """atomic_write(path, write): for writers that need a path (run folder files, image encoders)."""
    target = disk / "manifest.json"
    atomic.atomic_write(target, lambda temp: temp.write_text("{}"))
    fill(disk)
    with pytest.raises(atomic.WriteFailed, match="is full"):
        atomic.atomic_write(target, lambda temp: temp.write_text("x" * 100_000))
    assert target.read_text() == "{}"
    assert entries(disk) == ["filler", "filler2", "manifest.json"]
