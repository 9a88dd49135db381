"""How ``--jobs K`` shares one machine among K sweep workers: their trials, their CPU threads and
their GPUs. Pure functions of the counts, so every machine shape is testable on any machine.

Workers are processes (torch's thread pool and Python's lock are per process). They never hold
more threads together than the machine has cores: K above the cores starts one worker per core
instead, since a trial's threads waiting for one another at every step train slower than fewer
trials at once. On a machine with GPUs each worker sees one (``CUDA_VISIBLE_DEVICES``), taken in
turn from the GPUs this process may use, so K workers on G GPUs put K/G trials on each.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """One worker process: how many trials it runs, torch's threads in it, and the GPU it sees
    (a ``CUDA_VISIBLE_DEVICES`` value; None leaves the devices as they are)."""

    trials: int
    threads: int
    gpu: str | None = None


def plan_jobs(jobs: int, trials: int, cores: int, gpus: list[str] | tuple[str, ...] = ()) -> list[Job]:
    """The workers for ``--jobs jobs --trials trials``: no more than the trials or the cores, the
    trials shared as evenly as they go, the cores divided between them, the GPUs dealt in turn."""
    workers = max(1, min(jobs, trials, cores))
    threads = max(1, cores // workers)
    return [Job(trials // workers + (index < trials % workers), threads, gpus[index % len(gpus)] if gpus else None)
            for index in range(workers)]


def visible_gpus(count: int, environ: Mapping[str, str]) -> list[str]:
    """The GPU ids a worker's ``CUDA_VISIBLE_DEVICES`` may name: within the user's own list when one
    is set (so ``CUDA_VISIBLE_DEVICES=2,3`` hands out 2 and 3, not 0 and 1), else 0 to count - 1."""
    listed = environ.get("CUDA_VISIBLE_DEVICES")
    if listed is None:
        return [str(index) for index in range(count)]
    return [part.strip() for part in listed.split(",") if part.strip()][:count]


def shares_gpus(devices: Iterable[str]) -> bool:
    """Whether the workers get a GPU each, for trials that train on ``devices`` (a design's ``device``
    setting, or every choice of a swept one): yes where one may be "auto" or "cuda" (the GPU a worker
    sees), but never where one is "cuda:N" (an index a worker that sees one GPU has not); "cpu" and
    "mps" trials are not moved by it."""
    devices = list(devices)
    return any(d in ("auto", "cuda") for d in devices) and not any(d.startswith("cuda:") for d in devices)
