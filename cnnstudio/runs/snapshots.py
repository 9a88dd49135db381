"""The views' snapshots kept with a run, on disk, bounded like the studio's timeline in memory.

Each snapshot is ``snapshots/step-<global step>.pt``: a dictionary of tensors, numbers and strings
(``torch.load(weights_only=True)`` reads it back). The folder holds at most ``MAX_SNAPSHOTS``
files and ``MAX_BYTES`` bytes: past either, every other file of the older half is deleted
(:func:`thin`), so the whole run stays covered, more coarsely further back. Torch is imported
only when a snapshot is written or read.
"""

from __future__ import annotations

import dataclasses
import io
from pathlib import Path
from typing import Any

from cnnstudio.runs.files import write_bytes
from cnnstudio.training import events
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.listeners import Callback

FOLDER = "snapshots"
MAX_SNAPSHOTS = 200
MAX_BYTES = 256 * 2**20


def thin(count: int) -> list[int]:
    """Which of ``count`` items (oldest first) to keep: every other one of the older half."""
    half = count // 2
    keep = [i for i in range(count) if i >= half or i % 2 == 0]
    return keep[1:] if len(keep) == count else keep


def _plain(value: Any) -> Any:
    """A snapshot as dicts, lists and tensors only (what weights_only loading accepts)."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def from_plain(data: dict[str, Any]) -> events.Snapshot:
    activations = {k: events.Activation(v["values"], tuple(v["shape"])) for k, v in data["activations"].items()}
    embedding = events.Embedding(**data["embedding"]) if data["embedding"] else None
    saliency = events.Saliency(**data["saliency"]) if data["saliency"] else None
    return events.Snapshot(**{**data, "activations": activations, "embedding": embedding, "saliency": saliency})


class SnapshotStore(Callback):
    """Writes every snapshot of a run to its folder, within the bounds above."""

    def __init__(self, run_folder: Path, max_files: int = MAX_SNAPSHOTS, max_bytes: int = MAX_BYTES):
        self.folder = run_folder / FOLDER
        self.max_files, self.max_bytes = max_files, max_bytes

    def on_snapshot(self, event: events.Snapshot) -> None:
        """A snapshot that cannot be written (a full disk) is skipped: the views are extras, never
        a reason for a run to fail."""
        import torch

        buffer = io.BytesIO()
        torch.save(_plain(event), buffer)
        try:
            self.folder.mkdir(exist_ok=True)  # not its parents: a deleted run folder stays deleted
            write_bytes(self.folder / f"step-{event.step:09d}.pt", buffer.getbuffer())
        except (OSError, TrainingError):
            return
        files = stored(self.folder.parent)
        sizes = [f.stat().st_size for f in files]
        while len(files) > self.max_files or (sum(sizes) > self.max_bytes and len(files) > 2):
            keep = set(thin(len(files)))
            for i, f in enumerate(files):
                if i not in keep:
                    f.unlink(missing_ok=True)
            files, sizes = [files[i] for i in sorted(keep)], [sizes[i] for i in sorted(keep)]


def stored(run_folder: Path) -> list[Path]:
    """A run's snapshot files, by step."""
    folder = run_folder / FOLDER
    return sorted(p for p in folder.glob("step-*.pt")) if folder.is_dir() else []


def load(path: Path) -> events.Snapshot:
    import torch

    return from_plain(torch.load(path, map_location="cpu", weights_only=True))
