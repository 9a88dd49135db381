"""What a run trains with, made before its first step: the device, the data, the model, its
optimizer and its precision.

:func:`build` makes them in order (as Lightning's connectors are called one after another) into
a :class:`RunSetup`, plain data. The :class:`~cnnstudio.training.engine.Trainer` trains one;
the studio's views on a finished model (``gui/views/offline.py``) build one to look inside
without a trainer. Nothing here emits events: warnings go to the ``warn`` callable given.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, fx

from cnnstudio.core import memory
from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.compiler import CompileError, build_model
from cnnstudio.core.design import Design
from cnnstudio.core.weights import PRETRAINED, WeightsError, load_weights_file
from cnnstudio.training import datacheck, distributed, fits, members, precision, probes
from cnnstudio.training.data.pairing import Pairing
from cnnstudio.training.data.prepare import Prepared, prepare
from cnnstudio.training.data.source import Source
from cnnstudio.training.device import pick_device
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.loader import Loader
from cnnstudio.training.optim import make_optimizer, make_schedule
from cnnstudio.training.sampler import EpochSampler
from cnnstudio.training.settings import TrainingSettings
from cnnstudio.training.tasks import TASKS, Batch, Task

Warn = Callable[[str], None]


@dataclass
class RunSetup:
    """A run's working parts. ``model`` computes the task's outputs then its taps, in the order
    ``tap_index`` undoes (see :meth:`forward`)."""

    device: torch.device
    data: Prepared
    task: Task
    outputs: list[str]  # the nodes the loss sees
    model: fx.GraphModule
    tap_index: list[int]
    train_data: Loader
    val_data: Loader
    optimizer: torch.optim.Optimizer
    schedule: torch.optim.lr_scheduler.LRScheduler | None
    amp_dtype: torch.dtype | None  # None: float32
    scaler: torch.amp.GradScaler

    def forward(self, model: torch.nn.Module, batch: Batch) -> tuple[list[Tensor], list[Tensor]]:
        """The task's outputs and taps of ``model`` (the plain model or its DDP wrapper) on ``batch``."""
        with self.autocast():
            result = model(*batch.inputs)
        values = list(result) if isinstance(result, tuple) else [result]
        ordered = [values[i] for i in self.tap_index]
        count = len(self.task.outputs)
        return ordered[:count], ordered[count:]

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.amp_dtype)

    def prober(self, design: Design) -> probes.Prober:
        """What captures the views' snapshots of this model."""
        def outputs(inputs: list[Tensor]) -> list[Tensor]:
            return self.forward(self.model, Batch(inputs, torch.empty(0)))[0]

        return probes.Prober(self.model, design, self.task, outputs, self.val_data)

    def close(self) -> None:
        """Stop the loaders' decoding processes."""
        self.train_data.close()
        self.val_data.close()


def build(design: Design, settings: TrainingSettings, world: distributed.World, warn: Warn, *,
          start_weights: bool = True) -> RunSetup:
    """The setup of ``design`` trained with ``settings`` by this process of ``world`` (joining its
    process group). ``start_weights``: load the settings' ``init_weights`` or the design's own
    (a resumed run, or a model about to get other weights, skips them)."""
    s = settings
    device = join(s, world)
    torch.manual_seed(s.seed)
    analysis = checked(design)
    input_shapes = [analysis.nodes[node].shape for node in analysis.inputs]
    task_class = TASKS[s.task]
    fits.check(memory.estimate(analysis, s.batch_size), fits.generated_bytes(s.data, s.data_options, input_shapes[0]),
               device)
    datacheck.enforce(s, design, analysis, warn)  # what check says, before the data loads
    sharing = members.count(s, design, warn)  # 2 or 3: each Input gets its own member of a pair or triplet
    data = prepare(s, input_shapes[0], task_class.needs, task_class.data_hints, device, warn)
    outputs = trained_outputs(design, s, task_class, warn)
    if sharing > 1:
        outputs = members.towers(design, outputs) or outputs  # in the order of the Inputs they embed
    task = task_class(s, analysis, outputs, data.classes)
    model, tap_index = compile_model(design, outputs + task.taps, device)
    if start_weights and (s.init_weights or design.weights):
        init_weights(model, s.init_weights or design.weights, bool(s.init_weights), warn)
    channels_last = device.type != "mps" and all(len(shape) == 3 for shape in input_shapes)
    if channels_last:
        model.to(memory_format=torch.channels_last)
    train, val = data.train, data.validation
    sampler = EpochSampler(len(train), min(distributed.share(s.batch_size, world.size), len(train)), s.seed, world.rank, world.size)
    optimizer = make_optimizer(model, s)
    schedule = make_schedule(optimizer, s, len(sampler))
    amp_dtype = precision.autocast_dtype(s.amp, s.amp_dtype, device)
    # the loaders last: they may start decoding processes, which nothing after them could leave running
    train_data = Loader(train, input_shapes, sampler, augmentation(s, input_shapes, warn), channels_last,
                        device=device, workers=data.workers, pairing=pairing(train, sharing, s.seed))
    val_data = Loader(val, input_shapes, EpochSampler(len(val), min(s.batch_size, len(val)), s.seed), None,
                      channels_last, device=device, workers=data.workers, pairing=pairing(val, sharing, s.seed))
    return RunSetup(device, data, task, outputs, model, tap_index, train_data, val_data, optimizer, schedule,
                    amp_dtype, precision.grad_scaler(amp_dtype))


