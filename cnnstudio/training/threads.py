"""How many CPU threads torch may use in a training process, and setting them.

torch starts as many threads as the machine has cores, whatever else runs there. When a core is
busy elsewhere (the studio's window beside its training worker, other torchrun processes on the
same machine), its threads wait for one another at every operation, and a step can take several
times as long as with fewer threads. So a training process counts the cores it may really use (its
CPU affinity and its container's CPU quota), leaves some for the window when asked to, shares
them among the processes of the machine, and tells torch. ``OMP_NUM_THREADS``, when set, wins:
it is the user's own choice. ``bench/bench_cli.py`` measures the effect.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path

CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def usable_cores(cgroup_cpu_max: Path = CGROUP_CPU_MAX) -> int:
    """The cores this process may run on: its affinity, capped by a cgroup v2 CPU quota if any."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        quota, period = cgroup_cpu_max.read_text().split()[:2]
        if quota != "max":
            cores = min(cores, max(1, math.floor(int(quota) / int(period))))
    except (OSError, ValueError):
        pass  # no cgroup v2 quota here (macOS, Windows, an unlimited container)
    return max(1, cores)


def plan(reserve: int = 0, processes: int = 1, cores: int | None = None,
         environ: Mapping[str, str] = os.environ) -> int:
    """Threads for one training process: ``reserve`` cores kept free (the studio's window), the
    rest shared by the ``processes`` training processes of this machine; at least one."""
    chosen = environ.get("OMP_NUM_THREADS", "").strip()
    if chosen.isdigit() and int(chosen) > 0:
        return int(chosen)
    cores = usable_cores() if cores is None else cores
    return max(1, (cores - reserve) // max(1, processes))


def configure(reserve: int = 0, processes: int = 1) -> int:
    """Set torch's threads to :func:`plan`'s count; returns it."""
    threads = plan(reserve, processes)
    set_count(threads)
    return threads


def set_count(threads: int) -> None:
    """torch's intra-op threads, and its inter-op threads if torch still allows it."""
    import torch

    torch.set_num_threads(threads)
    try:
        torch.set_num_interop_threads(threads)
    except RuntimeError:  # only allowed before the first parallel work of the process
        pass
