"""The plain PyTorch script `cnnstudio train` is measured against (bench/bench_cli.py).

It does what the command does with Figure 21's template on an MNIST folder, the way anyone would
write it with torch alone: read the IDX files, keep a random 20% for validation, train the same
network (nn.Sequential) one epoch with Adam and a one-cycle schedule (lr 0.01, batch 64), then
validate. Run: ``python bench/plain_mnist.py MNIST_FOLDER``; prints the validation accuracy.
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F


def read_idx(path: Path) -> torch.Tensor:
    raw = gzip.open(path, "rb").read() if path.suffix == ".gz" else path.read_bytes()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return torch.frombuffer(bytearray(raw[4 + 4 * dims :]), dtype=torch.uint8).reshape(shape)


def main(folder: Path) -> None:
    torch.manual_seed(0)
    images = torch.cat([read_idx(p) for p in sorted(folder.glob("*-images-idx3-ubyte*"))]).unsqueeze(1)
    labels = torch.cat([read_idx(p) for p in sorted(folder.glob("*-labels-idx1-ubyte*"))]).long()
    order = torch.randperm(len(images))
    val_count = round(len(images) * 0.2)
    val, train = order[:val_count], order[val_count:]
    model = nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.Conv2d(6, 12, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(12, 12, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(108, 256), nn.ReLU(), nn.Linear(256, 10),
    )
    batch = 64
    steps = len(train) // batch
    optimizer = torch.optim.Adam(model.parameters(), 0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 0.01, total_steps=steps)
    model.train()
    shuffled = train[torch.randperm(len(train))]
    for step in range(steps):
        index = shuffled[step * batch : (step + 1) * batch]
        loss = F.cross_entropy(model(images[index].float() / 255), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()
        loss.item()  # what a progress line reads
    model.eval()
    correct = 0
    with torch.no_grad():
        for start in range(0, len(val), 256):
            index = val[start : start + 256]
            correct += int((model(images[index].float() / 255).argmax(1) == labels[index]).sum())
    print(f"validation accuracy {correct / len(val):.4f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
