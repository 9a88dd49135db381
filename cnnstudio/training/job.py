"""A training job for a cluster: the design, a torchrun launch script and instructions, in one folder.

The studio's "Export training job" writes it; the same script runs on one machine or several.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from cnnstudio.core.atomic import atomic_write_text
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import dumps
from cnnstudio.core.display import file_stem
from cnnstudio.training.defaults import with_defaults

SCRIPT = """#!/usr/bin/env bash
# Train "{name}" with CNN Studio: torchrun starts one process per GPU (DistributedDataParallel,
# NCCL; gloo on CPUs). Only rank 0 writes metrics.jsonl and checkpoints, to runs/{stem}/.
#
#   one machine, every GPU:        ./run.sh
#   one machine, 4 CPU processes:  NPROC_PER_NODE=4 ./run.sh --device cpu
#   two machines (run on each):    NNODES=2 NODE_RANK=0 MASTER_ADDR=host0 ./run.sh   # NODE_RANK=1 on the other
#
# Extra arguments go to `cnnstudio train` (e.g. --epochs 20, --resume runs/{stem}/last.pt).
set -euo pipefail
cd "$(dirname "$0")"
exec torchrun \\
  --nnodes "${{NNODES:-1}}" --node-rank "${{NODE_RANK:-0}}" \\
  --master-addr "${{MASTER_ADDR:-127.0.0.1}}" --master-port "${{MASTER_PORT:-29500}}" \\
  --nproc-per-node "${{NPROC_PER_NODE:-{processes}}}" \\
  -m cnnstudio train design.json --out {out} "$@"
"""

README = """Training job: {name}

Files: design.json (the network and its training settings), run.sh (the launch command).

On every machine:
1. Install CNN Studio and its dependencies (the same versions on all machines).
2. Make the data reachable at the same path: {data}
3. Copy this folder, then start ./run.sh (see its header for one or several machines).

The global batch size is {batch} (split evenly across the processes). A run on N processes takes the
same steps as one process with that batch. Checkpoints go to runs/{stem}/last.pt on the machine
with NODE_RANK=0; resume with ./run.sh --resume runs/{stem}/last.pt.

Command: {command}
"""


@dataclass(frozen=True)
class Job:
    folder: Path
    command: str  # the torchrun command run.sh runs, with its defaults filled in


def write_job(design: Design, folder: Path, processes_per_node: int | str = "gpu") -> Job:
    """Write design.json, run.sh and README.txt into ``folder`` (created if needed); raises OSError."""
    folder.mkdir(parents=True, exist_ok=True)
    stem = file_stem(design.name)
    out = shlex.quote(f"runs/{stem}")
    command = (f"torchrun --nnodes 1 --node-rank 0 --master-addr 127.0.0.1 --master-port 29500 "
               f"--nproc-per-node {processes_per_node} -m cnnstudio train design.json --out {out}")
    training = design.training
    atomic_write_text(folder / "design.json", dumps(design))
    script = folder / "run.sh"
    atomic_write_text(script, SCRIPT.format(name=design.name, stem=stem, processes=processes_per_node, out=out))
    script.chmod(script.stat().st_mode | 0o111)
    generated = with_defaults(training, design).get("data", "synthetic-shapes")  # the design's default source
    atomic_write_text(folder / "README.txt", README.format(
        name=design.name, stem=stem, data=training.get("data", f"{generated} (generated, nothing to copy)"),
        batch=training.get("batch_size", 64), command=command))
    return Job(folder, command)
