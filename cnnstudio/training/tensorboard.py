"""Logging a run in TensorBoard's format, so ``tensorboard --logdir runs`` shows it.

Optional: it needs the ``tensorboard`` package (``pip install 'cnnstudio[tensorboard]'``).
The board listens to the trainer's events, so the training loop knows nothing about it.
"""

from __future__ import annotations

from pathlib import Path

from cnnstudio.training import events
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.listeners import Callback

FOLDER = "tensorboard"


class Board(Callback):
    """Writes the scalars of step and epoch events; closes on ``Finished``."""

    def __init__(self, out_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise TrainingError('"tensorboard": true needs the tensorboard package: '
                                "pip install 'cnnstudio[tensorboard]' (or set it to false)") from None
        self.writer = SummaryWriter(str(out_dir / FOLDER))

    def on_step(self, event: events.StepMetrics) -> None:
        for tag, value in (("loss", event.loss), ("lr", event.lr), ("images_per_s", event.samples_per_s),
                           *event.stats.items()):
            self.writer.add_scalar(f"step/{tag}", value, event.global_step)

    def on_epoch(self, event: events.EpochMetrics) -> None:
        for tag, value in event.record().items():
            if isinstance(value, (int, float)) and tag != "epoch":
                self.writer.add_scalar(f"epoch/{tag}", value, event.epoch)

    def on_finished(self, event: events.Finished) -> None:
        self.writer.close()