def join(settings: TrainingSettings, world: distributed.World) -> torch.device:
    """The device, and under torchrun the process group (the global batch must split evenly)."""
    device = pick_device(settings.device)
    if not world.distributed:
        return device
    distributed.share(settings.batch_size, world.size)
    return distributed.start(world, device)


def checked(design: Design) -> Analysis:
    analysis = analyze(design)
    if not analysis.valid:
        lines = [str(issue) for issue in analysis.errors] or ["the design is incomplete"]
        raise TrainingError(f"the design '{design.name}' cannot be trained yet:\n" + "\n".join(lines))
    return analysis


def trained_outputs(design: Design, settings: TrainingSettings, task_class: type[Task], warn: Warn) -> list[str]:
    """The nodes the loss sees; a Softmax output trains through its input, the logits."""
    outputs = []
    for node_id in settings.outputs or design.output_ids:
        if node_id not in design:
            raise TrainingError(f"\"outputs\" names '{node_id}', which is not a node of the design")
        node = design.node(node_id)
        if task_class.wants_logits and node.type == "Softmax" and len(design.inputs_of(node_id)) == 1:
            logits = design.inputs_of(node_id)[0]
            warn(f"training on the logits of '{logits}', the input of the Softmax '{node_id}': "
                 "cross-entropy applies softmax itself, more stably; the trained model keeps the Softmax")
            node_id = logits
        outputs.append(node_id)
    return outputs


def compile_model(design: Design, nodes: list[str], device: torch.device) -> tuple[fx.GraphModule, list[int]]:
    """The design with ``nodes`` as its outputs (layers that feed none of them are not run), and
    where each of ``nodes`` is among the model's outputs."""
    design = design.copy()
    design.output_order = list(dict.fromkeys(nodes))
    try:
        model = build_model(design)
    except CompileError as error:
        raise TrainingError(str(error)) from None
    model.graph.eliminate_dead_code()
    model.recompile()
    return model.to(device), [design.output_order.index(node) for node in nodes]


def init_weights(model: torch.nn.Module, path: str, chosen: bool, warn: Warn) -> None:
    """The start point: the settings' init_weights (``chosen``: transfer learning), else the
    design's own weights; every tensor whose node id and shape match loads, the rest is reported."""
    try:
        report = load_weights_file(model, path)
    except WeightsError as error:
        if path.startswith(PRETRAINED) and not chosen:
            warn(f"{error} Training starts from random weights.")
            return
        key = "'init_weights'" if chosen else "the design's weights"
        raise TrainingError(f"{key}: {error}") from None
    warn(f"started from {path}: " + report.summary().replace("\n", "; "))


def pairing(source: Source, sharing: int, seed: int) -> Pairing | None:
    """The mates of each sample when each Input takes its own member (``sharing`` 2 or 3)."""
    return Pairing(source.labels, sharing, seed) if sharing > 1 else None


def augmentation(settings: TrainingSettings, input_shapes: list[tuple[int, ...]], warn: Warn) -> Any:
    """The training images' augmentation (torchvision is imported only when there is one)."""
    if not settings.augmentation.active:
        return None
    if not all(len(shape) == 3 for shape in input_shapes):
        warn("augmentation applies to images only; it is off for this sequence data")
        return None
    from cnnstudio.training.data import augment

    return augment.build(settings.augmentation)
