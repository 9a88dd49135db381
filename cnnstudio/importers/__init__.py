"""Import a model from PyTorch, torchvision, timm, ONNX or torch.export as an editable design.

Qt-free and lazy: torch is imported when an import runs, timm and onnx2torch only for their
sources. ``import_model`` returns the design and its weights by node id; ``save_import`` writes
``DESIGN.json`` and ``DESIGN.safetensors`` beside it (the design's ``"weights"`` names the file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cnnstudio.core.design import Design

if TYPE_CHECKING:
    import torch

    from cnnstudio.importers.graph import Converted

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

    @property
    def opaque(self) -> list[str]:
        return [node.id for node in self.design.nodes if node.layer_type.opaque]


def import_model(source: str | torch.nn.Module, input_shapes: list[tuple[int, ...]] | None = None,
                 weights: str | None = None) -> Imported:
    """Trace ``source`` and convert it; ``input_shapes`` (channels first, no batch) override the
    source's own. ``source``: what ``load_source`` reads (torchvision:NAME, a .onnx file...), or a
    module object already built (a script's, :func:`cnnstudio.gui.open`'s). ``weights``: a
    state-dict file, or "DEFAULT" for pretrained weights."""
    import torch

    from cnnstudio.importers.graph import ImportFailed, convert
    from cnnstudio.importers.sources import Loaded, load_into, load_source

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
    with torch.no_grad():
        try:
            converted: Converted = convert(loaded.module, list(shapes), loaded.name, training_branches=aux is not None)
        except ImportFailed:
            if aux is None:
                raise
            # The auxiliary heads need a larger input than the model alone (Inception v3's: 299x299).
            converted = convert(loaded.module, list(shapes), loaded.name)
            aux, note = None, (f"{loaded.name}'s auxiliary classifiers do not fit an input of "
                               f"{'x'.join(map(str, shapes[0]))}, so they were left out (they only help training)")
    design = converted.design
    if aux is not None:  # it returns the logits, then each auxiliary head's
        design.training = {"outputs": list(design.output_order), "loss_weights": [1.0, *aux]}
    return Imported(design, converted.weights, converted.scopes, loaded.weights_report, note)


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
