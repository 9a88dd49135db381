"""Embeddings drawn in 2D: PCA (fast, live, in torch) and t-SNE (on demand, by openTSNE).

PCA axes get a fixed sign (the largest loading of each axis positive), so the live scatter does not
flip from one refresh to the next. t-SNE comes from openTSNE (Poličar et al.), a maintained library
with Barnes-Hut and FFT gradients: 2,000 points take seconds where the exact O(N^2) algorithm this
module once held took 30-40 s for 300 (``bench/bench_tsne.py``). It is imported when t-SNE is
asked for, so neither training nor the studio's start pays for scipy and scikit-learn.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


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


def tsne(x: Tensor | np.ndarray, perplexity: float = 30.0, iterations: int = 375, seed: int = 0) -> Tensor:
    """``x`` [N, D] laid out in 2D so that neighbours stay neighbours: [N, 2].

    openTSNE (Barnes-Hut below 10,000 points, FFT above) from a PCA start: a third as many steps
    of early exaggeration, then ``iterations``; deterministic for a seed. With openTSNE's learning
    rate of N/12, 500 steps in all settle the clusters of a few thousand points. Fewer than four
    points, or points that are all the same, are drawn by PCA; NaN or infinite values are a
    ValueError with a sentence.
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
    layout = TSNE(perplexity=min(perplexity, (count - 1) / 3), n_iter=iterations, early_exaggeration_iter=iterations // 3,
                  initialization=start.numpy(), random_state=seed, n_jobs=1, negative_gradient_method="auto").fit(points.numpy())
    return torch.from_numpy(np.asarray(layout, dtype=np.float32))
