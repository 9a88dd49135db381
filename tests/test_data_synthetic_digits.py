"""synthetic-digits: ten classes offline for the MNIST-shaped designs, seeded, and learnable."""

from __future__ import annotations

import torch
from torch import nn

from cnnstudio.training.data.synthetic_digits import glyphs, load


def test_the_same_seed_gives_the_same_digits_and_another_seed_others() -> None:
    first, again, other = (load((1, 28, 28), {"count": 64}, seed) for seed in (0, 0, 1))
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    assert not torch.equal(first.images, other.images)


def test_ten_distinct_glyphs_and_every_class_drawn() -> None:
    drawn = glyphs().flatten(1)
    assert drawn.shape[0] == 10 and (drawn.sum(1) > 20).all()  # each holds ink
    assert (torch.cdist(drawn, drawn) + torch.eye(10) * 1e9).min() > 1.0  # no two alike
    data = load((3, 32, 32), {"count": 500, "digits": ["1", "7"]}, 0)
    assert data.images.shape == (500, 3, 32, 32) and data.classes == ["1", "7"]
    assert set(data.labels.tolist()) == {0, 1} and 0 <= data.images.min() and data.images.max() <= 1


def test_each_sample_is_warped_its_own_way() -> None:
    """Two samples of one digit differ by more than the noise: the warp varies them."""
    data = load((1, 28, 28), {"count": 200, "noise": 0.0}, 0)
    sevens = data.images[data.labels == 7].flatten(1)
    assert len(sevens) >= 2 and (torch.cdist(sevens, sevens) + torch.eye(len(sevens)) * 1e9).min() > 0.5


def test_a_small_network_learns_the_digits_far_above_chance() -> None:
    torch.manual_seed(0)
    train, held = load((1, 28, 28), {"count": 3000}, 0), load((1, 28, 28), {"count": 500}, 1)
    model = nn.Sequential(nn.Conv2d(1, 8, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 5), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(256, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(4):
        for batch in torch.randperm(3000).split(64):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(train.images[batch]), train.labels[batch]).backward()
            optimizer.step()
    with torch.no_grad():
        accuracy = (model(held.images).argmax(1) == held.labels).float().mean().item()
    assert accuracy > 0.8  # chance is 0.1
