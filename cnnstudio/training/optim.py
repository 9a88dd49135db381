"""Optimizers and learning-rate schedules from the settings; schedules step once per batch."""

from __future__ import annotations

import torch
from torch import nn

from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import TrainingSettings


def make_optimizer(model: nn.Module, settings: TrainingSettings) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise TrainingError("the design has nothing to train: no layer with weights, or every such layer is frozen")
    if settings.optimizer == "sgd":
        return torch.optim.SGD(params, settings.lr, momentum=settings.momentum,
                               nesterov=settings.nesterov and settings.momentum > 0, weight_decay=settings.weight_decay)
    optimizer = torch.optim.AdamW if settings.optimizer == "adamw" else torch.optim.Adam
    return optimizer(params, settings.lr, weight_decay=settings.weight_decay)


def make_schedule(optimizer: torch.optim.Optimizer, settings: TrainingSettings, steps_per_epoch: int) -> torch.optim.lr_scheduler.LRScheduler | None:
    total = settings.epochs * steps_per_epoch
    if settings.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, settings.step_size * steps_per_epoch, settings.gamma)
    if settings.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, total)
    if settings.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, settings.lr, total_steps=total)
    return None
