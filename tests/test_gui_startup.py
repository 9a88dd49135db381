"""Start-up: ``cnnstudio DESIGN`` opens the window without importing torch on the way."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from gui_fixtures import FIGURE21

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
