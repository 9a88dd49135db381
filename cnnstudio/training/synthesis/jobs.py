"""Style transfer and feature visualisation as background jobs of the studio's runner. Qt-free.

The studio hands the runner a job (plain, picklable data: the design as a design-file object, the
weights, the images) and one of the targets here; they run in the worker process or thread exactly
as training does, attach their :class:`RunControl` so pause and stop reach them, report
:class:`SynthesisProgress` events and always end with an ``events.Finished``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from cnnstudio.training.control import RunControl
from cnnstudio.training.synthesis.style import StyleSettings
from cnnstudio.training.synthesis.visualize import VisualizeSettings

Emit = Callable[[object], None]


@dataclass(frozen=True)
class NetworkSpec:
    design: dict[str, Any]  # a design-file object
    weights: Any  # a weights file, a state dict, "torchvision:NAME", or None with random_weights
    random_weights: bool = False
    normalize: str = "none"


@dataclass(frozen=True)
class StyleJob:
    network: NetworkSpec
    content: Any  # [C, H, W] in [0, 1]: a tensor or a numpy array (the studio reads images without torch)
    style: Any
    settings: StyleSettings


@dataclass(frozen=True)
class VisualizeJob:
    network: NetworkSpec
    settings: VisualizeSettings


@dataclass(frozen=True)
class VisualizeDone:
    """The finished grid of a visualisation job: the images and each channel's activation on its own."""

    layer: str
    channels: list[int]
    images: Tensor  # [K, C, H, W]
    activations: list[float]


def _network(spec: NetworkSpec) -> Any:
    from cnnstudio.core.designfile import from_dict
    from cnnstudio.training.synthesis.network import load_network

    return load_network(from_dict(spec.design), spec.weights, random_weights=spec.random_weights,
                        normalize=spec.normalize)


def _guarded(work: Callable[[RunControl], bool], emit: Emit, controls: Any) -> None:
    """Run ``work`` (True when stopped); errors become an Error event, and Finished always comes last."""
    from cnnstudio.core.designfile import DesignFileError
    from cnnstudio.training import events
    from cnnstudio.training.synthesis.network import SynthesisError

    control = RunControl()
    controls.attach(control)
    status = "completed"
    try:
        if work(control):
            status = "stopped"
    except (SynthesisError, DesignFileError) as error:
        emit(events.Error(str(error)))
        status = "failed"
    except Exception as error:  # noqa: BLE001 - a bug of ours: a sentence in the studio, never a traceback
        emit(events.Error(f"internal error: {type(error).__name__}: {error}"))
        status = "failed"
    emit(events.Finished(status, 0, 0, None))  # type: ignore[arg-type]


def stylize(job: StyleJob, emit: Emit, controls: Any) -> None:
    import torch

    from cnnstudio.training.synthesis.style import StyleTransfer

    def work(control: RunControl) -> bool:
        content, style = (torch.as_tensor(image).float() for image in (job.content, job.style))
        transfer = StyleTransfer(_network(job.network), content, style, job.settings, control)
        return transfer.run(emit).stopped

    _guarded(work, emit, controls)


def visualize(job: VisualizeJob, emit: Emit, controls: Any) -> None:
    from cnnstudio.training.synthesis.visualize import FeatureVisualizer

    def work(control: RunControl) -> bool:
        result = FeatureVisualizer(_network(job.network), job.settings, control).run(emit)
        emit(VisualizeDone(job.settings.layer, result.channels, result.images, result.activations))
        return result.stopped

    _guarded(work, emit, controls)
