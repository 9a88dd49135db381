"""CNN Studio: design, train and look inside convolutional neural networks.

The scripting API::

    import cnnstudio
    design = cnnstudio.load_design("resources/templates/figure21.json")
    model = cnnstudio.build_model(design)   # a torch.fx.GraphModule

Importing this package does not import torch (so the studio window appears at once);
``build_model`` imports it when called.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design, save_design

if TYPE_CHECKING:
    from pathlib import Path

    from torch import fx

__version__ = "0.1.0"
__all__ = ["Analysis", "Design", "analyze", "build_model", "load_design", "save_design"]


def build_model(design: Design, weights: "str | Path | None" = None) -> "fx.GraphModule":
    """Compile a design into a torch module: inputs in Input-node order; one output as a tensor,
    several as a tuple in output order. Raises ``CompileError`` listing every problem.

    ``weights`` (a .safetensors file, state dict or checkpoint, or ``torchvision:NAME``) is loaded
    by node id; without it, the design's own ``weights`` file is, if it has one. What loaded is in
    ``model.weights_report``; a file of which nothing matches raises ``WeightsError``.
    """
    from cnnstudio.core.compiler import build_model as compile_design
    from cnnstudio.core.weights import load_weights_file

    model = compile_design(design)
    source = weights if weights is not None else design.weights
    model.weights_report = load_weights_file(model, source) if source else None
    return model
