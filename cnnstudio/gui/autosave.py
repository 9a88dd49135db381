"""Crash recovery: unsaved changes are written every little while to a recovery file of this
process's own, never to the user's design file.

Each running studio holds a lock beside its recovery file. A recovery file whose lock nobody holds
belongs to a studio that ended without cleaning up (a crash, a kill, a power cut), so the next
start offers to restore it. A normal close, a save, or opening another design removes the file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, QStandardPaths, QTimer

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import DesignFileError, atomic_write_text, from_dict, to_dict
from cnnstudio.gui.document import Document

FORMAT = "cnnstudio-recovery"
INTERVAL_MS = 20_000


def default_directory() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)) / "recovery"


class AutoSaver(QObject):
    def __init__(self, doc: Document, directory: Path, interval_ms: int = INTERVAL_MS):
        super().__init__(doc)
        self.doc = doc
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / f"recovery-{os.getpid()}.json"
        self.lock = QLockFile(str(self.path.with_suffix(".lock")))
        self.lock.tryLock(0)
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
        self.lock.unlock()


@dataclass
class Recovery:
    file: Path
    source: Path | None
    saved: str
    design: Design

    def remove(self) -> None:
        self.file.unlink(missing_ok=True)
        self.file.with_suffix(".lock").unlink(missing_ok=True)


def orphaned(directory: Path) -> list[Recovery]:
    """Recovery files left by studios that are no longer running, newest first."""
    found = []
    for file in sorted(directory.glob("recovery-*.json"), key=lambda f: f.stat().st_mtime, reverse=True):
        lock = QLockFile(str(file.with_suffix(".lock")))
        lock.setStaleLockTime(0)  # stale only when its process is gone, however old
        if not lock.tryLock(0):
            continue  # another studio is running and owns it
        lock.unlock()
        try:
            record = json.loads(file.read_text(encoding="utf-8"))
            design = from_dict(record["design"], source=str(file))
            source = Path(record["source"]) if record.get("source") else None
            found.append(Recovery(file, source, str(record.get("saved", "")), design))
        except (OSError, ValueError, KeyError, TypeError, DesignFileError):
            file.unlink(missing_ok=True)  # unreadable: nothing can be restored from it
    return found
