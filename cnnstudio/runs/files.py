"""The run folder's small files, written atomically (readers see the old file or the new one).

The one place the runs package writes through :mod:`cnnstudio.core.atomic`, so a change there
touches only these two functions.
"""

from __future__ import annotations

from pathlib import Path

from cnnstudio.core.atomic import atomic_write


def write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda temp: temp.write_text(text, encoding="utf-8"))


def write_bytes(path: Path, data: bytes | memoryview) -> None:
    atomic_write(path, lambda temp: temp.write_bytes(data))
