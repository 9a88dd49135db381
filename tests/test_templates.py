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
# Real networks at full size take tens of seconds a step on a CPU; their training step runs on the
# smallest input each accepts (the same layers and parameters: their heads pool adaptively, and
# the U-Net's crops follow the sizes). Their full size is checked by the validity test.
SMALL_INPUTS = {
    "tv_alexnet": (3, 64, 64),
    "tv_vgg16": (3, 32, 32),
    "tv_resnet18": (3, 32, 32),
    "tv_googlenet": (3, 32, 32),
}
# The original U-Net's smallest input (188x188, output 4x4) still costs ~20 s a step on a CPU; its
# layers are those of unet_small, which trains here, and its validity, 31,030,658 parameters and
# 2x388x388 output are checked by the validity test and tests/test_importers.py.
# Heads of a network pretrained on ImageNet: 1000 class scores, whatever the offline data has.
PRETRAINED_HEAD = {"tv_alexnet", "tv_googlenet", "tv_resnet18", "tv_vgg16"}
NO_TRAINING_STEP = {"unet_original": "a valid-convolution U-Net step takes ~20 s on a CPU at its smallest input"}


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
    if path.stem in SMALL_INPUTS:
        design.node(design.input_ids[0]).params["shape"] = SMALL_INPUTS[path.stem]
    design.weights = None  # pretrained weights ("torchvision:NAME") need the network; tests run offline
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
def test_template_data_fits_its_outputs(path: Path) -> None:
    """A template opens without a data warning: ten digit scores train on ten digits
    (synthetic-digits), not on six shapes of which four scores would never be right."""
    from cnnstudio.training.check import training_problems

    design = load_design(path)
    problems = [p for p in training_problems(design.training, design) if p.key == "data"]
    if path.stem in PRETRAINED_HEAD:
        assert all("class scores" in p.message for p in problems)
    else:
        assert not problems, [p.message for p in problems]


@pytest.mark.parametrize("path", PATHS, ids=ids)
def test_template_trains_one_step(path: Path, checkpoints: Checkpoints) -> None:
    if path.stem in NO_TRAINING_STEP:
        pytest.skip(NO_TRAINING_STEP[path.stem])
    finished, recorder = train_tiny(path, checkpoints)
    assert finished.status == "completed", recorder.of(events.Error)
    assert finished.global_step == 1
    assert all(math.isfinite(loss) for loss in recorder.step_losses) and recorder.step_losses
    assert math.isfinite(recorder.of(events.EpochMetrics)[0].val_loss)
