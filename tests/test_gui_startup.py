"""Start-up: ``cnnstudio DESIGN`` opens the window without importing torch on the way."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from cnnstudio.gui.app import _excepthook
from gui_fixtures import FIGURE21, answers, recovery_dir, settings, window  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def test_the_window_module_does_not_import_torch() -> None:
    code = "import sys, cnnstudio.gui.app; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_cnnstudio_design_paints_the_window_and_exits_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CNNSTUDIO_EXIT_AFTER_PAINT": "1",
        "CNNSTUDIO_STARTUP_T0": repr(time.time()),
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "cnnstudio", str(FIGURE21)], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("first paint ")
    assert "Traceback" not in result.stderr


def test_an_unexpected_error_is_shown_in_a_dialog_and_autosaved(window, monkeypatch) -> None:  # noqa: ANN001, F811
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box) or 0)
    window.editor.add_layer("ReLU", window.view.mapToScene(0, 0))  # something unsaved
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        _excepthook(window)(RuntimeError, error, error.__traceback__)
    (box,) = shown
    assert "RuntimeError: boom" in box.text() and "Traceback" in box.detailedText()
    assert window.autosaver.path.exists()
