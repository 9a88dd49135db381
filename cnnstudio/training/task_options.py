"""The task-specific keys of the "training" object, one dataclass per task (no torch needed).

They live apart from the tasks package so that validating a design's settings (in the studio, after
every edit) never imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnstudio.training.fields import option


@dataclass(frozen=True)
class NoOptions:
    """Classification, localization and segmentation need nothing beyond the common keys."""


@dataclass(frozen=True)
class DetectionOptions:
    grid: int | None = option(None, "Cells per side S; needed only for a flat output (a channels-first output [C, S, S] gives it).", minimum=1, maximum=64)
    boxes_per_cell: int = option(2, "Boxes B predicted per cell.", minimum=1, maximum=10)
    lambda_coord: float = option(5.0, "Weight of the box-coordinate error (YOLO v1: 5).", minimum=0.0)
    lambda_noobj: float = option(0.5, "Weight of the confidence error in cells without an object (YOLO v1: 0.5).", minimum=0.0)
    nms_iou: float = option(0.5, "Boxes overlapping a better one by more than this IoU are suppressed.", minimum=0.0, maximum=1.0)
    score_threshold: float = option(0.2, "Least confidence x class probability for a box to be shown.", minimum=0.0, maximum=1.0)


@dataclass(frozen=True)
class ReconstructionOptions:
    noise: str = option("none", "Corruption of the input for a denoising autoencoder; the target stays clean.", choices=("none", "gaussian", "masking"))
    noise_level: float = option(0.3, "Standard deviation (gaussian) or fraction of values zeroed (masking).", minimum=0.0, maximum=1.0)
    grayscale_target: bool = option(False, "Compare with the input turned to grayscale (for a one-channel output).")
    sparse_node: str | None = option(None, "Node whose output gets an L1 penalty (a sparse autoencoder's code).")
    sparse_lambda: float = option(0.001, "Weight lambda of the L1 penalty.", minimum=0.0)


@dataclass(frozen=True)
class MetricOptions:
    loss: str = option("triplet", "triplet (anchor, positive, negative) or contrastive (Siamese pairs).", choices=("triplet", "contrastive"))
    margin: float = option(0.2, "Margin alpha: how much farther a negative must be than a positive.", minimum=0.0, exclusive=True)
    mining: str = option("semi-hard", "Which triplets of the batch train: all valid ones, the hardest per anchor, or semi-hard ones.", choices=("batch-all", "batch-hard", "semi-hard"))
    normalize: bool = option(True, "Scale embeddings to unit length before measuring distances.")


TASK_OPTIONS: dict[str, type] = {
    "classification": NoOptions,
    "localization": NoOptions,
    "detection": DetectionOptions,
    "segmentation": NoOptions,
    "reconstruction": ReconstructionOptions,
    "metric": MetricOptions,
}
