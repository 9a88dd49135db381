"""Issue 23, D15: t-SNE by openTSNE (its speed is bench/bench_tsne.py's), clusters kept apart,
the same layout for the same seed, a sentence for NaN; and "Compute t-SNE" is on as soon as a
snapshot is shown, whichever method the menu shows."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.training.projection import pca, tsne

pytest.importorskip("openTSNE")


@settings(max_examples=4, deadline=None)
@given(clusters=st.integers(2, 5), size=st.integers(8, 30), dims=st.integers(1, 40), seed=st.integers(0, 2**16))
def test_tsne_keeps_clusters_apart_and_repeats_for_a_seed(clusters: int, size: int, dims: int, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    x = torch.cat([torch.randn(size, dims, generator=g) + 12 * i for i in range(clusters)])
    y = tsne(x, iterations=150, seed=seed)
    assert y.shape == (clusters * size, 2) and torch.isfinite(y).all()
    centres = torch.stack([y[size * i:size * (i + 1)].mean(0) for i in range(clusters)])
    spread = max(float(y[size * i:size * (i + 1)].std(0).norm()) for i in range(clusters))
    assert float(torch.pdist(centres).min()) > spread
    assert torch.equal(y, tsne(x, iterations=150, seed=seed))


def test_degenerate_inputs_get_a_layout_or_a_sentence() -> None:
    assert tsne(torch.zeros(20, 3)).shape == (20, 2)  # all the same point
    assert tsne(np.ones((3, 7))).shape == (3, 2)  # too few for t-SNE: PCA
    bad = torch.randn(20, 3)
    bad[4, 1] = float("nan")
    with pytest.raises(ValueError, match="not numbers"):
        tsne(bad)


def _snapshot(step: int) -> SimpleNamespace:
    g = torch.Generator().manual_seed(step)
    features = torch.cat([torch.randn(12, 6, generator=g) + 6 * i for i in range(2)])
    embedding = SimpleNamespace(points=features[:, :2], features=features, labels=torch.arange(24) // 12,
                                images=torch.zeros(24, 1, 4, 4), node="fc")
    return SimpleNamespace(step=step, epoch=1, embedding=embedding)


def test_compute_tsne_is_on_with_pca_shown(qtbot) -> None:
    from cnnstudio.gui.views.embeddings import Embeddings

    view = Embeddings()
    qtbot.addWidget(view)
    view.show()
    assert not view.compute.isEnabled()  # nothing to lay out yet
    context = SimpleNamespace(task="metric", class_name=str)
    view.show_snapshot(_snapshot(10), context)
    assert view.method.currentText() == "PCA" and view.compute.isEnabled()
    view.compute.click()
    qtbot.waitUntil(lambda: 10 in view.tsne, timeout=60_000)
    assert view.method.currentText() == "t-SNE" and not view.compute.isEnabled()
    view.method.setCurrentIndex(0)
    assert not view.compute.isEnabled()  # this snapshot has its t-SNE
    view.show_snapshot(_snapshot(20), context)
    assert view.compute.isEnabled()


def test_the_quick_settings_lay_out_as_well_as_opentsnes_defaults() -> None:
    """D15: the view's settings (250 steps, angle 0.8, exact neighbours) keep the layout's quality:
    overlapping clusters' trustworthiness within 0.01 of openTSNE's defaults (750 steps)."""
    from openTSNE import TSNE
    from sklearn.manifold import trustworthiness

    g = torch.Generator().manual_seed(3)
    x = torch.cat([torch.randn(50, 20, generator=g) + 2.5 * torch.randn(20, generator=g) for _ in range(8)]).double()
    ours = tsne(x).numpy()
    start = pca(x).double()  # the same start for both: only the steps differ
    theirs = np.asarray(TSNE(initialization=(start / start[:, 0].std() * 1e-4).numpy(), random_state=0, n_jobs=1).fit(x.numpy()))
    assert trustworthiness(x.numpy(), ours, n_neighbors=10) >= trustworthiness(x.numpy(), theirs, n_neighbors=10) - 0.01
