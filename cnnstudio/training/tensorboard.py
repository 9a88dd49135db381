"""Logging a run in TensorBoard's format, so ``tensorboard --logdir runs`` shows it.

Optional: it needs the ``tensorboard`` package (``pip install 'cnnstudio[tensorboard]'``).
The board listens to the trainer's events, so the training loop knows nothing about it.
"""

from __future__ import annotations

from pathlib import Path

from cnnstudio.training import events
from cnnstudio.training.errors import TrainingError

FOLDER = "tensorboard"


class Board:
    """Writes the scalars of step and epoch events; closes on ``Finished``."""

    def __init__(self, out_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise TrainingError('"tensorboard": true needs the tensorboard package: '
                                "pip install 'cnnstudio[tensorboard]' (or set it to false)") from None
        self.writer = SummaryWriter(str(out_dir / FOLDER))

    def __call__(self, event: events.Event) -> None:
        if isinstance(event, events.StepMetrics):
            for tag, value in (("loss", event.loss), ("lr", event.lr), ("images_per_s", event.samples_per_s),
                               *event.stats.items()):
                self.writer.add_scalar(f"step/{tag}", value, event.global_step)
        elif isinstance(event, events.EpochMetrics):
            for tag, value in event.record().items():
                if isinstance(value, (int, float)) and tag != "epoch":
                    self.writer.add_scalar(f"epoch/{tag}", value, event.epoch)
        elif isinstance(event, events.Finished):
            self.writer.close()
