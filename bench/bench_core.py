"""Core benchmarks: validation time by design size, and compiled vs hand-written training speed.

Run: ``.venv/bin/python bench/bench_core.py`` (or ``make bench``). Measurements that are
compared are taken side by side, interleaved, in one run, because these machines are noisy.

Goals (issue 7): re-validating a 1,000-node design under 20 ms; a compiled design trains at
least 0.97 as fast as hand-written modules of the same layers.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import torch
from torch import nn

from cnnstudio.core.analysis import analyze
from cnnstudio.core.compiler import build_model
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design

ROOT = Path(__file__).resolve().parents[1]


def residual_design(nodes: int) -> Design:
    """A realistic branching design of about ``nodes`` nodes: residual stages of conv-BN-ReLU."""
    design = Design(f"{nodes} nodes")
    previous = design.add_node("Input", {"shape": [16, 32, 32]}).id
    while len(design) + 6 <= nodes:
        skip = previous
        for layer, params in (
            ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": "same"}),
            ("BatchNorm2d", {}),
            ("ReLU", {}),
            ("Conv2d", {"out_channels": 16, "kernel_size": 3, "padding": "same"}),
            ("BatchNorm2d", {}),
        ):
            node = design.add_node(layer, params).id
            design.connect(previous, node)
            previous = node
        merge = design.add_node("Add").id
        design.connect(skip, merge)
        design.connect(previous, merge)
        previous = merge
    while len(design) < nodes:
        node = design.add_node("ReLU").id
        design.connect(previous, node)
        previous = node
    return design


def time_validation(nodes: int, repeats: int) -> float:
    design = residual_design(nodes)
    assert analyze(design).valid
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        analyze(design)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


class HandWrittenFigure21(nn.Module):
    """The Figure 21 network as one would write it by hand (logits out, like the compiled one)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Conv2d(6, 12, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(12, 12, 5), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(108, 256), nn.ReLU(), nn.Linear(256, 10))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def figure21_logits() -> Design:
    design = load_design(ROOT / "resources" / "templates" / "figure21.json")
    design.remove_node("softmax")  # train on logits, as the hand-written model does
    return design


def images_per_second(model: nn.Module, batches: list[tuple[torch.Tensor, torch.Tensor]]) -> float:
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    for images, labels in batches:
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(images), labels).backward()
        optimizer.step()
    return sum(len(b[0]) for b in batches) / (time.perf_counter() - start)


def compare_training(rounds: int, steps: int, batch: int) -> tuple[float, float, float]:
    torch.manual_seed(0)
    compiled = build_model(figure21_logits())
    hand = HandWrittenFigure21()
    assert sum(p.numel() for p in compiled.parameters()) == sum(p.numel() for p in hand.parameters())
    batches = [(torch.randn(batch, 1, 28, 28), torch.randint(0, 10, (batch,))) for _ in range(steps)]
    images_per_second(compiled, batches[:5])  # warm-up
    images_per_second(hand, batches[:5])
    compiled_rates, hand_rates = [], []
    for _ in range(rounds):  # interleaved, so drift hits both alike
        compiled_rates.append(images_per_second(compiled, batches))
        hand_rates.append(images_per_second(hand, batches))
    ratios = [c / h for c, h in zip(compiled_rates, hand_rates)]
    return statistics.median(compiled_rates), statistics.median(hand_rates), statistics.median(ratios)


def main() -> None:
    print("Validation (analyze) of a branching residual design, median:")
    for nodes, repeats in ((100, 50), (1_000, 20), (10_000, 5)):
        seconds = time_validation(nodes, repeats)
        goal = "  (goal < 20 ms)" if nodes == 1_000 else ""
        print(f"  {nodes:>6,} nodes: {seconds * 1e3:7.2f} ms{goal}")
    print(f"\nTraining step throughput, Figure 21, batch 64, CPU ({torch.get_num_threads()} threads):")
    compiled, hand, ratio = compare_training(rounds=7, steps=40, batch=64)
    print(f"  compiled (torch.fx): {compiled:8.0f} images/s")
    print(f"  hand-written:        {hand:8.0f} images/s")
    print(f"  ratio compiled / hand-written: {ratio:.3f}  (goal >= 0.97)")


if __name__ == "__main__":
    main()
