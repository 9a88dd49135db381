"""The "training" object of a design file, as a validated :class:`TrainingSettings`.

Keys common to every task are fields here; task-specific keys (``margin``, ``noise``...) go to
the task's options dataclass in :mod:`cnnstudio.training.task_options`; augmentation is a nested
object. Every key, its type and default is documented in docs/training.md.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnstudio.training import fields
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.fields import FLOAT32_MAX, option
from cnnstudio.training.task_options import TASK_OPTIONS, NoOptions

WHERE = '"training"'


@dataclass(frozen=True)
class AugmentSettings:
    """Random changes to training images (never to validation ones); 0 turns each off."""

    shift: float = option(0.0, "Largest shift, as a fraction of the width and height.", minimum=0.0, maximum=0.5)
    rotation: float = option(0.0, "Largest rotation, in degrees either way.", minimum=0.0, maximum=180.0)
    hflip: float = option(0.0, "Probability of a horizontal flip.", minimum=0.0, maximum=1.0)
    vflip: float = option(0.0, "Probability of a vertical flip.", minimum=0.0, maximum=1.0)
    shear: float = option(0.0, "Largest shear, in degrees.", minimum=0.0, maximum=45.0)
    zoom: float = option(0.0, "Largest zoom in or out, as a fraction (0.1: 90% to 110%).", minimum=0.0, maximum=0.9)

    @property
    def active(self) -> bool:
        return any(dataclasses.astuple(self))


@dataclass(frozen=True)
class TrainingSettings:
    task: str = option("classification", "What the network learns.", choices=tuple(TASK_OPTIONS))
    data: str = option("synthetic-shapes", "The data source: a name, idx:PATH, folder:PATH or csv:FILE.")
    data_options: dict = option({}, "Options of the data source (count, noise, objects... see Data sources).")
    epochs: int = option(5, "Passes over the training data.", minimum=1, maximum=100_000)
    batch_size: int = option(64, "Samples per step.", minimum=1, maximum=65_536)
    optimizer: str = option("adam", "The optimizer.", choices=("sgd", "adam", "adamw"))
    lr: float = option(0.001, "Learning rate (the peak rate for onecycle).", minimum=0.0, maximum=FLOAT32_MAX, exclusive=True)
    momentum: float = option(0.9, "Momentum, for sgd.", minimum=0.0, maximum=0.999)
    nesterov: bool = option(False, "Nesterov momentum, for sgd.")
    weight_decay: float = option(0.0, "Weight decay (L2 for sgd and adam, decoupled for adamw).", minimum=0.0, maximum=FLOAT32_MAX)
    schedule: str = option("none", "How the learning rate changes over the run.", choices=("none", "step", "cosine", "onecycle"))
    step_size: int = option(1, "For schedule step: epochs between learning-rate drops.", minimum=1)
    gamma: float = option(0.1, "For schedule step: factor applied at each drop.", minimum=0.0, maximum=1.0, exclusive=True)
    grad_clip: float | None = option(None, "Largest gradient norm; larger gradients are scaled down. null: no clipping.", minimum=0.0, exclusive=True)
    seed: int = option(0, "Seed of the weights, the data order, generated data and the augmentation.", minimum=0, maximum=2**31 - 1)
    validation: str = option("auto", "The validation samples: auto (the source's own, e.g. MNIST's t10k files or a folder's val/, else random), random (val_split of the samples, drawn with split_seed), last (the last val_split of them), source (the source's own), or another data spec.")
    val_split: float = option(0.2, "Fraction of the data kept for validation by random and last.", minimum=0.0, maximum=0.9, exclusive=True)
    split_seed: int = option(0, "Seed of the random validation split, apart from seed: changing the weights keeps the same split.", minimum=0, maximum=2**31 - 1)
    data_loading: str = option("auto", "auto (image files stream when decoded they would take more than memory_limit_mb), memory or stream.", choices=("auto", "memory", "stream"))
    memory_limit_mb: int | None = option(None, "Largest decoded dataset, in MiB, held in memory by auto; null: a quarter of the machine's memory.", minimum=1)
    workers: int | None = option(None, "Processes decoding streamed images; null: the cores less one, at most 8; 0: decode in the training process.", minimum=0, maximum=64)
    device: str = option("auto", "auto (CUDA, then Apple MPS, then CPU), cpu, cuda, cuda:N or mps.")
    amp: bool = option(True, "Mixed precision on CUDA (ignored elsewhere).")
    amp_dtype: str = option("auto", "Mixed-precision type: auto (bfloat16 where the GPU supports it, else float16), bfloat16, or float16 (with loss scaling).", choices=("auto", "bfloat16", "float16"))
    outputs: list[str] | None = option(None, "Output nodes the task trains, in the task's order; null: the design's outputs.")
    loss_weights: list[float] | None = option(None, "Weight of each output's loss, in the order of outputs; null: all 1.", minimum=0.0)
    augment: dict = option({}, "Augmentation of training images (see Augmentation).")
    classes: list[int] | None = option(None, "Keep only the samples of these class numbers, renumbered 0, 1, ... in this order (e.g. [5, 6, 7, 8, 9]); null: every class.", minimum=0)
    tensorboard: bool = option(False, "Also log the run in TensorBoard's format, to <out>/tensorboard (needs the tensorboard package).")
    init_weights: str | None = option(None, "Start from the weights in this checkpoint or weights file, loaded into the nodes with the same id and shape (transfer learning); null: random weights.")
    task_options: Any = NoOptions()  # filled by parse_settings with the task's own dataclass

    @property
    def augmentation(self) -> AugmentSettings:
        return fields.parse(AugmentSettings, self.augment, f"{WHERE}: 'augment'")

    def to_dict(self) -> dict[str, Any]:
        """The settings as a "training" object (task options flattened back in)."""
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "task_options"}
        data.update(dataclasses.asdict(self.task_options))
        return data


COMMON_KEYS = [name for name in fields.names(TrainingSettings) if name != "task_options"]


def parse_settings(raw: Mapping[str, Any] | None, overrides: Mapping[str, Any] | None = None) -> TrainingSettings:
    """Settings from a design's "training" object, with ``overrides`` (command-line flags) on top.

    Raises :class:`TrainingError` naming the first key that is wrong.
    """
    if raw is not None and not isinstance(raw, Mapping):
        raise TrainingError(f"{WHERE} must be an object {{...}}")
    merged = {**(raw or {}), **{k: v for k, v in (overrides or {}).items() if v is not None}}
    common = {k: v for k, v in merged.items() if k in COMMON_KEYS}
    settings = fields.parse(TrainingSettings, common, WHERE)
    options_class = TASK_OPTIONS[settings.task]
    rest = {k: v for k, v in merged.items() if k not in COMMON_KEYS}
    for key in rest:
        owner = next((t for t, cls in TASK_OPTIONS.items() if key in fields.names(cls)), None)
        if owner and key not in fields.names(options_class):
            raise TrainingError(f"{WHERE}: '{key}' is a key of the {owner} task, but the task is {settings.task}")
        if not owner:
            raise fields.unknown_key(key, COMMON_KEYS + fields.names(options_class), WHERE)
    task_options = fields.parse(options_class, rest, WHERE)
    _ = settings.augmentation  # validate the nested object now, not at the first epoch
    if settings.loss_weights is not None and settings.outputs is not None and len(settings.loss_weights) != len(settings.outputs):
        raise TrainingError(
            f"{WHERE}: 'loss_weights' has {len(settings.loss_weights)} value(s) but 'outputs' names "
            f"{len(settings.outputs)} node(s); give one weight per output"
        )
    return dataclasses.replace(settings, task_options=task_options)
