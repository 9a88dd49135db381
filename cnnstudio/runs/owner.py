"""Who runs a run, and whether it still does: the process recorded in ``run.json`` while it trains.

A run killed with ``kill -9``, by a power cut, or whose process died, leaves ``run.json`` saying
``running``. Listing must not write the user's files, so the run store reads it as *interrupted*
instead when its process is gone. The manifest records the process as an :class:`Owner`: its pid,
the host name, the kernel's boot id and the process's start time (Linux), so neither a reboot nor
a pid reused by another process is taken for the run. Elsewhere only the pid's existence is known.

A run of another host cannot be asked: it is trusted as running while its ``run.json`` is younger
than :data:`STALE_AFTER_S`. A running run writes it at least every :data:`HEARTBEAT_S` while it
trains (and at each epoch and checkpoint), so an older file means no training step was recorded
for an hour: a paused run, a validation pass or a data load longer than that, or clocks of the two
hosts set an hour apart, would be shown as interrupted by mistake, and the sentence says so.
"""

from __future__ import annotations

import os
import socket
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

HEARTBEAT_S = 60.0  # run.json is rewritten at least this often while steps go on
STALE_AFTER_S = 3600.0  # a run of another host not heard of for this long is shown as interrupted
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")

Liveness = Literal["alive", "gone", "elsewhere"]


@dataclass(frozen=True)
class Owner:
    """The process that writes a run: pid, host, boot id and start time (None where not known)."""

    pid: int
    host: str
    boot_id: str | None = None
    process_start: int | None = None  # clock ticks after boot (Linux /proc/PID/stat), with boot_id

    @classmethod
    def current(cls) -> Owner:
        pid = os.getpid()
        return cls(pid, socket.gethostname(), boot_id(), process_start(pid))

    @classmethod
    def from_json(cls, data: Any) -> Owner | None:
        try:
            return cls(int(data["pid"]), str(data["host"]), data.get("boot_id"), data.get("process_start"))
        except (TypeError, KeyError, ValueError):
            return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def liveness(self) -> Liveness:
        """``alive`` (this host, the same process), ``gone`` (this host, no such process: it ended,
        the machine rebooted or the pid now belongs to another process), ``elsewhere`` (another host)."""
        if not same_host(self):
            return "elsewhere"
        here = boot_id()
        if self.boot_id and here and self.boot_id != here:
            return "gone"
        if not pid_exists(self.pid):
            return "gone"
        if self.process_start is not None and process_start(self.pid) not in (None, self.process_start):
            return "gone"  # the pid was reused by a process started later
        return "alive"


def same_host(owner: Owner) -> bool:
    return owner.host == socket.gethostname()


def boot_id() -> str | None:
    try:
        return BOOT_ID.read_text().strip() or None
    except OSError:
        return None


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (which may hold spaces): state first."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat[stat.rindex(")") + 2:].split()
    except (OSError, ValueError):
        return None


def process_start(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks after boot (field 22 of /proc/PID/stat); None elsewhere."""
    fields = _stat(pid)
    try:
        return int(fields[19]) if fields else None
    except (ValueError, IndexError):
        return None


def pid_exists(pid: int) -> bool:
    """A process ``pid`` exists and has not ended (a killed one not yet reaped by its parent has)."""
    if pid <= 0:
        return False
    fields = _stat(pid)
    if fields and fields[0] in ("Z", "X"):  # a zombie: killed, waiting for its parent
        return False
    if os.name == "nt":  # signal 0 is CTRL_C_EVENT there: never sent; the run is taken as alive
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    except OSError:
        return False
    return True


def age_s(path: Path, now: float | None = None) -> float:
    """Seconds since ``path`` was written (0 if it cannot be read)."""
    try:
        return max(0.0, (time.time() if now is None else now) - path.stat().st_mtime)
    except OSError:
        return 0.0
