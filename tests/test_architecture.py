"""Layering rules that keep the core headless and the studio quick to start.

* Nothing outside ``cnnstudio.gui`` imports Qt (PySide6) or pyqtgraph: the core, training, import,
  export and commands run on servers and in CI without a display.
* ``import cnnstudio``, analysing a design and ``cnnstudio check`` do not import torch: the studio
  validates after every edit and its window must appear at once.

Each check runs in a fresh interpreter, so modules imported by other tests cannot hide a leak.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from corehelpers import FIGURE21, ROOT

HEADLESS_PACKAGES = ["cnnstudio.core", "cnnstudio.training", "cnnstudio.export", "cnnstudio.commands", "cnnstudio.sweeps",
                     "cnnstudio.importers", "cnnstudio.runs"]


def run_python(code: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "QT_QPA_PLATFORM": "offscreen"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


def test_headless_packages_never_import_qt():
    found = run_python(
        f"""
        import importlib, importlib.util, json, pkgutil, sys
        imported, errors = [], []
        for name in {HEADLESS_PACKAGES!r}:
            if importlib.util.find_spec(name) is None:
                continue
            package = importlib.import_module(name)
            imported.append(name)
            for info in pkgutil.walk_packages(package.__path__, name + ".", onerror=errors.append):
                importlib.import_module(info.name)
                imported.append(info.name)
        import cnnstudio.cli
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "pyqtgraph"))
        gui = sorted(m for m in sys.modules if m.startswith("cnnstudio.gui"))
        print(json.dumps({{"imported": imported, "leaked": leaked, "gui": gui, "errors": errors}}))
        """
    )
    assert "cnnstudio.core.analysis" in found["imported"] and "cnnstudio.commands.check" in found["imported"]
    assert found["errors"] == []
    assert found["leaked"] == [], "a headless module imports Qt: " + ", ".join(found["leaked"][:5])
    assert found["gui"] == []


def test_analysis_and_check_do_not_import_torch():
    found = run_python(
        f"""
        import contextlib, io, json, sys
        import cnnstudio
        after_import = "torch" in sys.modules
        analysis = cnnstudio.analyze(cnnstudio.load_design({str(FIGURE21)!r}))
        after_analysis = "torch" in sys.modules
        from cnnstudio.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            status = main(["check", {str(FIGURE21)!r}])
        print(json.dumps({{
            "valid": analysis.valid,
            "status": status,
            "after_import": after_import,
            "after_analysis": after_analysis,
            "after_check": "torch" in sys.modules,
            "qt": "PySide6" in sys.modules,
        }}))
        """
    )
    assert found["valid"] and found["status"] == 0
    assert not found["after_import"], "import cnnstudio imports torch"
    assert not found["after_analysis"], "analysing a design imports torch"
    assert not found["after_check"], "cnnstudio check imports torch"
    assert not found["qt"]


def test_events_and_the_run_store_do_not_import_torch():
    """The studio matches events by class and lists runs with its window up, before torch loads."""
    found = run_python(
        """
        import contextlib, io, json, sys
        from cnnstudio.training import events, listeners
        from cnnstudio.runs import store, diff, recorder, snapshots
        from cnnstudio.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            status = main(["runs", "resources/templates/figure21.json", "--json"])
        print(json.dumps({"torch": "torch" in sys.modules, "status": status}))
        """
    )
    assert found == {"torch": False, "status": 0}
