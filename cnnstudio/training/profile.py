"""Per-layer cost of a design: forward and backward time, and the memory of each layer's output.

One function, :func:`profile_design`, serves ``cnnstudio profile`` and the studio's canvas
overlay, so both show the same numbers. Times come from module hooks around each node's
submodule of the compiled model (forward pre-hook to forward hook; backward pre-hook to backward
hook), on random inputs of the design's shapes, the median of a few repeats after a warm-up
(with a CUDA synchronise around each so the GPU's time is counted, not its queueing). Activation
memory is exact: the bytes of each node's output at the batch size, as training keeps them for
the backward pass.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch
from torch import nn

from cnnstudio.core.analysis import analyze
from cnnstudio.core.compiler import CompileError, build_model, example_inputs
from cnnstudio.core.design import Design
from cnnstudio.training.device import pick_device

MEASURES = {  # key: (what it is, its unit), in the order the overlay offers them
    "time_ms": ("forward + backward time", "ms"),
    "forward_ms": ("forward time", "ms"),
    "backward_ms": ("backward time", "ms"),
    "activation_bytes": ("activation memory", "bytes"),
}


class ProfileError(ValueError):
    """A design that cannot be profiled; the message says why."""


@dataclass(frozen=True)
class LayerCost:
    node: str
    forward_ms: float
    backward_ms: float
    activation_bytes: int

    @property
    def time_ms(self) -> float:
        return self.forward_ms + self.backward_ms


@dataclass(frozen=True)
class Profile:
    design: str
    device: str
    batch_size: int
    repeats: int
    layers: tuple[LayerCost, ...] = field(default_factory=tuple)

    def value(self, node: str, measure: str) -> float | None:
        """One layer's ``measure`` (a key of :data:`MEASURES`), or None for a node without a module."""
        cost = next((layer for layer in self.layers if layer.node == node), None)
        return None if cost is None else float(getattr(cost, measure))

    def to_json(self) -> dict:
        return {"design": self.design, "device": self.device, "batch_size": self.batch_size, "repeats": self.repeats,
                "layers": [{**asdict(layer), "time_ms": layer.time_ms} for layer in self.layers]}


def _bytes(value: object) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(_bytes(v) for v in value)
    return 0


class _Clock:
    """Hooks that time each named module's forward and backward and size its output."""

    def __init__(self, model: nn.Module, names: dict[str, str], device: torch.device):
        self.device = device
        self.started: dict[tuple[str, str], float] = {}
        self.spent: dict[tuple[str, str], float] = {}
        self.sizes: dict[str, int] = {}
        self.handles = []
        for name, node in names.items():
            module = model.get_submodule(name)
            self.handles += [
                module.register_forward_pre_hook(self._start(node, "forward")),
                module.register_forward_hook(self._forward_done(node)),
                module.register_full_backward_pre_hook(self._start(node, "backward")),
                module.register_full_backward_hook(self._stop(node, "backward")),
            ]

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    def _start(self, node: str, phase: str) -> Callable:
        def hook(*_: object) -> None:
            self.started[node, phase] = self._now()
        return hook

    def _stop(self, node: str, phase: str) -> Callable:
        def hook(*_: object) -> None:
            self.spent[node, phase] = self.spent.get((node, phase), 0.0) + self._now() - self.started.pop((node, phase))
        return hook

    def _forward_done(self, node: str) -> Callable:
        stop = self._stop(node, "forward")

        def hook(_module: nn.Module, _inputs: object, output: object) -> None:
            stop()
            self.sizes[node] = _bytes(output)
        return hook

    def close(self) -> None:
        for handle in self.handles:
            handle.remove()


def profile_design(design: Design, batch_size: int = 8, device: str = "cpu", repeats: int = 3,
                   seed: int = 0) -> Profile:
    """Time each layer of ``design`` over ``repeats`` forward and backward passes (after one
    warm-up) at ``batch_size``; ProfileError with a sentence for a design that cannot run."""
    if batch_size < 1 or repeats < 1:
        raise ProfileError(f"the batch size and the repeats must be at least 1, got {batch_size} and {repeats}")
    analysis = analyze(design)
    try:
        model = build_model(design, analysis)
    except CompileError as error:
        raise ProfileError(f"'{design.name}' does not compile: {error}") from None
    target = pick_device(device)
    torch.manual_seed(seed)
    model = model.to(target).train()
    # inputs that ask for their gradient: the first layer's backward hook then waits for its whole backward
    inputs = tuple(x.to(target).requires_grad_() for x in example_inputs(design, analysis, batch=batch_size))
    names = {name: node for name, node in model.node_names.items() if name in dict(model.named_children())}
    samples: list[dict[tuple[str, str], float]] = []
    clock = _Clock(model, names, target)
    try:
        for run in range(repeats + 1):
            clock.spent.clear()
            outputs = model(*inputs)
            loss = sum(o.float().sum() for o in (outputs if isinstance(outputs, (tuple, list)) else (outputs,)))
            if loss.requires_grad:
                loss.backward()
            model.zero_grad(set_to_none=True)
            if run:  # the first pass warms up allocators and kernels
                samples.append(dict(clock.spent))
    except RuntimeError as error:
        raise ProfileError(f"'{design.name}' failed to run at batch size {batch_size}: {error}") from None
    finally:
        clock.close()
    layers = tuple(
        LayerCost(node, 1000 * statistics.median(s.get((node, "forward"), 0.0) for s in samples),
                  1000 * statistics.median(s.get((node, "backward"), 0.0) for s in samples), clock.sizes.get(node, 0))
        for node in names.values())
    return Profile(design.name, str(target), batch_size, repeats, layers)
