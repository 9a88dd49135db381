"""How much memory a design needs, estimated from its analysis before anything is allocated.

A design with a 10^12-parameter layer is valid, but building it would reach torch's allocator and
fail deep inside (or be killed by the system). ``check`` warns with this estimate; ``train`` and
``export`` refuse a model (and generated data) that cannot fit in the chosen device's available
memory. Estimates count 32-bit values: the weights; for training also their gradients and two
optimizer moments (Adam's; SGD keeps one or none), and every layer's output at the batch size kept
for the backward pass with its gradient. Pure Python: neither torch nor Qt.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from cnnstudio.core.analysis import Analysis
from cnnstudio.core.display import size_text

BYTES_PER_VALUE = 4  # float32
TRAINING_COPIES_OF_WEIGHTS = 4  # weights, gradients, two optimizer moments
TRAINING_COPIES_OF_ACTIVATIONS = 2  # each output, and its gradient


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes needed by a design's model at one batch size."""

    weights: int
    activations_per_sample: int
    batch_size: int

    @property
    def activations(self) -> int:
        return self.activations_per_sample * self.batch_size

    @property
    def training(self) -> int:
        return self.weights * TRAINING_COPIES_OF_WEIGHTS + self.activations * TRAINING_COPIES_OF_ACTIVATIONS

    @property
    def inference(self) -> int:
        return self.weights + self.activations

    def describe(self) -> str:
        return (f"{size_text(self.weights)} of weights, {size_text(self.training)} to train at batch size "
                f"{self.batch_size} (with gradients, optimizer state and "
                f"{size_text(self.activations * TRAINING_COPIES_OF_ACTIVATIONS)} of activations)")


def estimate(analysis: Analysis, batch_size: int) -> MemoryEstimate:
    """The estimate for a valid analysis (nodes without a shape count as nothing)."""
    values = sum(math.prod(info.shape) for info in analysis.nodes.values() if info.shape is not None)
    return MemoryEstimate(analysis.total_params * BYTES_PER_VALUE, values * BYTES_PER_VALUE, batch_size)


def available_ram() -> int | None:
    """Memory this process can still take: the system's available memory, or less under a
    container's limit (cgroup v2); None where neither can be read (then nothing is refused)."""
    found = [value for value in (_meminfo_available(), _cgroup_room()) if value is not None]
    if not found:
        try:
            found.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, ValueError, OSError):
            return None
    return min(found)


def _meminfo_available() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def _cgroup_room() -> int | None:
    root = Path("/sys/fs/cgroup")
    try:
        limit = (root / "memory.max").read_text().strip()
        if limit == "max":
            return None
        return int(limit) - int((root / "memory.current").read_text())
    except (OSError, ValueError):
        return None
