"""Helpers shared by the core tests: build small designs, and check inference against torch."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.design import Design

ROOT = Path(__file__).resolve().parents[1]
FIGURE21 = ROOT / "resources" / "templates" / "figure21.json"


def chain(shape: Sequence[int], *layers: tuple[str, Mapping[str, Any]], name: str = "chain") -> Design:
    """Input -> layer -> layer ... with generated ids."""
    design = Design(name)
    previous = design.add_node("Input", {"shape": list(shape)}, "x").id
    for type_name, params in layers:
        node = design.add_node(type_name, params).id
        design.connect(previous, node)
        previous = node
    return design


def merge(type_name: str, params: Mapping[str, Any], shapes: Sequence[Sequence[int]]) -> Design:
    """One Input per shape, all feeding one node (in Input order)."""
    design = Design("merge")
    node = design.add_node(type_name, params, "m").id
    for index, shape in enumerate(shapes):
        source = design.add_node("Input", {"shape": list(shape)}, f"x{index}").id
        design.connect(source, node)
    return design


def check_against_torch(design: Design, batch: int = 2) -> Analysis:
    """Assert every node's inferred shape and parameter count equal the compiled model's.

    Runs one forward pass with a forward hook on each node's submodule, so an intermediate
    node that disagrees is caught even when the output shape happens to be right.
    """
    import torch

    from cnnstudio.core.compiler import build_model, module_names

    analysis = analyze(design)
    assert analysis.valid, [str(issue) for issue in analysis.errors]
    model = build_model(design, analysis).eval()
    names = module_names(design)
    seen: dict[str, tuple[int, ...]] = {}
    hooks = []
    for node_id in analysis.order:
        if node_id in analysis.inputs:
            continue
        module = model.get_submodule(names[node_id])

        def record(_module, _inputs, output, node_id=node_id):
            seen[node_id] = tuple(output.shape)

        hooks.append(module.register_forward_hook(record))
        own = sum(p.numel() for p in module.parameters())
        assert analysis.nodes[node_id].params == own, (
            f"{node_id} ({design.node(node_id).type}): inferred {analysis.nodes[node_id].params} "
            f"parameters, torch has {own}"
        )
    inputs = [torch.randn(batch, *analysis.nodes[n].shape) for n in analysis.inputs]
    with torch.no_grad():
        result = model(*inputs)
    for hook in hooks:
        hook.remove()
    for node_id in analysis.order:
        if node_id in analysis.inputs:
            continue
        expected = (batch, *analysis.nodes[node_id].shape)
        assert seen.get(node_id) == expected, (
            f"{node_id} ({design.node(node_id).type} {design.node(node_id).params}): inferred "
            f"{expected}, torch gives {seen.get(node_id)}"
        )
    outputs = result if isinstance(result, tuple) else (result,)
    assert len(outputs) == len(analysis.outputs)
    for node_id, tensor in zip(analysis.outputs, outputs):
        assert tuple(tensor.shape) == (batch, *analysis.nodes[node_id].shape)
    return analysis
