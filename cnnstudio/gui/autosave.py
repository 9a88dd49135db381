"""Crash recovery: unsaved changes are written every little while to a recovery file of this
studio's own, never to the user's design file.

Each studio instance names its recovery file with a random id (not its process id: in a container
a new studio often gets the pid of the one that crashed) and holds an operating-system lock on a
file beside it, which the system releases when the process ends, however it ends. A recovery
file whose lock nobody holds belongs to a studio that ended without cleaning up (a crash, a kill,
a power cut), so the next start claims it and offers to restore it. A normal close, a save, or
opening another design removes the instance's own file; a studio never deletes another's file,
except the one it offered, once the user has answered.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QObject, QStandardPaths, QTimer

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import DesignFileError, atomic_write_text, from_dict, to_dict
from cnnstudio.gui.document import Document

FORMAT = "cnnstudio-recovery"
INTERVAL_MS = 20_000


class ProcessLock:
    """An exclusive advisory lock on ``path`` (flock on POSIX, a locked byte on Windows), held until
    :meth:`release` or the end of the process. It excludes other processes and other instances
    in this one alike: the lock belongs to the open file, not to a process id."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError:
            return False
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self, remove: bool = False) -> None:
        """Unlock; ``remove`` deletes the lock file first, while still holding it."""
        if self._fd is None:
            return
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)  # closing the file releases the lock
        self._fd = None


def default_directory() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "recovery"


class AutoSaver(QObject):
    def __init__(self, doc: Document, directory: Path, interval_ms: int = INTERVAL_MS):
        super().__init__(doc)
        self.doc = doc
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"recovery-{uuid.uuid4().hex}.json"
        self.lock = ProcessLock(self.path.with_suffix(".lock"))
        self.lock.acquire()
        self._pending = False
        self.timer = QTimer(self)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.timer.start()
        doc.undo_stack.indexChanged.connect(self._changed)
        doc.undo_stack.cleanChanged.connect(lambda clean: clean and self.discard())
        doc.reset.connect(self.discard)

    def _changed(self) -> None:
        self._pending = True

    def _tick(self) -> None:
        if self._pending:
            self.save_now()

    def save_now(self) -> None:
        """Write the recovery file if there is anything unsaved, else remove it."""
        self._pending = False
        if not self.doc.modified:
            self.discard()
            return
        record = {
            "format": FORMAT,
            "source": str(self.doc.path) if self.doc.path else None,
            "saved": datetime.now().isoformat(timespec="seconds"),
            "design": to_dict(self.doc.design),
        }
        try:
            atomic_write_text(self.path, json.dumps(record))
        except DesignFileError:
            self._pending = True  # a full disk must not interrupt editing; the next tick retries

    def discard(self) -> None:
        self._pending = False
        self.path.unlink(missing_ok=True)

    def close(self) -> None:
        """A normal end: nothing to recover."""
        self.timer.stop()
        self.discard()
        self.lock.release(remove=True)


@dataclass
class Recovery:
    """A crashed studio's recovery file, claimed (its lock held) until removed or released."""

    file: Path
    source: Path | None
    saved: str
    design: Design
    lock: ProcessLock

    def remove(self) -> None:
        """Delete it: the user has answered the offer to restore it."""
        self.file.unlink(missing_ok=True)
        self.lock.release(remove=True)

    def release(self) -> None:
        self.lock.release()


def claim_orphan(directory: Path) -> Recovery | None:
    """The newest recovery file left by a studio that is no longer running, claimed so that no
    other studio offers it at the same time. Files that cannot be read are left as they are:
    they are not this studio's to delete."""
    for file in sorted(directory.glob("recovery-*.json"), key=_modified, reverse=True):
        lock = ProcessLock(file.with_suffix(".lock"))
        if not lock.acquire():
            continue  # a running studio (in any process, this one included) owns it
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            design = from_dict(record["design"], source=str(file))
            source = Path(record["source"]) if record.get("source") else None
            return Recovery(file, source, str(record.get("saved", "")), design, lock)
        except (OSError, ValueError, KeyError, TypeError, DesignFileError):
            lock.release()
    return None


def _modified(file: Path) -> float:
    try:
        return file.stat().st_mtime
    except OSError:  # removed meanwhile by its studio
        return 0.0
