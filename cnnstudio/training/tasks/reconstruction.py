"""Reconstruction (autoencoders): MSE between output and input.

Variants: a grayscale target for a one-channel output; denoising (Gaussian or masking noise on
the input the network sees, the clean input as target); sparse (lambda x the mean absolute value
of a chosen node's output, usually the code, added to the loss).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F

from cnnstudio.training.data.convert import LUMA
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.tasks.base import Batch, Meter, Task


class Reconstruction(Task):
    name = "reconstruction"
    arity = (1, None)
    wants_logits = False

    def __init__(self, *args: Any):
        super().__init__(*args)
        source = self.analysis.nodes[self.analysis.inputs[0]].shape
        self.target_shape = (1, *source[1:]) if self.options.grayscale_target else source
        for node, shape in zip(self.outputs, self.shapes):
            if shape != self.target_shape:
                raise TrainingError(
                    f"reconstruction compares the output with the input, so the output '{node}' must have the "
                    f"shape {list(self.target_shape)} (it has {list(shape)})"
                )
        sparse = self.options.sparse_node
        if sparse is not None and sparse not in self.analysis.nodes:
            raise TrainingError(f"\"sparse_node\" names '{sparse}', which is not a node of the design")

    @property
    def taps(self) -> list[str]:
        return [self.options.sparse_node] if self.options.sparse_node else []

    def target(self, batch: Batch) -> Tensor:
        clean = batch.clean if batch.clean is not None else batch.inputs[0]
        if self.options.grayscale_target and clean.shape[1] == 3:
            return (clean * torch.tensor(LUMA, device=clean.device).view(1, 3, *[1] * (clean.ndim - 2))).sum(1, keepdim=True)
        return clean

    def corrupt(self, batch: Batch) -> Batch:
        """Noise on the first input only; the target is computed from the clean ``batch``."""
        o, x = self.options, batch.inputs[0]
        if o.noise == "gaussian":
            noisy = x + o.noise_level * torch.randn_like(x)
        elif o.noise == "masking":
            noisy = x * (torch.rand_like(x) >= o.noise_level)
        else:
            return batch
        return replace(batch, inputs=[noisy, *batch.inputs[1:]], clean=x)

    def output_losses(self, outputs: list[Tensor], batch: Batch) -> list[Tensor]:
        target = self.target(batch)
        return [F.mse_loss(out.float(), target) for out in outputs]

    def loss(self, outputs: list[Tensor], taps: list[Tensor], batch: Batch) -> tuple[Tensor, dict[str, float]]:
        total, stats = super().loss(outputs, taps, batch)
        if taps:
            penalty = taps[0].float().abs().mean()
            total = total + self.options.sparse_lambda * penalty
            stats = {**stats, "sparsity_l1": float(penalty.detach())}
        return total, stats

    def meter(self) -> Meter:
        return ReconstructionMeter(self)

    def predict(self, outputs: list[Tensor]) -> Tensor:
        return outputs[0].float()


class ReconstructionMeter(Meter):
    def __init__(self, task: Reconstruction):
        self.task = task
        self.squared, self.count = 0.0, 0

    def update(self, outputs: list[Tensor], batch: Batch) -> None:
        self.squared += float(((outputs[0].float() - self.task.target(batch)) ** 2).sum())
        self.count += outputs[0].numel()

    def compute(self) -> dict[str, Any]:
        mse = self.squared / max(self.count, 1)
        return {"mse": mse, "psnr": 10 * math.log10(1 / max(mse, 1e-10))}  # images are in [0, 1]
