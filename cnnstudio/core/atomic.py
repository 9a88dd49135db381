"""Atomic file replacement: readers see the old file or the new one, never a half-written mix.

Used for designs, exports and checkpoints. The new content goes to a temporary file in the same
folder (same file system, so the final rename is atomic), is flushed to disk, gets the
permissions a normal new file would get (mkstemp makes it private), then replaces the target.
On any error the temporary file is removed and the target is untouched.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_umask()  # read once, at import, while only one thread runs


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Call ``write(temp)`` to fill a temporary file, then rename it over ``path``; raises OSError."""
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix="".join(path.suffixes) or ".tmp", dir=path.parent)
    os.close(fd)
    temp = Path(name)
    try:
        write(temp)
        with open(temp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(temp, path.stat().st_mode & 0o777 if path.exists() else _NEW_FILE_MODE)
        os.replace(temp, path)
    finally:
        temp.unlink(missing_ok=True)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write(path, lambda temp: temp.write_text(text, encoding="utf-8"))
