"""Opening a hostile design in the studio runs nothing and shows the refused call on its card (issue 19)."""

from __future__ import annotations

import random
from functools import lru_cache
from pathlib import Path

import pytest

import cnnstudio
import security_corpus as corpus
from cnnstudio.core.designfile import save_design
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401 - pytest fixtures

pytestmark = pytest.mark.security
MARKER = Path("/tmp/cnnstudio-security-marker-19-studio")


@lru_cache(maxsize=None)
def _writers(marker: str) -> list[dict]:
    cases = corpus.function_cases(marker)
    return [c for c in cases if any(str(c.get("function", "")).endswith(f".{s.name}") for s in corpus.WRITERS)]


def _hostile(tmp_path: Path, index: int) -> Path:
    """A small design (Input, Conv2d, then a refused call and a good layer after it) from the corpus."""
    call = random.Random(corpus.SEED + index).choice(_writers(str(MARKER)))
    design = cnnstudio.Design("hostile")
    design.add_node("Input", {"shape": [3, 8, 8]}, "x")
    design.add_node("Conv2d", {"out_channels": 4, "kernel_size": 3}, "conv")
    design.add_node("Function", {"call": {**call, "args": [{"input": 0}, *call.get("args", [])]}}, "f")
    design.add_node("Flatten", {}, "flat")
    design.connect("x", "conv")
    design.connect("conv", "f")
    design.connect("f", "flat")
    path = tmp_path / "hostile.json"
    save_design(design, path)
    return path


@pytest.mark.parametrize("index", range(4))
def test_a_refused_call_is_an_error_on_its_card_and_runs_nothing(index: int, window: MainWindow, tmp_path: Path) -> None:  # noqa: F811
    MARKER.unlink(missing_ok=True)
    path = _hostile(tmp_path, index)
    assert window.open_path(path, ask=False)
    card = window.scene.nodes["f"]
    assert card.card.severity == "error"
    assert "may not call" in card.toolTip() or "is not a function name" in card.toolTip(), card.toolTip()
    assert window.scene.nodes["conv"].card.severity is None  # the rest of the design is as usual
    assert not list(MARKER.parent.glob(f"{MARKER.name}*"))
