"""synthetic-sequences: random bit strings labelled by whether they contain a pattern (1011).

The chapter's first example of a 1D convolution: a Conv1d whose kernel matches the pattern finds
it anywhere in the sequence. About half the sequences contain it, so accuracy means something.
"""

from __future__ import annotations

import torch
from torch import Tensor

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.generated_options import SequenceOptions, parse_options
from cnnstudio.training.data.registry import SourceKind, generated, register
from cnnstudio.training.errors import TrainingError


def load(shape: tuple[int, ...], options: dict, seed: int) -> TensorData:
    """Sequences of the Input's shape [1, L], labelled 1 when they contain the pattern."""
    opts: SequenceOptions = parse_options("synthetic-sequences", options)
    if len(shape) != 2 or shape[0] != 1:
        raise TrainingError(f"synthetic-sequences gives one-channel sequences, so the Input must have shape [1, L]; it is {list(shape)}")
    length = shape[1]
    pattern = torch.tensor([int(b) for b in opts.pattern], dtype=torch.float32)
    if length < len(pattern):
        raise TrainingError(f"the Input's length ({length}) is shorter than the pattern '{opts.pattern}'")
    gen = torch.Generator().manual_seed(seed)
    bits = torch.randint(0, 2, (opts.count, length), generator=gen).float()
    wanted = torch.rand(opts.count, generator=gen) < 0.5
    # Positives get the pattern at a random place; negatives lose every occurrence, one bit at a time.
    starts = torch.randint(0, length - len(pattern) + 1, (opts.count,), generator=gen)
    columns = starts.unsqueeze(1) + torch.arange(len(pattern))
    placed = bits.scatter(1, columns, pattern.expand(opts.count, -1))
    bits = torch.where(wanted.unsqueeze(1), placed, bits)
    for _ in range(4 * length):
        hits = _occurrences(bits, pattern) & ~wanted.unsqueeze(1)
        rows = hits.any(1)
        if not rows.any():
            break
        first = hits.float().argmax(1)[rows] + len(pattern) - 1
        bits[rows, first] = 1 - bits[rows, first]
    labels = _occurrences(bits, pattern).any(1).long()
    return TensorData(bits.unsqueeze(1), labels, opts.class_names)


def _occurrences(bits: Tensor, pattern: Tensor) -> Tensor:
    """[N, L - P + 1]: True where the pattern starts."""
    windows = bits.unfold(1, len(pattern), 1)
    return (windows == pattern).all(-1)


register(SourceKind("synthetic-sequences", "synthetic-sequences", "generated offline: 1D bit strings, labelled by whether they contain a pattern (1011); Input [1, L]", generated(load), "label", SequenceOptions))
