"""Layering rules that keep the core headless and the studio quick to start.

* Nothing outside ``cnnstudio.gui`` imports Qt (PySide6) or pyqtgraph: the core, training, import,
  export and commands run on servers and in CI without a display.
* ``import cnnstudio``, analysing a design and ``cnnstudio check`` do not import torch: the studio
  validates after every edit and its window must appear at once.
* ``cnnstudio.training`` imports nothing of ``cnnstudio.runs``: the run store listens to the engine,
  attached by its callers (the import-linter contracts in pyproject.toml state every layer).

Each check runs in a fresh interpreter, so modules imported by other tests cannot hide a leak.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

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


def imports_of(package: Path) -> dict[str, set[str]]:
    """Every module each file of ``package`` imports, wherever the import statement is (inside
    functions too), relative imports resolved, plus module names passed to ``import_module``."""
    found: dict[str, set[str]] = {}
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        here = parts[:-1]  # the package a relative import starts from
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(here[: len(here) - node.level + 1]) if node.level else ""
                module = ".".join(filter(None, (base, node.module)))
                names.update(f"{module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "import_module":
                names.update(arg.value for arg in node.args if isinstance(arg, ast.Constant) and isinstance(arg.value, str))
        found[".".join(parts)] = names
    return found


def test_the_training_engine_imports_nothing_of_the_run_store():
    package = ROOT / "cnnstudio"
    offending = {module: sorted(name for name in names if name.startswith("cnnstudio.runs"))
                 for module, names in imports_of(package / "training").items()}
    assert {module: names for module, names in offending.items() if names} == {}
    # the scan sees what it must: the run store's imports of the engine, and one inside a function
    runs = imports_of(package / "runs")
    assert "cnnstudio.training.listeners.Callback" in runs["cnnstudio.runs.recorder"]
    assert "cnnstudio.runs.files.write_bytes" in runs["cnnstudio.runs.snapshots"]
    assert "torch" in runs["cnnstudio.runs.snapshots"]  # imported inside SnapshotStore.on_snapshot
