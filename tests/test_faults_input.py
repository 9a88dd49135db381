"""Issue 13 items 5, 8 and 9: design files are read with a bound, from regular files only; node
ids of any kind become ASCII module names, and ids that would print falsely are refused; long
values are cut in messages."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from cnnstudio.cli import main
from cnnstudio.core.compiler import module_names
from cnnstudio.core.design import Design, DesignError
from cnnstudio.core.designfile import MAX_BYTES, DesignFileError, load_design, loads, save_design, to_dict
from cnnstudio.export import export_design
from fault_helpers import cli
from training_helpers import classifier, train

# -- item 5: bounded reading ----------------------------------------------------------------------


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom", "/dev/null"])
def test_devices_are_refused_without_reading(device: str) -> None:
    if not os.path.exists(device):
        pytest.skip(f"no {device} here")
    with pytest.raises(DesignFileError, match="not a regular file"):
        load_design(device)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX FIFOs")
def test_a_fifo_with_no_writer_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "design.json"
    os.mkfifo(fifo)
    result: list[BaseException] = []
    reader = threading.Thread(target=lambda: _catch(result, load_design, fifo), daemon=True)
    reader.start()
    reader.join(10)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert isinstance(result[0], DesignFileError) and "not a regular file" in str(result[0])


def _catch(into: list[BaseException], function, *args) -> None:
    try:
        function(*args)
    except BaseException as error:  # noqa: BLE001 - handed to the test
        into.append(error)


def test_an_oversized_file_says_so(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    with open(path, "wb") as handle:
        handle.truncate(MAX_BYTES + 1)  # sparse: no disk used
    with pytest.raises(DesignFileError) as caught:
        load_design(path)
    assert "larger than 50 MiB" in str(caught.value) and "valid file name" not in str(caught.value)


def test_the_reported_size_is_not_trusted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/proc files report a size of 0; a file may grow while read: the read itself is bounded."""
    import cnnstudio.core.designfile as designfile

    monkeypatch.setattr(designfile, "MAX_BYTES", 1000)
    path = tmp_path / "d.json"
    path.write_text(" " * 5000)
    with pytest.raises(DesignFileError, match="larger than"):
        designfile.read_bounded(path, 1000)


@pytest.mark.faults
def test_cli_check_dev_zero_exits_2_quickly() -> None:
    result = cli("check", "/dev/zero", timeout=60)
    assert result.returncode == 2 and "not a regular file" in result.stderr


# -- item 8: node ids ------------------------------------------------------------------------------


def _chain(*ids: str) -> Design:
    design = Design(name="ids")
    design.add_node("Input", {"shape": [1, 8, 8]}, ids[0])
    design.add_node("Conv2d", {"out_channels": 2, "kernel_size": 3}, ids[1])
    design.add_node("Flatten", {}, ids[2])
    design.add_node("Linear", {"out_features": 6}, ids[3])
    for a, b in zip(ids, ids[1:]):
        design.connect(a, b)
    return design


def test_module_names_are_unique_ascii_identifiers() -> None:
    design = _chain("x", "ﬁlter", "filter", "conv²")
    names = module_names(design)
    assert names == {"x": "x", "ﬁlter": "filter", "filter": "filter_2", "conv²": "conv2"}
    assert all(name.isascii() and name.isidentifier() for name in names.values())
    design = _chain("卷积", "层", "1", "class")
    names = module_names(design)
    assert len(set(names.values())) == 4 and all(n.isascii() and n.isidentifier() for n in names.values())


def test_a_ligature_id_trains_and_exports(tmp_path: Path) -> None:
    design = _chain("x", "ﬁlter", "flat", "conv²")
    finished, _ = train(design, epochs=1)
    assert finished.status == "completed"
    export_design(design, "torchscript", tmp_path / "m.ts.pt")
    loaded = torch.jit.load(str(tmp_path / "m.ts.pt"))
    assert [name for name, _ in loaded.named_children()] == ["filter", "flat", "conv2"]
    assert loaded(torch.randn(2, 1, 8, 8)).shape == (2, 6)


def test_superscript_ids_export_code_that_runs(tmp_path: Path) -> None:
    design = _chain("x", "conv²", "ﬂat", "ﬁnal")
    design.name = "Net²"
    export_design(design, "code", tmp_path / "m.py")
    done = subprocess.run([sys.executable, str(tmp_path / "m.py"), "--smoke"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ok:" in done.stdout


@pytest.mark.parametrize("bad", ["a\u202eb", "a\nb", "tab\there", "zero\u200bwidth", "\udc80x", "a\u2028b", "x" * 101])
def test_invisible_and_lying_ids_are_refused(bad: str) -> None:
    with pytest.raises(DesignError) as caught:
        Design().add_node("Input", {"shape": [1, 4, 4]}, bad)
    assert "U+" in str(caught.value) or "longer than" in str(caught.value)
    data = to_dict(classifier())
    data["nodes"][0]["id"] = bad
    data["edges"] = []
    with pytest.raises(DesignFileError, match="nodes\\[0\\]"):
        loads(json.dumps(data))


def test_rename_refuses_them_too() -> None:
    design = classifier()
    with pytest.raises(DesignError, match="U\\+202E"):
        design.rename("x", "evil\u202e")


def test_the_table_survives_any_id_on_an_ascii_terminal(tmp_path: Path) -> None:
    path = tmp_path / "d.json"
    save_design(_chain("x", "ﬁlter", "ﬂat", "卷积"), path)
    result = cli("check", str(path), PYTHONIOENCODING="ascii")
    assert result.returncode == 0, result.stderr
    assert "\\ufb01lter" in result.stdout and "Traceback" not in result.stderr


# -- item 9: messages --------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["params", "version", "type", "edge", "format", "pos"])
def test_long_values_are_cut_in_messages(tmp_path: Path, capsys, where: str) -> None:
    huge = int("9" * 4000)
    data = to_dict(classifier())
    if where == "params":
        data["nodes"][1]["params"]["out_channels"] = huge
    elif where == "version":
        data["version"] = huge
    elif where == "type":
        data["nodes"][1]["type"] = "9" * 4000
    elif where == "edge":
        data["edges"].append(["9" * 4000, "x"])
    elif where == "format":
        data["format"] = "f" * 4000
    else:
        data["nodes"][1]["pos"] = [huge, 0]
    path = tmp_path / "d.json"
    path.write_text(json.dumps(data))
    assert main(["check", str(path)]) in (1, 2)
    captured = capsys.readouterr()
    assert len(captured.err) < 400, captured.err
    assert "internal error" not in captured.err


def test_export_under_a_file_names_the_file_cli(tmp_path: Path, capsys) -> None:
    design = tmp_path / "d.json"
    save_design(classifier(), design)
    (tmp_path / "existing_file").write_text("x")
    assert main(["export", str(design), "-o", str(tmp_path / "existing_file" / "m.py")]) == 1
    err = capsys.readouterr().err
    assert "existing_file is a file, not a folder" in err and "File exists" not in err


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_weights_from_a_device_are_refused(device: str, tmp_path: Path, capsys) -> None:
    design = tmp_path / "d.json"
    save_design(classifier(), design)
    assert main(["export", str(design), "--weights", device, "-o", str(tmp_path / "m.py")]) == 1
    assert "not a weights file" in capsys.readouterr().err
