"""``cnnstudio check``: the table, --json, and exit codes 0 valid / 1 invalid / 2 unreadable."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design
from corehelpers import FIGURE21, ROOT, chain


def run_check(capsys, *args: str) -> tuple[int, str, str]:
    status = main(["check", *map(str, args)])
    out, err = capsys.readouterr()
    return status, out, err


def test_table_for_figure21(capsys):
    status, out, err = run_check(capsys, FIGURE21)
    assert status == 0 and not err
    rows = {line.split()[0]: line.split() for line in out.splitlines() if line and line.split()[0] in
            {"conv1", "conv2", "pool1", "conv3", "pool2", "flatten", "fc1", "fc2"}}
    assert rows["conv1"][2] == "24x24x6" and rows["conv1"][3] == "156"
    assert rows["conv2"][2] == "20x20x12"
    assert rows["pool1"][2] == "10x10x12"
    assert rows["conv3"][2] == "6x6x12"
    assert rows["pool2"][2] == "3x3x12"
    assert rows["flatten"][2] == "108"
    assert rows["fc1"][2] == "256"
    assert rows["fc2"][2] == "10"
    assert "valid" in out and "36,054 parameters" in out


def test_channels_first(capsys):
    status, out, _ = run_check(capsys, FIGURE21, "--channels-first")
    assert status == 0 and "6x24x24" in out and "24x24x6" not in out


def test_json_report(capsys):
    status, out, _ = run_check(capsys, FIGURE21, "--json")
    assert status == 0
    report = json.loads(out)
    assert report["valid"] is True
    assert report["total_params"] == 36054
    assert list(report["nodes"])[:3] == ["x", "conv1", "relu1"]
    conv1 = report["nodes"]["conv1"]
    assert conv1["shape"] == [6, 24, 24] and conv1["params"] == 156
    assert conv1["errors"] == [] and conv1["warnings"] == []
    assert report["nodes"]["flatten"]["shape"] == [108]


def test_invalid_design_exits_1_and_names_the_problem(tmp_path, capsys):
    path = tmp_path / "bad.json"
    save_design(chain([1, 4, 4], ("Conv2d", {"kernel_size": 5}), ("ReLU", {})), path)
    status, out, _ = run_check(capsys, path)
    assert status == 1
    assert "error in conv2d1" in out and "larger than the input" in out and "[fix: set kernel_size to 4]" in out
    assert "1 error(s)" in out

    status, out, _ = run_check(capsys, path, "--json")
    assert status == 1
    report = json.loads(out)
    assert report["valid"] is False
    assert len(report["nodes"]["conv2d1"]["errors"]) == 1
    assert report["nodes"]["conv2d1"]["shape"] is None
    assert report["nodes"]["relu1"]["errors"] == []  # reported once, where it happens


def test_warnings_keep_exit_0(tmp_path, capsys):
    path = tmp_path / "warn.json"
    save_design(chain([1, 28, 28], ("Conv2d", {"kernel_size": 5, "stride": 3})), path)
    status, out, _ = run_check(capsys, path, "--json")
    assert status == 0
    (warning,) = json.loads(out)["nodes"]["conv2d1"]["warnings"]
    assert "2 along H and 2 along W" in warning


@pytest.mark.parametrize("content", [None, "folder", b"\x00\x01binary", b'{"format": "cnnstudio-design", "version": 9, "nodes": []}'])
def test_unreadable_file_exits_2(tmp_path, capsys, content):
    path = tmp_path / "design.json"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    status, out, err = run_check(capsys, path)
    assert status == 2
    assert not out
    assert err.startswith("cnnstudio check: ") and str(path) in err
    assert "Traceback" not in err


def test_missing_argument_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["check"])
    assert caught.value.code == 2
    assert "usage" in capsys.readouterr().err


def test_entry_point_runs_as_a_module():
    result = subprocess.run(
        [sys.executable, "-m", "cnnstudio", "check", str(FIGURE21), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["valid"] is True and report["nodes"]["fc2"]["shape"] == [10]


def test_the_studio_without_a_display_says_so(monkeypatch, capsys):
    monkeypatch.setattr(sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert main([]) == 2
    assert "no display to open the studio on" in capsys.readouterr().err
