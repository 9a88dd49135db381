"""The "training" object: defaults, overrides, errors naming the key, docs, and no Qt in the engine."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from cnnstudio.core.designfile import load_design
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import COMMON_KEYS, AugmentSettings, parse_settings
from cnnstudio.training.task_options import TASK_OPTIONS

REPO = Path(__file__).resolve().parents[1]


def test_a_design_without_settings_trains_as_classification_on_shapes() -> None:
    settings = parse_settings({})
    assert (settings.task, settings.data, settings.optimizer) == ("classification", "synthetic-shapes", "adam")


def test_flags_override_the_file_and_none_means_not_given() -> None:
    template = load_design(REPO / "resources" / "templates" / "figure21.json")
    settings = parse_settings(template.training, {"epochs": 2, "lr": None})
    assert settings.epochs == 2  # the flag wins
    assert settings.lr == template.training["lr"] and settings.batch_size == template.training["batch_size"]


def test_task_keys_go_to_the_task_and_round_trip() -> None:
    settings = parse_settings({"task": "metric", "margin": 0.5, "mining": "batch-hard"})
    assert settings.task_options.margin == 0.5
    assert parse_settings(settings.to_dict()) == settings


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ({"lrr": 0.1}, "no key 'lrr'; did you mean 'lr'?"),
        ({"epochs": "5"}, "'epochs' must be a whole number"),
        ({"batch_size": 0}, "'batch_size' must be at least 1"),
        ({"optimizer": "adamm"}, "did you mean 'adam'"),
        ({"margin": 0.3}, "'margin' is a key of the metric task, but the task is classification"),
        ({"augment": {"rotate": 10}}, "'augment' has no key 'rotate'; did you mean 'rotation'?"),
        ({"augment": {"hflip": 2}}, "'hflip' must be at most 1"),
        ({"outputs": ["a"], "loss_weights": [1, 2]}, "one weight per output"),
        ({"grad_clip": 0}, "'grad_clip' must be greater than 0"),
        ({"lr": float("nan")}, "'lr' must be a number"),
    ],
)
def test_errors_name_the_key(raw: dict, text: str) -> None:
    with pytest.raises(TrainingError) as caught:
        parse_settings(raw)
    assert text in str(caught.value)


def test_every_key_is_documented() -> None:
    doc = (REPO / "docs" / "training.md").read_text(encoding="utf-8")
    keys = COMMON_KEYS + [f.name for f in dataclasses.fields(AugmentSettings)]
    keys += [f.name for cls in TASK_OPTIONS.values() for f in dataclasses.fields(cls)]
    missing = [key for key in keys if f"`{key}`" not in doc]
    assert not missing, f"docs/training.md does not mention {missing}"


def test_the_engine_never_imports_qt() -> None:
    code = (
        "import sys, cnnstudio.training.engine, cnnstudio.commands.train; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 0, result.stdout + result.stderr
