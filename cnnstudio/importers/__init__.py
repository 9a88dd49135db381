"""Import a model from PyTorch, torchvision, timm, ONNX or torch.export as an editable design.

Qt-free and lazy: torch is imported when an import runs, timm and onnx2torch only for their
sources. ``import_model`` returns the design and its weights by node id; ``save_import`` writes
``DESIGN.json`` and ``DESIGN.safetensors`` beside it (the design's ``"weights"`` names the file).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from cnnstudio.core.design import Design

if TYPE_CHECKING:
    import torch

    from cnnstudio.importers.verify import Verification

__all__ = ["Imported", "ImportFailed", "import_model", "parse_shape", "save_import"]


def __getattr__(name: str):
    if name == "ImportFailed":  # defined with the torch-side code, named here without importing torch
        from cnnstudio.importers.graph import ImportFailed

        return ImportFailed
    raise AttributeError(name)


def parse_shape(text: str) -> tuple[int, ...]:
    """``3x224x224`` (or ``3,224,224``): channels first, without the batch."""
    parts = re.split(r"[x,×]", text.strip())
    if not (1 <= len(parts) <= 4 and all(p.strip().isdigit() and int(p) > 0 for p in parts)):
        raise ValueError(f"'{text}' is not a shape like 3x224x224 (channels first, no batch)")
    return tuple(int(p) for p in parts)


@dataclass
class Imported:
    design: Design
    weights: dict[str, "torch.Tensor"]  # by "<node id>.<tensor>"
    scopes: dict[str, str]  # node id -> innermost module path of the source ("" at the top)
    weights_report: str  # what a --weights file loaded into the source model ("" without one)
    note: str = ""  # what was left out of the design, and why ("" for nothing)
    verification: "Verification | None" = None
    traced_into: list[str] = field(default_factory=list)  # modules traced through because one opaque node differed
    seconds: float = 0.0  # the whole import: loading, tracing, converting, verifying
    tracer: str = "torch.fx"  # what read the model's graph: torch.fx or torch.export
    fallback_reasons: list[str] = field(default_factory=list)  # "torch.fx: why", for a route tried first that failed
    source_check: str = ""  # how the loaded model was checked against its file (an ONNX file: onnxruntime)

    @property
    def opaque(self) -> list[str]:
        return [node.id for node in self.design.nodes if node.layer_type.opaque]

    def report(self) -> str:
        """What the import made: nodes, layers, opaque nodes by kind, groups, tied tensors, verification."""
        design = self.design
        kinds = Counter(_opaque_kind(node) for node in design.nodes if node.layer_type.opaque)
        lines = [
            f"{design.name}: {len(design)} nodes, {len(design) - len(design.input_ids) - sum(kinds.values())} layers, "
            f"{sum(kinds.values())} opaque node(s){': ' + ', '.join(f'{n} {k}' for k, n in kinds.most_common()) if kinds else ''}",
            f"groups: {len(design.groups)}; tied tensors: {len(design.tied)}"
            + (f"; {self.verification.parameters:,} parameters" if self.verification else ""),
        ]
        if self.fallback_reasons:
            lines.append(f"read with {self.tracer}, because " + "; ".join(self.fallback_reasons))
        if self.traced_into:
            lines.append(f"traced into {len(self.traced_into)} module(s) whose rebuild as one node differed: "
                         + ", ".join(self.traced_into[:5]) + (" ..." if len(self.traced_into) > 5 else ""))
        if self.source_check:
            lines.append(self.source_check)
        if self.verification is not None:
            lines.append(self.verification.sentence())
        lines.append(f"import took {self.seconds:.1f} s")
        return "\n".join(lines)


def _opaque_kind(node) -> str:
    if node.type == "Module":
        return node.params["class"].rpartition(".")[2]
    call = node.params.get("call")
    if isinstance(call, dict) and call.get("function") == "torch.unflatten" and isinstance(call.get("args"), list) \
            and call["args"] and isinstance(call["args"][0], dict):
        call = call["args"][0]  # a step on a batch folded into the first axis, its edge unfolded (graph.py)
    name = call.get("function") or call.get("method") or call.get("module") if isinstance(call, dict) else None
    return f"{node.type} {str(name).rpartition('.')[2]}" if name else node.type


def import_model(source: str | torch.nn.Module, input_shapes: list[tuple[int, ...]] | None = None,
                 weights: str | None = None, allow_unverified: bool = False, tracer: str = "fx") -> Imported:
    """Trace ``source``, convert it and verify the design against the model (see ``verify``);
    ``input_shapes`` (channels first, no batch) override the source's own. ``source``: what
    ``load_source`` reads (torchvision:NAME, a .onnx file...), or a module object already built (a
    script's, :func:`cnnstudio.gui.open`'s). ``weights``: a state-dict file, or "DEFAULT" for
    pretrained weights. A design that does not compute what the model does
    is refused (:class:`ImportFailed` naming the first node that differs), or with
    ``allow_unverified`` kept with those nodes marked ``unverified``. ``tracer``: the route that
    reads the model's graph first, "fx" (torch.fx) or "export" (torch.export); when it fails or its
    design is not exact, the other is tried (see :mod:`cnnstudio.importers.routes`)."""
    import torch

    from cnnstudio.importers.graph import ImportFailed
    from cnnstudio.importers.routes import TRACERS, convert_verified
    from cnnstudio.importers.sources import Loaded, load_into, load_source

    start = time.perf_counter()
    if isinstance(source, torch.nn.Module):
        loaded = Loaded(source, None, type(source).__name__)
        if weights:
            loaded.weights_report = load_into(source, weights)
    else:
        loaded = load_source(source, weights)
    shapes = input_shapes or loaded.shapes
    if not shapes:
        named = source if isinstance(source, str) else loaded.name
        raise ImportFailed(f"{named}: give the input shape with --input, e.g. --input 3x224x224")
    aux, note = loaded.aux_loss_weights, ""
    with torch.no_grad(), _advice(loaded.trace_advice):
        try:
            route = convert_verified(loaded.module, list(shapes), loaded.name, aux is not None, tracer)
        except ImportFailed:
            if aux is None:
                raise
            # The auxiliary heads need a larger input than the model alone (Inception v3's: 299x299).
            route = convert_verified(loaded.module, list(shapes), loaded.name, False, tracer)
            aux, note = None, (f"{loaded.name}'s auxiliary classifiers do not fit an input of "
                               f"{'x'.join(map(str, shapes[0]))}, so they were left out (they only help training)")
    converted, verification = route.converted, route.verification
    design = converted.design
    if not verification.exact:
        if not allow_unverified:
            tried = f" (also tried: {'; '.join(route.failures)})" if route.failures else ""
            raise ImportFailed(f"{loaded.name} was not imported: {verification.sentence()}{tried}. "
                               "Import it anyway with --allow-unverified (the differing nodes are marked unverified)")
        for difference in verification.differing:
            design.node(difference.node).unverified = str(difference)
        if not verification.differing:
            for node_id in design.output_ids:
                design.node(node_id).unverified = verification.problem or verification.sentence()
    if aux is not None:  # it returns the logits, then each auxiliary head's
        design.training = {"outputs": list(design.output_order), "loss_weights": [1.0, *aux]}
    return Imported(design, converted.weights, converted.scopes, loaded.weights_report, note, verification,
                    sorted(route.traced_into), time.perf_counter() - start, TRACERS[route.tracer], route.failures,
                    loaded.source_check)


@contextmanager
def _advice(advice: str) -> Iterator[None]:
    """The source's own advice added to a refusal to trace it (an ONNX file's: how to export it
    again so that it can be read), since its user may have no PyTorch model to export."""
    from cnnstudio.importers.graph import ImportFailed

    try:
        yield
    except ImportFailed as error:
        if not advice or "cannot trace" not in str(error):
            raise
        raise ImportFailed(f"{error}. {advice[0].upper()}{advice[1:]}") from None


def save_import(imported: Imported, path: str | Path) -> Path:
    """Write the design to ``path`` and its weights beside it as ``<stem>.safetensors``."""
    from cnnstudio.core.designfile import save_design
    from cnnstudio.core.weights import save_tensors

    path = Path(path)
    weights_path = path.with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    seen: dict[int, str] = {}
    tensors = {}
    for key, tensor in imported.weights.items():  # a module called twice shares its tensors: copy
        pointer = tensor.untyped_storage().data_ptr() if tensor.numel() else id(tensor)
        tensors[key] = tensor.clone() if pointer in seen else tensor
        seen[pointer] = key
    save_tensors(tensors, weights_path)
    imported.design.weights = str(weights_path.resolve())
    save_design(imported.design, path)
    return weights_path
