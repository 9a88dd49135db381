"""Checkpoints: everything needed to continue a run exactly, written atomically, read safely.

A checkpoint is a ``torch.save`` dictionary of tensors, numbers, strings and lists only, so it
loads with ``torch.load(weights_only=True)``: PyTorch's restricted unpickler, which refuses any
other object and so can never run code from a file someone sent. There is deliberately no
fallback to unrestricted loading. The design (as a design-file dictionary) travels inside, so a
checkpoint says which network it belongs to.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from cnnstudio.core.atomic import atomic_write
from cnnstudio.training.errors import TrainingError

FORMAT = "cnnstudio-checkpoint"
VERSION = 1


def save(state: dict[str, Any], path: Path) -> None:
    """Write atomically (see :mod:`cnnstudio.core.atomic`): never a half-written checkpoint."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda temp: torch.save({"format": FORMAT, "version": VERSION, **state}, temp))
    except OSError as error:
        raise TrainingError(f"{path}: the checkpoint could not be written ({error.strerror or error})") from None


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A checkpoint's contents on the CPU; :class:`TrainingError` for anything unsafe or broken."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"{path}: no such checkpoint file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise TrainingError(
            f"{path}: refused to load: the file holds Python objects beyond weights and numbers, which "
            f"could run code ({str(error).splitlines()[0][:160]}). Only load such a file if you "
            "trust where it came from, and not with CNN Studio."
        ) from None
    except (RuntimeError, OSError, EOFError, zipfile.BadZipFile, ValueError) as error:
        raise TrainingError(f"{path}: not a readable checkpoint ({str(error).splitlines()[0][:160]})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise TrainingError(f"{path}: not a CNN Studio checkpoint")
    if state.get("version", 0) > VERSION:
        raise TrainingError(f"{path}: written by a newer CNN Studio (checkpoint version {state['version']})")
    return state


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
