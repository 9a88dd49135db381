"""Choosing the device to train on: CUDA, then Apple MPS, then the CPU, or the one asked for."""

from __future__ import annotations

import torch

from cnnstudio.training.errors import TrainingError


def pick_device(name: str) -> torch.device:
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise TrainingError(f"unknown device '{name}'; use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"'{name}' was asked for, but this PyTorch sees no CUDA GPU; use --device cpu or auto")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise TrainingError(f"'{name}' was asked for, but there are only {torch.cuda.device_count()} CUDA GPU(s)")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise TrainingError("'mps' was asked for, but Apple's Metal (MPS) is not available here; use --device cpu or auto")
    if device.type not in ("cpu", "cuda", "mps"):
        raise TrainingError(f"training on '{name}' is not supported; use auto, cpu, cuda, cuda:N or mps")
    return device


def recorded(device: torch.device) -> str:
    """The device as a checkpoint records it and the resume sentence names it: "cpu", "mps", or a
    CUDA GPU with its number ("cuda:0"; ``auto`` picks torch's current GPU)."""
    if device.type == "cuda":
        return f"cuda:{device.index if device.index is not None else torch.cuda.current_device()}"
    return device.type


def is_out_of_memory(error: BaseException) -> bool:
    """CUDA raises its own type; MPS raises a RuntimeError saying so."""
    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )
