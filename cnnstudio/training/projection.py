"""Embeddings drawn in 2D: PCA (fast, live) and t-SNE (slower, on demand), in plain torch.

Both work on a few hundred points on the CPU. PCA axes get a fixed sign (the largest loading of each
axis positive), so the live scatter does not flip from one refresh to the next. t-SNE is the exact
O(N^2) algorithm (van der Maaten and Hinton, 2008), which is fine for N <= 1000 and needs no
extra package.
"""

from __future__ import annotations

import math

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


def _affinities(distances: Tensor, perplexity: float, tries: int = 50) -> Tensor:
    """Symmetric P of t-SNE: per point, a Gaussian whose width gives the wanted perplexity
    (found by bisection on its precision)."""
    count = len(distances)
    target = math.log(perplexity)
    low = torch.zeros(count, 1, dtype=distances.dtype)
    high = torch.full((count, 1), float("inf"), dtype=distances.dtype)
    beta = torch.ones(count, 1, dtype=distances.dtype)
    eye = torch.eye(count, dtype=torch.bool)
    for _ in range(tries):
        logits = (-distances * beta).masked_fill(eye, float("-inf"))
        p = torch.softmax(logits, 1)
        entropy = -(p * torch.log(p.clamp_min(1e-12))).sum(1, keepdim=True)
        too_flat = entropy > target  # widen the precision
        low = torch.where(too_flat, beta, low)
        high = torch.where(too_flat, high, beta)
        beta = torch.where(torch.isinf(high), beta * 2, (low + high) / 2)
    p = (p + p.T) / (2 * count)
    return p.clamp_min(1e-12)


def tsne(x: Tensor, perplexity: float = 30.0, iterations: int = 500, seed: int = 0) -> Tensor:
    """``x`` [N, D] laid out in 2D so that neighbours stay neighbours: [N, 2]."""
    count = len(x)
    if count < 4:
        return pca(x)
    x = x.double()
    distances = torch.cdist(x, x).pow(2)
    p = _affinities(distances / distances.mean().clamp_min(1e-12), min(perplexity, (count - 1) / 3))
    generator = torch.Generator().manual_seed(seed)
    y = torch.randn(count, 2, generator=generator, dtype=torch.float64) * 1e-4
    velocity = torch.zeros_like(y)
    gains = torch.ones_like(y)
    eye = torch.eye(count, dtype=torch.bool)
    for step in range(iterations):
        exaggeration = 12.0 if step < 100 else 1.0
        momentum = 0.5 if step < 100 else 0.8
        kernel = (1 / (1 + torch.cdist(y, y).pow(2))).masked_fill(eye, 0)
        q = (kernel / kernel.sum()).clamp_min(1e-12)
        weights = (exaggeration * p - q) * kernel
        gradient = 4 * (weights.sum(1, keepdim=True) * y - weights @ y)
        same = torch.sign(gradient) == torch.sign(velocity)
        gains = torch.where(same, gains * 0.8, gains + 0.2).clamp_min(0.01)
        velocity = momentum * velocity - 200.0 * gains * gradient
        y = y + velocity
        y = y - y.mean(0)
    return y.float()
