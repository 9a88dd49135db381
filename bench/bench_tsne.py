"""t-SNE of the Embeddings view: openTSNE (``cnnstudio.training.projection.tsne``) against the exact
O(N^2) t-SNE in torch that the module held before (read from git history, so no copy of it is kept
in the package), side by side in one run.

Run: ``.venv/bin/python bench/bench_tsne.py [--old-points 300] [--points 300 2000]``. Ten Gaussian
clusters of 64 features, as an embedding layer gives. Goal: 2,000 points in under 3 s on an idle
2-core machine; the load average is printed, since other programs slow both sides alike.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import types
from pathlib import Path

import torch

from cnnstudio.training.projection import tsne

OLD_COMMIT = "f525c9a"  # the last commit with the hand-written t-SNE


def clusters(count: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.cat([torch.randn(count // 10, 64, generator=g) + 3 * c for c in range(10)])


def old_tsne() -> types.ModuleType | None:
    root = Path(__file__).resolve().parents[1]
    shown = subprocess.run(["git", "-C", str(root), "show", f"{OLD_COMMIT}:cnnstudio/training/projection.py"],
                           check=False, capture_output=True, text=True)
    if shown.returncode:
        return None
    module = types.ModuleType("old_projection")
    exec(compile(shown.stdout, "old_projection.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module


def timed(function, *args) -> float:
    start = time.perf_counter()
    function(*args)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[300, 2000])
    parser.add_argument("--old-points", type=int, default=300)
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for count in args.points:
        print(f"openTSNE  {count:5d} points: {timed(tsne, clusters(count)):6.2f} s")
    old = old_tsne()
    if old is None:
        print(f"the old t-SNE ({OLD_COMMIT}) is not in this checkout's history: skipped")
        return
    new = timed(tsne, clusters(args.old_points))
    before = timed(old.tsne, clusters(args.old_points))
    print(f"{args.old_points} points: exact torch t-SNE {before:.2f} s, openTSNE {new:.2f} s ({before / new:.1f}x faster)")


if __name__ == "__main__":
    main()
