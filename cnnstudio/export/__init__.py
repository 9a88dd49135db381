"""Export a design out of the studio: standalone code, TorchScript, torch.export, ONNX, weights.

Every format is serialised in memory first, then written to a temporary file beside the target
and renamed over it (:mod:`cnnstudio.core.atomic`): a failed export, a full disk included, never
leaves a half-written or temporary file, and the previous file is kept. (TorchScript's C++ writer
aborts the whole process on a full disk, so it never writes to the disk itself.) A code export
with weights writes its two files together: both or neither.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import Path

import torch
from torch import nn

from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.atomic import WriteFailed, atomic_write_bytes, atomic_write_files
from cnnstudio.core.compiler import build_model, example_inputs
from cnnstudio.core.design import Design
from cnnstudio.core.display import size_text
from cnnstudio.core.memory import available_ram, estimate
from cnnstudio.core.weights import WeightsReport, load_weights_file, safetensors_bytes
from cnnstudio.export.code import export_code

FORMATS = {
    "code": ".py",
    "torchscript": ".ts.pt",
    "export": ".pt2",
    "onnx": ".onnx",
    "safetensors": ".safetensors",
}


EXAMPLE_BATCH = 2  # the batch of the example inputs that tracing and exporting run


class ExportError(RuntimeError):
    """An export that could not be done; the message says why and what to try."""


def export_design(design: Design, fmt: str, target: Path, weights: Path | str | None = None) -> WeightsReport | None:
    """Write ``design`` to ``target`` in ``fmt``, with ``weights`` (a file, or ``torchvision:NAME``)
    or, without, its freshly initialised ones; returns the weights report. Which trained weights
    to take by default (a run's, the design's own file) is the front end's choice."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format '{fmt}'; choose one of {', '.join(FORMATS)}")
    analysis = analyze(design)
    _check_fits(analysis)
    model = build_model(design, analysis).eval()
    report = load_weights_file(model, weights) if weights else None
    inputs = example_inputs(design, analysis, EXAMPLE_BATCH)
    serialisers: dict[str, Callable[[], bytes]] = {
        "code": lambda: export_code(design, analysis, model, target).encode("utf-8"),
        # Traced, not scripted: designs have no control flow, and tracing handles variadic merges.
        "torchscript": lambda: _saved(torch.jit.save, torch.jit.trace(model, inputs)),
        "export": lambda: _saved(torch.export.save, torch.export.export(model, inputs, dynamic_shapes=_any_batch(inputs))),
        "onnx": lambda: _onnx_bytes(model, inputs),
        "safetensors": lambda: safetensors_bytes(model),
    }
    data = _quiet(serialisers[fmt])
    try:
        if fmt == "code" and weights:  # the script loads <name>.pt from beside itself
            weights_file = target.with_suffix(".pt"), _saved(torch.save, model.state_dict())
            atomic_write_files([weights_file, (target, data)], parents=True)
        else:
            atomic_write_bytes(target, data, parents=True)
            if fmt == "code" and stale_weights(target) != target:
                stale_weights(target).unlink(missing_ok=True)
    except WriteFailed as error:
        raise ExportError(str(error)) from None
    except OSError as error:
        raise ExportError(f"{target} was written, but the old {stale_weights(target).name} beside it, which it would "
                          f"load, could not be removed ({error.strerror}); delete it") from None
    return report


def stale_weights(target: Path) -> Path:
    """The weights file a code export without weights leaves no trace of: the script loads
    ``<name>.pt`` from beside itself when it exists, so an older export's would be used instead of
    the fresh random weights."""
    return target.with_suffix(".pt")


def _check_fits(analysis: Analysis) -> None:
    """Refuse before building a model that, with its serialised copy, cannot fit in memory."""
    needed = estimate(analysis, EXAMPLE_BATCH)
    total = needed.inference + needed.weights
    limit = available_ram()
    if analysis.valid and limit is not None and total > limit:
        raise ExportError(f"exporting this design needs about {size_text(total)} of memory ({size_text(needed.weights)} "
                          f"of weights, held twice while written), more than the {size_text(limit)} available")


def _saved(save: Callable, value: object) -> bytes:
    """What ``save(value, file)`` writes, in memory."""
    buffer = io.BytesIO()
    save(value, buffer)
    return buffer.getvalue()


def _onnx_bytes(model: nn.Module, inputs: tuple[torch.Tensor, ...]) -> bytes:
    try:
        import onnx
    except ImportError:
        raise ExportError("ONNX export needs the 'onnx' and 'onnxscript' packages: pip install onnx onnxscript") from None
    program = torch.onnx.export(model, inputs, dynamo=True, verbose=False, dynamic_shapes=_any_batch(inputs))
    proto = program.model_proto
    onnx.checker.check_model(proto)
    try:
        return proto.SerializeToString()
    except ValueError:  # protobuf's limit
        raise ExportError("the model is over 2 GB, more than an ONNX file holds; export safetensors or torch.export") from None


def _any_batch(inputs: tuple[torch.Tensor, ...]) -> tuple[dict[int, object], ...]:
    """Mark axis 0 of every input as the batch, so exported models take any batch size."""
    return tuple({0: torch.export.Dim.DYNAMIC} for _ in inputs)


def _quiet(function: Callable, *args, **kwargs):
    """Run an exporter without its deprecation chatter reaching the user's terminal."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)
