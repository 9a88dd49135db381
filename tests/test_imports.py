"""What training imports: torchvision (seconds, as it loads torch's compiler) only when used."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PROBE = """
import json, sys
from cnnstudio import cli
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
sys.path.insert(0, {tests!r})
from training_helpers import classifier
cli._parser("train")
after_import = "torchvision" in sys.modules
settings = parse_settings({{"device": "cpu", "data_options": {{"count": 64}}, "epochs": 1, **{extra}}})
Trainer(classifier(), settings).prepare()
print(json.dumps({{"after_import": after_import, "after_setup": "torchvision" in sys.modules}}))
"""


def _probe(extra: dict) -> dict:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    code = PROBE.format(tests=str(REPO / "tests"), extra=repr(extra))
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.splitlines()[-1])


def test_training_without_augmentation_never_imports_torchvision() -> None:
    assert _probe({}) == {"after_import": False, "after_setup": False}


def test_augmentation_imports_it_when_the_run_starts() -> None:
    assert _probe({"augment": {"hflip": 0.5}}) == {"after_import": False, "after_setup": True}
