"""Export a design out of the studio: standalone code, TorchScript, torch.export, ONNX, weights.

Every format is written to a temporary file beside the target and renamed over it, so a failed
export never leaves a half-written file.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from cnnstudio.core.analysis import analyze
from cnnstudio.core.atomic import atomic_write
from cnnstudio.core.compiler import build_model, example_inputs
from cnnstudio.core.design import Design
from cnnstudio.core.weights import WeightsReport, load_weights_file, save_safetensors
from cnnstudio.export.code import export_code

FORMATS = {
    "code": ".py",
    "torchscript": ".ts.pt",
    "export": ".pt2",
    "onnx": ".onnx",
    "safetensors": ".safetensors",
}


class ExportError(RuntimeError):
    """An export that could not be done; the message says why and what to try."""


def export_design(design: Design, fmt: str, target: Path, weights: Path | str | None = None) -> WeightsReport | None:
    """Write ``design`` (with ``weights`` if given, else the design's own weights file if it has
    one) to ``target`` in ``fmt``; returns the weights report."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    analysis = analyze(design)
    model = build_model(design, analysis).eval()
    weights = weights or design.weights
    report = load_weights_file(model, weights) if weights else None
    inputs = example_inputs(design, analysis)
    writers: dict[str, Callable[[Path], None]] = {
        "code": lambda p: p.write_text(export_code(design, analysis, model, target), encoding="utf-8"),
        # Traced, not scripted: designs have no control flow, and tracing handles variadic merges.
        "torchscript": lambda p: torch.jit.save(torch.jit.trace(model, inputs), str(p)),
        "export": lambda p: torch.export.save(torch.export.export(model, inputs, dynamic_shapes=_any_batch(inputs)), str(p)),
        "onnx": lambda p: _write_onnx(model, inputs, p),
        "safetensors": lambda p: save_safetensors(model, p),
    }
    _atomic(target, writers[fmt])
    if fmt == "code" and weights:  # the script loads <name>.pt from beside itself
        _atomic(target.with_suffix(".pt"), lambda p: torch.save(model.state_dict(), p))
    return report


def _write_onnx(model: nn.Module, inputs: tuple[torch.Tensor, ...], path: Path) -> None:
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the 'onnx' and 'onnxscript' packages: pip install onnx onnxscript") from None
    program = torch.onnx.export(model, inputs, dynamo=True, verbose=False, dynamic_shapes=_any_batch(inputs))
    program.save(str(path))
    onnx.checker.check_model(onnx.load(str(path)))


def _any_batch(inputs: tuple[torch.Tensor, ...]) -> tuple[dict[int, object], ...]:
    """Mark axis 0 of every input as the batch, so exported models take any batch size."""
    return tuple({0: torch.export.Dim.DYNAMIC} for _ in inputs)


def _quiet(function: Callable, *args, **kwargs):
    """Run an exporter without its deprecation chatter reaching the user's terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


def _atomic(target: Path, write: Callable[[Path], None]) -> None:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, lambda temp: _quiet(write, temp))
    except OSError as error:
        raise ExportError(f"{target}: not written ({error.strerror or error})") from None
