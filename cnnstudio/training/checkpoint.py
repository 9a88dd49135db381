"""Checkpoints: everything needed to continue a run exactly, written atomically, read safely.

Besides the weights, optimizer, schedule and random state, a checkpoint records where the run
stood (epoch, step, samples of the epoch consumed), its global batch, its number of processes and
its device ("cpu", "cuda:0"), so a run continues on another number of processes or another device
too. It is always read onto the CPU (``map_location``), so a checkpoint written on a GPU opens on a
machine without one.

A checkpoint is a ``torch.save`` dictionary of tensors, numbers, strings and lists only, so it
loads with ``torch.load(weights_only=True)``: PyTorch's restricted unpickler, which refuses any
other object and so can never run code from a file someone sent. There is deliberately no
fallback to unrestricted loading. The design (as a design-file dictionary) travels inside, so a
checkpoint says which network it belongs to.

It is serialised in memory, then written atomically (:mod:`cnnstudio.core.atomic`): torch's own
writer raises ``RuntimeError`` on a full disk and leaves its partial file. A SHA-256 of the whole
contents (every tensor's bytes, every number) is stored with it, so a damaged file is refused
instead of silently resuming a run with changed weights (version 1 files, from before, have none).
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import pickle
import stat
from pathlib import Path
from typing import Any

import torch

from cnnstudio.core.atomic import WriteFailed, atomic_write_bytes
from cnnstudio.training.errors import NotWritten, TrainingError, first_line

FORMAT = "cnnstudio-checkpoint"
VERSION = 2
CHECKSUM = "checksum"


def save(state: dict[str, Any], path: Path) -> None:
    """Write atomically: never a half-written checkpoint, nor a temporary file left behind."""
    contents = {"format": FORMAT, "version": VERSION, **state}
    contents[CHECKSUM] = checksum(contents)
    buffer = io.BytesIO()
    torch.save(contents, buffer)
    try:
        atomic_write_bytes(path, buffer.getbuffer())  # the run's folder exists: one deleted mid-run is an error
    except WriteFailed as error:
        raise NotWritten(f"the checkpoint {path.name} was not written: {error}") from None


def checksum(state: dict[str, Any]) -> str:
    """SHA-256 of everything in ``state`` but the checksum itself: keys, numbers, tensors' bytes."""
    digest = hashlib.sha256()
    _feed(digest, {k: v for k, v in state.items() if k != CHECKSUM})
    return digest.hexdigest()


def _feed(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        tensor = value.detach().cpu().contiguous().reshape(-1)
        digest.update(f"T{tensor.dtype}{list(value.shape)}".encode())
        if tensor.numel():
            digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.dtype != torch.bool
                          else tensor.to(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}".encode())
        for key in sorted(value, key=repr):
            digest.update(repr(key).encode("utf-8", "surrogateescape"))
            _feed(digest, value[key])
    elif isinstance(value, (list, tuple)):
        digest.update(f"L{len(value)}".encode())
        for item in value:
            _feed(digest, item)
    else:
        digest.update(f"{type(value).__name__}:{value!r}".encode("utf-8", "surrogateescape"))


def load(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A checkpoint's contents on the CPU; :class:`TrainingError` for anything unsafe or broken."""
    path = Path(path)
    try:
        mode = path.stat().st_mode
    except (OSError, ValueError):
        raise TrainingError(f"{path}: no such checkpoint file") from None
    if not stat.S_ISREG(mode):
        raise TrainingError(f"{path}: not a checkpoint file (a folder, device or pipe)")
    if path.suffix == ".safetensors":
        raise TrainingError(f"{path}: a .safetensors file holds weights only; --resume needs a checkpoint (last.pt) "
                            "of a run. To start a new run from these weights, set \"init_weights\" in the design")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise TrainingError(
            f"{path}: refused to load: the file holds Python objects beyond weights and numbers, which "
            f"could run code ({first_line(error)}). Only load such a file if you "
            "trust where it came from, and not with CNN Studio."
        ) from None
    except Exception as error:  # noqa: BLE001 - torch.load raises many types for files that are not its own
        reason = "the file is empty" if path.stat().st_size == 0 else first_line(error)
        raise TrainingError(f"{path}: not a readable checkpoint ({reason})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise TrainingError(f"{path}: not a CNN Studio checkpoint")
    version = state.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise TrainingError(f"{path}: a damaged checkpoint (its version is {_show(version)})")
    if version > VERSION:
        raise TrainingError(f"{path}: written by a newer CNN Studio (checkpoint version {version})")
    if version >= 2 and state.get(CHECKSUM) != checksum(state):
        raise TrainingError(f"{path}: the checkpoint is damaged: its contents do not match the checksum written "
                            "with them (a disk or copy error changed some bytes); resume from another copy")
    _check_fields(state, path)
    return state


def _check_fields(state: dict[str, Any], path: Path) -> None:
    """Every field a resume reads, with the type it must have: a sentence, never a KeyError."""
    counts = ("epoch", "step", "global_step", "samples")
    for key in counts:
        value = state.get(key)
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise TrainingError(f"{path}: a damaged checkpoint ('{key}' is {_show(value)}, not a whole number from 0)")
    loss = state.get("loss_sum")
    if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not math.isfinite(loss):
        raise TrainingError(f"{path}: a damaged checkpoint ('loss_sum' is {_show(loss)}, not a number)")
    for key in ("design", "settings", "model", "optimizer", "scaler", "rng"):
        if not isinstance(state.get(key), dict):
            raise TrainingError(f"{path}: a damaged or incomplete checkpoint ('{key}' is missing or not a table)")
    if not all(isinstance(v, torch.Tensor) for v in state["model"].values()):
        raise TrainingError(f"{path}: a damaged checkpoint ('model' holds values that are not tensors)")
    if not isinstance(state.get("device", ""), str) or not isinstance(state.get("sampler", {}), dict):
        raise TrainingError(f"{path}: a damaged checkpoint ('device' or 'sampler' is not what a checkpoint holds)")
    if not isinstance(state["rng"].get("torch"), torch.Tensor):
        raise TrainingError(f"{path}: a damaged checkpoint (no random-number state)")


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():  # a run resumed on fewer GPUs keeps the first ones'
        for index, gpu_state in enumerate(state["cuda"][:torch.cuda.device_count()]):
            torch.cuda.set_rng_state(gpu_state, index)
