"""Real faults for the fault tests: a small full disk (tmpfs), and subprocesses of the CLI."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def small_disk(folder: Path, size_kb: int = 512) -> Iterator[Path]:
    """A real tmpfs of ``size_kb`` mounted on ``folder`` (root only); skips the test where mounting
    is not permitted (not root, or a container without the capability)."""
    folder.mkdir(parents=True, exist_ok=True)
    try:
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kb}k", "tmpfs", str(folder)],
                              capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as error:
        pytest.skip(f"cannot mount a small file system here: {error}")
    if done.returncode:
        pytest.skip(f"cannot mount a small file system here: {done.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], capture_output=True, timeout=30)


def fill(folder: Path) -> None:
    """Take every free byte of the file system holding ``folder``."""
    for name, chunk in (("filler", b"\0" * 4096), ("filler2", b"\0")):  # then the last few bytes
        with open(folder / name, "wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(chunk)
            except OSError as error:
                assert error.errno == errno.ENOSPC


# What a finished run folder holds (cnnstudio/runs): no temporary file beside these.
RUN_FILES = ["best.pt", "design.json", "last.pt", "metrics.jsonl", "run.json", "settings.json"]


def entries(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def cli_environment(**env: str) -> dict[str, str]:
    """The environment of a CLI subprocess: this checkout first, one thread, no debug tracebacks."""
    environment = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **env}
    environment.pop("CNNSTUDIO_DEBUG", None)
    return environment


def cli(*args: str, cwd: Path | None = None, timeout: float = 120, **env: str) -> subprocess.CompletedProcess:
    """``python -m cnnstudio ARGS`` in a fresh process (so an abort shows as its exit status)."""
    return subprocess.run([sys.executable, "-m", "cnnstudio", *args], capture_output=True, text=True,
                          cwd=cwd, env=cli_environment(**env), timeout=timeout)


def assert_clean_failure(result: subprocess.CompletedProcess) -> None:
    """Exited by itself with a sentence: not 0, not killed by a signal, no traceback, no internal error."""
    assert result.returncode not in (0, 3) and result.returncode > 0, (result.returncode, result.stderr[-2000:])
    for sign in ("Traceback", "internal error", "terminate called", "Error:"):
        assert sign not in result.stderr, result.stderr[-2000:]


def die_at_once(job: object, emit: object, controls: object) -> None:
    """A training worker's target whose process dies before its engine runs (as a kill would)."""
    os._exit(3)


def die_mid_training(job: object, emit: object, controls: object) -> None:
    """A training worker's target whose process dies (as a kill would) right after its first checkpoint."""
    from cnnstudio.gui.training.worker import train
    from cnnstudio.training import events

    def dying(event: object) -> None:
        emit(event)  # type: ignore[operator]
        if isinstance(event, events.CheckpointWritten):
            os._exit(9)

    train(job, dying, controls)  # type: ignore[arg-type]
