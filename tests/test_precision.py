"""Mixed precision's choices, on any machine: the autocast type, and loss scaling for float16 only.

What only a GPU can show (autocast really computing in that type, the scaler stepping) is in
tests/test_cuda.py.
"""

from __future__ import annotations

import pytest
import torch

from cnnstudio.training.engine import Trainer
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.precision import autocast_dtype, needs_loss_scaling
from cnnstudio.training.settings import parse_settings
from training_helpers import classifier

CUDA, CPU = torch.device("cuda"), torch.device("cpu")


def yes() -> bool:
    return True


def no() -> bool:
    return False


def test_auto_takes_bfloat16_where_the_gpu_has_it_else_float16() -> None:
    assert autocast_dtype(True, "auto", CUDA, yes) == torch.bfloat16
    assert autocast_dtype(True, "auto", CUDA, no) == torch.float16


def test_an_explicit_type_is_used() -> None:
    assert autocast_dtype(True, "float16", CUDA, yes) == torch.float16
    assert autocast_dtype(True, "bfloat16", CUDA, yes) == torch.bfloat16


def test_bfloat16_on_a_gpu_without_it_is_explained() -> None:
    with pytest.raises(TrainingError, match='"amp_dtype".*"float16"'):
        autocast_dtype(True, "bfloat16", CUDA, no)


@pytest.mark.parametrize("device", [CPU, torch.device("mps")])
def test_off_cuda_or_switched_off_it_is_float32(device: torch.device) -> None:
    assert autocast_dtype(True, "float16", device, yes) is None
    assert autocast_dtype(False, "float16", CUDA, yes) is None


def test_only_float16_scales_the_loss() -> None:
    assert needs_loss_scaling(torch.float16)
    assert not needs_loss_scaling(torch.bfloat16) and not needs_loss_scaling(None)


def test_an_unknown_type_names_the_key() -> None:
    with pytest.raises(TrainingError, match="amp_dtype"):
        parse_settings({"amp_dtype": "float8"})


def test_the_cpu_trains_in_float32_whatever_the_setting() -> None:
    settings = parse_settings({"device": "cpu", "amp": True, "amp_dtype": "float16", "data_options": {"count": 64}})
    trainer = Trainer(classifier(), settings)
    trainer.prepare()
    assert trainer.amp_dtype is None and not trainer.scaler.is_enabled()
