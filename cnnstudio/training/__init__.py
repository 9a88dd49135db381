"""The Qt-free training engine: settings, data sources, tasks, the trainer loop, checkpoints.

The studio and ``cnnstudio train`` are two front-ends on it: both build a :class:`Trainer`, call
``run()`` (in a worker thread for the studio) and listen to its events. Nothing here imports Qt.
"""

from __future__ import annotations

from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import TrainingSettings, parse_settings

__all__ = ["TrainingError", "TrainingSettings", "parse_settings"]
