"""Where a dataset lives while training: in memory (on the GPU when it fits) or streamed from disk.

``data_loading: "auto"`` keeps a source in memory when its decoded samples take at most
``memory_limit_mb`` (default: a quarter of the machine's memory): batches are then an index into
tensors, the fastest path for small data. Larger file sources stream. On CUDA, in-memory data is
moved to the GPU when it takes at most a quarter of the GPU's memory, else it stays in pinned
host memory and each batch is copied.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from cnnstudio.training import threads
from cnnstudio.training.data.base import TensorData, stack
from cnnstudio.training.data.images import report_skipped
from cnnstudio.training.data.source import Source
from cnnstudio.training.data.workers import batch_reader
from cnnstudio.training.errors import TrainingError

CHUNK = 256  # samples per read when decoding a whole source
MIB = 1 << 20


def machine_memory() -> int:
    """Bytes of physical memory (4 GiB when the platform does not say)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 4 << 30


def default_workers() -> int:
    """Decoding processes: the cores this process may use, less one for training, at most 8."""
    return max(1, min(8, threads.usable_cores() - 1))


def streams(size: int, can_stream: bool, loading: str, limit_mb: int | None) -> bool:
    """Whether to stream a source whose decoded samples take ``size`` bytes."""
    if loading == "memory" or not can_stream:
        return False
    if loading == "stream":
        return True
    limit = limit_mb * MIB if limit_mb is not None else machine_memory() // 4
    return size > limit


def load_whole(source: Source, where: str, warn: Callable[[str], None], workers: int = 0) -> TensorData:
    """Every sample of ``source`` decoded into memory (in ``workers`` processes), unreadable files
    skipped and named in one warning."""
    if isinstance(source, TensorData):
        return source
    chunks = [torch.arange(start, min(start + CHUNK, len(source))) for start in range(0, len(source), CHUNK)]
    if workers and len(chunks) > 1:
        parts = list(batch_reader(source, [c.tolist() for c in chunks], min(workers, len(chunks))))
    else:
        parts = [source.read(chunk) for chunk in chunks]
    data = stack(parts, source.classes)
    report_skipped(where, data.skipped, warn)
    if not len(data):
        raise TrainingError(f"{where}: no readable image")
    data.skipped = []
    return data


def place(data: TensorData, device: torch.device) -> TensorData:
    """In-memory data on the training device: on a GPU when it takes at most a quarter of its memory."""
    if device.type != "cuda":
        return data.to(device)
    total = torch.cuda.get_device_properties(device).total_memory
    return data.to(device) if data.nbytes <= total // 4 else data.pin_memory()
