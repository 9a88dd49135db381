"""Tasks: each turns outputs and targets into a loss and validation metrics (see base.Task)."""

from __future__ import annotations

from cnnstudio.training.tasks.base import Batch, Meter, Task
from cnnstudio.training.tasks.classification import Classification
from cnnstudio.training.tasks.detection import Detection
from cnnstudio.training.tasks.localization import Localization
from cnnstudio.training.tasks.metric import MetricLearning
from cnnstudio.training.tasks.reconstruction import Reconstruction
from cnnstudio.training.tasks.segmentation import Segmentation

TASKS: dict[str, type[Task]] = {
    cls.name: cls for cls in (Classification, Localization, Detection, Segmentation, Reconstruction, MetricLearning)
}

__all__ = ["TASKS", "Batch", "Meter", "Task"]
