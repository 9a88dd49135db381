"""Every bundled template (resources/templates/*.json) loads, validates, compiles and trains a step.

New templates are covered as soon as their file exists. Training is the template's own settings
with tiny data (about one batch), one epoch, on the CPU: enough to prove that the task, the data
source and the design fit together, in well under a second per template.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import pytest

from cnnstudio.core.analysis import analyze
from cnnstudio.core.compiler import build_model
from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES, templates
from cnnstudio.training import events
from cnnstudio.training.data.registry import kinds
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
from training_helpers import Recorder

PATHS = sorted(TEMPLATES.glob("*.json"))
CARD = (140.0, 84.0)  # the studio's node card, width and height (cnnstudio/gui/canvas/node_item.py)
TINY = {"count": 20, "batch_size": 16}  # 16 training samples: one step of one batch


def ids(path: Path) -> str:
    return path.stem


def raw(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def source_of(settings: dict[str, Any]) -> str | None:
    """The template whose run an ``init_weights`` of the form runs/STEM/last.pt names."""
    match = re.fullmatch(r"runs/([^/]+)/last\.pt", str(settings.get("init_weights") or ""))
    return match.group(1) if match else None


class Checkpoints:
    """Trains a template once (tiny) when another one starts from its weights; keeps the file."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.done: dict[str, str] = {}

    def of(self, stem: str) -> str:
        if stem not in self.done:
            finished, recorder = train_tiny(TEMPLATES / f"{stem}.json", self, self.folder / stem)
            assert finished.status == "completed", recorder.of(events.Error)
            self.done[stem] = finished.checkpoint
        return self.done[stem]


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory: pytest.TempPathFactory) -> Checkpoints:
    return Checkpoints(tmp_path_factory.mktemp("runs"))


def train_tiny(path: Path, checkpoints: Checkpoints, out_dir: Path | None = None) -> tuple[events.Finished, Recorder]:
    """The template's own settings with one epoch of one tiny batch, on the CPU."""
    design = load_design(path)
    training = design.training or {}
    overrides: dict[str, Any] = {
        "device": "cpu",
        "epochs": 1,
        "batch_size": TINY["batch_size"],
        "data_options": {**training.get("data_options", {}), "count": TINY["count"]},
    }
    source = source_of(training)
    if source is not None:
        overrides["init_weights"] = checkpoints.of(source)
    recorder = Recorder()
    trainer = Trainer(design, parse_settings(training, overrides), out_dir=out_dir, on_event=recorder, step_rate=None)
    return trainer.run(), recorder


def test_there_are_templates_and_the_menu_lists_each_once() -> None:
    assert len(PATHS) >= 20
    names = [t.name for t in templates()]
    assert len(names) == len(PATHS)
    assert len(set(names)) == len(names), "two templates share a menu label"


@pytest.mark.parametrize("path", PATHS, ids=ids)
def test_template_has_a_name_and_readable_positions(path: Path) -> None:
    data = raw(path)
    assert isinstance(data.get("name"), str) and data["name"].strip()
    missing = [node["id"] for node in data["nodes"] if "pos" not in node]
    assert not missing, f"nodes without a position: {missing}"
    boxes = [(node["id"], *node["pos"]) for node in data["nodes"]]
    width, height = CARD
    overlapping = [
        (a, b) for i, (a, ax, ay) in enumerate(boxes) for (b, bx, by) in boxes[i + 1 :]
        if abs(ax - bx) < width and abs(ay - by) < height
    ]
    assert not overlapping, f"node cards overlap on the canvas: {overlapping}"


@pytest.mark.parametrize("path", PATHS, ids=ids)
def test_template_is_valid_compiles_and_trains_offline_by_default(path: Path) -> None:
    design = load_design(path)
    analysis = analyze(design)
    assert analysis.valid and not analysis.errors, [str(e) for e in analysis.errors]
    build_model(design)
    settings = parse_settings(design.training)
    assert settings.data in [kind.name for kind in kinds() if kind.options is not None], f"a template must train offline by default, not on {settings.data}"


@pytest.mark.parametrize("path", PATHS, ids=ids)
def test_template_trains_one_step(path: Path, checkpoints: Checkpoints) -> None:
    finished, recorder = train_tiny(path, checkpoints)
    assert finished.status == "completed", recorder.of(events.Error)
    assert finished.global_step == 1
    assert all(math.isfinite(loss) for loss in recorder.step_losses) and recorder.step_losses
    assert math.isfinite(recorder.of(events.EpochMetrics)[0].val_loss)
