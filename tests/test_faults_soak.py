"""Issue 13: the kill soak. Training is killed (SIGKILL) at random moments, at least 30 times, and
resumed each time; every resume must work, and at the end the run folder holds exactly
``last.pt`` and ``metrics.jsonl`` with one line per epoch, the same numbers as a run that was
never interrupted.

Starting Python and torch for each of 30+ runs would take minutes, so a helper process imports
them once and forks a fresh child per run (it never runs torch itself, so forking is safe); the
test kills the children, never the helper, at random delays after their start.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnnstudio.core.designfile import save_design
from cnnstudio.training import checkpoint
from fault_helpers import REPO, RUN_FILES
from training_helpers import classifier

KILLS = 32

ZYGOTE = r"""
import json, os, sys
import torch  # imported once, with everything a run imports; the children inherit them
import cnnstudio.commands.train, cnnstudio.training.engine, cnnstudio.training.tasks  # noqa: E401
import cnnstudio.runs.recorder, cnnstudio.runs.snapshots  # noqa: E401  the run folder's writers
from cnnstudio.cli import main
from cnnstudio.training.data.registry import kinds
kinds()  # the data sources register on first use
# What torch imports at its first optimizer step (its compiler's modules: about a second).
_layer = torch.nn.Linear(2, 2)
_optimizer = torch.optim.SGD(_layer.parameters(), lr=0.1)
_layer(torch.ones(1, 2)).sum().backward()
_optimizer.step()
for line in sys.stdin:
    command, *args = json.loads(line)
    if command == "run":
        log, argv = args
        pid = os.fork()
        if pid == 0:
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            code = 1
            try:
                code = main(argv)
            finally:
                sys.stdout.flush(); sys.stderr.flush()
                os._exit(code)
        print(pid, flush=True)
    else:  # wait for a child: its exit status, or -signal
        _, status = os.waitpid(int(args[0]), 0)
        print(os.waitstatus_to_exitcode(status), flush=True)
"""


class Zygote:
    def __init__(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
        env.pop("CNNSTUDIO_DEBUG", None)
        self.process = subprocess.Popen([sys.executable, "-c", ZYGOTE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        text=True, env=env)

    def ask(self, *command: object) -> int:
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return int(self.process.stdout.readline())

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _metrics(run: Path) -> list[dict]:
    lines = (run / "metrics.jsonl").read_text().splitlines() if (run / "metrics.jsonl").exists() else []
    return [json.loads(line) for line in lines]


def _comparable(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.faults
def test_kill_9_at_random_moments_always_resumes_consistently(tmp_path: Path) -> None:
    design = classifier()
    design.training = {"batch_size": 32, "data_options": {"count": 160}, "device": "cpu",
                       "seed": 3}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    log = str(tmp_path / "log.txt")
    rng = random.Random(13)
    zygote = Zygote()

    def train(out: Path, epochs: int, resume: bool) -> int:
        """Start a run (a fork of the helper); its pid. Epochs can grow on resume (no schedule)."""
        extra = ["--resume", str(out / "last.pt")] if resume and (out / "last.pt").exists() else []
        return zygote.ask("run", log, ["train", str(path), "--out", str(out), "--epochs", str(epochs), *extra])

    try:
        started = time.monotonic()
        seen: set[int] = set()
        for _ in range(KILLS):
            pid = train(killed, 100_000, resume=True)  # never finishes: every kill falls in a run
            time.sleep(rng.uniform(0.05, 0.6))
            os.kill(pid, signal.SIGKILL)
            assert zygote.ask("wait", pid) == -signal.SIGKILL, Path(log).read_text()[-3000:]
            if (killed / "last.pt").exists():
                done = checkpoint.load(killed / "last.pt")["epoch"]  # never damaged, whenever killed
                seen.add(done)
                complete = [r["epoch"] for r in _metrics(killed)][:done]
                assert complete == list(range(1, done + 1))  # at most a line ahead, repaired next start
        # The last start repairs the folder and finishes the run, two epochs on.
        epochs = max(seen, default=0) + 2
        assert zygote.ask("wait", train(killed, epochs, resume=True)) == 0, Path(log).read_text()[-3000:]
        elapsed = time.monotonic() - started
        clean_start = time.monotonic()
        assert zygote.ask("wait", train(clean, epochs, resume=False)) == 0
        clean_seconds = time.monotonic() - clean_start
    finally:
        zygote.close()
    print(f"clean run {clean_seconds:.1f} s; {KILLS} kills, {elapsed:.0f} s, {len(seen)} distinct checkpoint epochs: {sorted(seen)}")
    assert len(seen) > 3  # progress was made between kills, and kept (time is bounded: 32 x 0.6 s at most)
    assert sorted(p.name for p in killed.iterdir()) == RUN_FILES
    expected = _comparable(_metrics(clean))
    assert [r["epoch"] for r in expected] == list(range(1, epochs + 1))
    assert _comparable(_metrics(killed)) == expected
    assert checkpoint.load(killed / "last.pt")["epoch"] == epochs
    assert "internal error" not in Path(log).read_text() and "Traceback" not in Path(log).read_text()
