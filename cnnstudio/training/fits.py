"""Refusing, before allocating, a run that cannot fit in the chosen device's memory.

The model's estimate comes from :mod:`cnnstudio.core.memory`; generated data (synthetic-shapes and
its kin) is held whole in memory, so its size is known from its ``count`` before it is made.
Files on disk are left to the data preparation, which streams them past "memory_limit_mb".
"""

from __future__ import annotations

import math
from typing import Any

import torch

from cnnstudio.core.display import size_text
from cnnstudio.core.memory import BYTES_PER_VALUE, MemoryEstimate, available_ram
from cnnstudio.training import fields
from cnnstudio.training.data.registry import find
from cnnstudio.training.errors import TrainingError


def generated_bytes(spec: str, options: dict[str, Any], shape: tuple[int, ...]) -> int:
    """Bytes of the generated dataset ``spec`` would make (0 for data read from files: those are
    streamed when they exceed "memory_limit_mb")."""
    kind, _ = find(spec)
    if kind.options is None or not hasattr(kind.options, "count"):
        return 0
    count = fields.parse(kind.options, options, f'"data_options" of {spec}').count
    return count * math.prod(shape) * BYTES_PER_VALUE


def available_memory(device: torch.device) -> int | None:
    """Free memory of ``device`` now; None when it cannot be known (nothing is refused then)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free
    if device.type == "mps":
        return torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
    return available_ram()


def check(model: MemoryEstimate, data_bytes: int, device: torch.device) -> None:
    """:class:`TrainingError` with the estimate and the limit when the run cannot fit."""
    limit = available_memory(device)
    needed = model.training + data_bytes
    if limit is None or needed <= limit:
        return
    parts = [f"the model: {model.describe()}"]
    if data_bytes:
        parts.append(f"the generated data: {size_text(data_bytes)}")
    raise TrainingError(
        f"this run needs about {size_text(needed)} of memory ({'; '.join(parts)}), but the {device.type.upper()} has "
        f"{size_text(limit)} available. Make the design smaller, or lower the batch size or the data's 'count'"
    )
