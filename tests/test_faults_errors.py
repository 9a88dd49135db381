"""Issue 13 item 7: inputs that ended in "internal error" now end in a sentence and the documented
exit status (settings out of range, a run folder that cannot be written)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design, to_dict
from fault_helpers import small_disk
from training_helpers import classifier


def _deep(levels: int) -> dict:
    root: dict = {}
    node = root
    for _ in range(levels):
        node["a"] = {}
        node = node["a"]
    return root


@pytest.mark.parametrize(("training", "code", "text"), [
    ({"lr": 10**400}, 2, "'lr' is far too large: a number of 401 digits"),
    ({"epochs": 10**400}, 2, "'epochs' must be at most 100000, got a number of 401 digits"),
    ({"weight_decay": 1e300}, 2, "'weight_decay' must be at most 3.4e+38, got 1e+300"),
    ({"lr": 1e300}, 2, "'lr' must be at most 3.4e+38, got 1e+300"),
    ({"classes": []}, 1, "'classes' must name one or more distinct classes"),
    ({"data_options": _deep(900)}, 2, "nested more than 32 levels deep"),
])
def test_settings_that_overflowed_are_sentences(tmp_path: Path, capsys, training: dict, code: int, text: str) -> None:
    data = to_dict(classifier())
    data["training"] = {"epochs": 1, "device": "cpu", "data_options": {"count": 100}, **training}
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data))
    assert main(["train", str(path), "--out", str(tmp_path / "run")]) == code
    err = capsys.readouterr().err
    assert text in err and "internal error" not in err and len(err) < 400


def test_out_naming_a_file_is_refused_before_training(tmp_path: Path, capsys) -> None:
    design = tmp_path / "d.json"
    save_design(classifier(), design)
    (tmp_path / "afile").write_text("x")
    assert main(["train", str(design), "--out", str(tmp_path / "afile"), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "afile is a file, not a folder" in err and "training on" not in err


def test_out_on_a_read_only_folder_is_refused_before_training(tmp_path: Path, capsys) -> None:
    design = tmp_path / "d.json"
    save_design(classifier(), design)
    with small_disk(tmp_path / "ro") as folder:
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True, timeout=30)
        assert main(["train", str(design), "--out", str(folder / "run"), "--epochs", "1"]) == 1
    err = capsys.readouterr().err
    assert "read-only file system" in err and "internal error" not in err
