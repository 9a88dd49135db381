"""t-SNE of the Embeddings view: ``cnnstudio.training.projection.tsne`` (openTSNE, tuned) against
openTSNE's own defaults and the exact O(N^2) t-SNE in torch that the module held before (read
from git history, so no copy of it is kept in the package), side by side in one run, each with the
quality of its layout.

Run: ``.venv/bin/python bench/bench_tsne.py [--old-points 300] [--points 300 2000]``. The points
are MNIST test digits (../shared/data/mnist) reduced to 50 features by PCA, as the probe hands
the view its embeddings; ten Gaussian clusters of 64 features when MNIST is absent. Quality: the
10-nearest-neighbour class accuracy of the 2D layout (5-fold) and its trustworthiness (scikit-learn:
how many of a point's 2D neighbours are neighbours in the features). Goal: 2,000 points in under
3 s on an idle 2-core machine, at the quality of openTSNE's defaults; seconds are wall time and
CPU time of this process (t-SNE runs on one thread, so its CPU time moves less with the machine's
load, which is printed).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time
import types
from pathlib import Path

import numpy as np
import torch

from cnnstudio.training.projection import pca, tsne

MNIST = Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist"
OLD_COMMIT = "f525c9a"  # the last commit with the hand-written t-SNE


def clusters(count: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return torch.cat([torch.randn(count // 10, 64, generator=g) + 3 * c for c in range(10)])


def points(count: int) -> tuple[torch.Tensor, np.ndarray, str]:
    """``count`` points with their classes, and what they are."""
    images, labels = MNIST / "t10k-images-idx3-ubyte.gz", MNIST / "t10k-labels-idx1-ubyte.gz"
    if images.exists() and labels.exists():
        from cnnstudio.training.data.idx import read_idx

        x = read_idx(images)[:count].reshape(count, -1).double() / 255
        centred = x - x.mean(0)
        _, _, vh = torch.linalg.svd(centred, full_matrices=False)
        return centred @ vh[:50].T, read_idx(labels)[:count].numpy(), "MNIST digits, 50 PCA features"
    return clusters(count), np.repeat(np.arange(10), count // 10), "10 Gaussian clusters, 64 features"


def quality(x: torch.Tensor, labels: np.ndarray, layout: np.ndarray) -> str:
    from sklearn.manifold import trustworthiness
    from sklearn.model_selection import cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    knn = cross_val_score(KNeighborsClassifier(10), layout, labels, cv=5).mean()
    return f"10-NN accuracy {knn:.3f}, trustworthiness {trustworthiness(x.numpy(), layout, n_neighbors=10):.3f}"


def opentsne_defaults(x: torch.Tensor) -> torch.Tensor:
    """openTSNE as it comes (750 steps, angle 0.5, approximate neighbours from 1,000 points), from
    the same PCA start and on one thread, as the module runs it."""
    from openTSNE import TSNE

    start = pca(x.double()).double()
    start = start / start[:, 0].std() * 1e-4
    return torch.from_numpy(np.asarray(TSNE(initialization=start.numpy(), random_state=0, n_jobs=1).fit(x.double().numpy())))


def old_tsne() -> types.ModuleType | None:
    root = Path(__file__).resolve().parents[1]
    shown = subprocess.run(["git", "-C", str(root), "show", f"{OLD_COMMIT}:cnnstudio/training/projection.py"],
                           check=False, capture_output=True, text=True)
    if shown.returncode:
        return None
    module = types.ModuleType("old_projection")
    exec(compile(shown.stdout, "old_projection.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module


def timed(function, *args) -> tuple[float, float, np.ndarray]:
    """Wall seconds, CPU seconds and the layout."""
    wall, cpu = time.perf_counter(), time.process_time()
    layout = function(*args)
    return time.perf_counter() - wall, time.process_time() - cpu, np.asarray(layout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[300, 2000])
    parser.add_argument("--old-points", type=int, default=300)
    args = parser.parse_args()
    tsne(clusters(40))  # openTSNE's import and its first call's set-up, outside the timings
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for count in args.points:
        x, labels, what = points(count)
        print(f"{count} points ({what}):")
        for name, function in (("projection.tsne", tsne), ("openTSNE defaults", opentsne_defaults)):
            wall, cpu, layout = timed(function, x)
            print(f"  {name:<18} {wall:6.2f} s ({cpu:5.2f} s CPU)  {quality(x, labels, layout)}")
    old = old_tsne()
    if old is None:
        print(f"the old t-SNE ({OLD_COMMIT}) is not in this checkout's history: skipped")
        return
    x, labels, _ = points(args.old_points)
    new, before = timed(tsne, x), timed(old.tsne, x.float())
    print(f"{args.old_points} points: exact torch t-SNE {before[0]:.2f} s ({quality(x, labels, before[2])}), "
          f"projection.tsne {new[0]:.2f} s ({quality(x, labels, new[2])}): {before[0] / new[0]:.1f}x faster")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
