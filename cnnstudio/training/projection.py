"""Embeddings drawn in 2D: PCA (fast, live, in torch) and t-SNE (on demand, by openTSNE).

PCA axes get a fixed sign (the largest loading of each axis positive), so the live scatter does not
flip from one refresh to the next. t-SNE comes from openTSNE (Poličar et al.), a maintained library
with Barnes-Hut and FFT gradients: 2,000 points take about 2 s where the exact O(N^2) algorithm
this module once held took 30-40 s for 300 (``bench/bench_tsne.py``). It is imported when t-SNE is
asked for, so neither training nor the studio's start pays for scipy and scikit-learn.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

ITERATIONS = 150  # after the early exaggeration (see tsne)
EXAGGERATED = 100
THETA = 0.8  # Barnes-Hut's angle: openTSNE's 0.5 costs twice as much for a layout no better to read


def pca(x: Tensor, dims: int = 2) -> Tensor:
    """``x`` [N, D] projected on its first ``dims`` principal axes: [N, dims] (zero-padded if D < dims)."""
    x = x.double()
    centred = x - x.mean(0, keepdim=True)
    _, _, vh = torch.linalg.svd(centred, full_matrices=False)
    axes = vh[:dims]
    signs = torch.sign(axes.gather(1, axes.abs().argmax(1, keepdim=True)))
    axes = axes * torch.where(signs == 0, 1.0, signs)
    points = centred @ axes.T
    if points.shape[1] < dims:
        points = torch.cat([points, points.new_zeros(len(points), dims - points.shape[1])], 1)
    return points.float()


def tsne(x: Tensor | np.ndarray, perplexity: float = 30.0, iterations: int = ITERATIONS, seed: int = 0) -> Tensor:
    """``x`` [N, D] laid out in 2D so that neighbours stay neighbours: [N, 2].

    openTSNE from a PCA start: :data:`EXAGGERATED` steps of early exaggeration, then
    ``iterations``; deterministic for a seed. Fewer than four points, or points that are all the
    same, are drawn by PCA; NaN or infinite values are a ValueError with a sentence.

    The settings are chosen for a view that waits on them (``bench/bench_tsne.py`` times them
    with their neighbourhood quality on MNIST digits): exact neighbours (for a few thousand points
    quicker than the approximate index openTSNE picks from 1,000 on), Barnes-Hut with an angle of
    0.8 (about half the gradient's cost of 0.5), and 250 steps in all where openTSNE's defaults take
    750: with its learning rate of N/12 and a PCA start the clusters have settled by then (the same
    10-NN class accuracy and trustworthiness as openTSNE's defaults, in a third of the time). One
    thread: the window and a training run share the cores.
    """
    from openTSNE import TSNE

    points = torch.as_tensor(x).detach().cpu().double().reshape(len(x), -1)
    if not torch.isfinite(points).all():
        raise ValueError("the embeddings hold values that are not numbers (NaN or infinite): the model diverged")
    count = len(points)
    start = pca(points).double()
    if count < 4 or not start.abs().max() > 0:
        return start.float()
    start = start / start[:, 0].std() * 1e-4  # openTSNE's own PCA start is scaled so
    layout = TSNE(perplexity=min(perplexity, (count - 1) / 3), n_iter=iterations, early_exaggeration_iter=EXAGGERATED,
                  initialization=start.numpy(), random_state=seed, n_jobs=1, negative_gradient_method="bh",
                  theta=THETA, neighbors="exact").fit(points.numpy())
    return torch.from_numpy(np.asarray(layout, dtype=np.float32))
