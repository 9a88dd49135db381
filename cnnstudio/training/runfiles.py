"""Keeping a run's folder consistent after a crash: what the next start of the run repairs.

A run killed at any moment (kill -9, a power cut, a full disk) can leave temporary files of the
files it was replacing (``.last.pt.<random>.part``; ``.last.<random>.pt`` from older versions),
and ``metrics.jsonl`` lines for epochs that its checkpoint does not hold: the epoch's line is
appended before the checkpoint is written, and a kill can fall in between, or halfway through a
line. At the next start of the run, when no writer of its folder can be running, the temporary
files are removed and the metrics file is cut back to the checkpoint's epochs, so every epoch
appears once.
"""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path

from cnnstudio.core.atomic import WriteFailed, atomic_write_text, explain, stray_temps
from cnnstudio.training.errors import TrainingError

# The temporary names of checkpoints before version 2 (mkstemp's): ".last.<8 characters>.pt".
_LEGACY_TEMP = re.compile(r"\.last\.[a-z0-9_]{8}\.pt")


def repair(folder: Path, metrics_name: str, epochs_done: int | None) -> None:
    """Remove stray temporary files; keep the metrics of epochs 1..``epochs_done`` (None: a new
    run, no metrics kept). Fails first, with a sentence, if the folder cannot be written."""
    writable(folder)
    for stray in stray_temps(folder) + [p for p in folder.iterdir() if _LEGACY_TEMP.fullmatch(p.name) and p.is_file()]:
        stray.unlink(missing_ok=True)
    metrics = folder / metrics_name
    if epochs_done is None:
        metrics.unlink(missing_ok=True)
        return
    if not metrics.is_file():
        return
    kept = kept_metrics(metrics.read_text(encoding="utf-8", errors="replace"), epochs_done)
    try:
        atomic_write_text(metrics, "".join(line + "\n" for line in kept))
    except WriteFailed as error:
        raise TrainingError(f"{metrics_name} could not be repaired: {error}") from None


def writable(folder: Path) -> None:
    """Create ``folder`` and try writing in it now, rather than fail after the first epoch."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise TrainingError(f"the run's folder cannot be written: {explain(error, folder / 'metrics.jsonl')}") from None


def kept_metrics(text: str, epochs_done: int) -> list[str]:
    """The lines of epochs 1..``epochs_done``, once each (the last one written), in epoch order;
    half-written or unreadable lines are dropped."""
    by_epoch: dict[int, str] = {}
    for line in text.splitlines():
        try:
            epoch = json.loads(line)["epoch"]
        except (ValueError, KeyError, TypeError):
            continue
        if isinstance(epoch, int) and 1 <= epoch <= epochs_done:
            by_epoch[epoch] = line
    return [by_epoch[epoch] for epoch in sorted(by_epoch)]
