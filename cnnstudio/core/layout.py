"""Automatic layout: layers left to right, branches stacked, for designs written without positions.

Nodes go into columns by topological generation (a node sits one column right of its furthest
input). Within a column each node goes to the mean height of its inputs, pushed apart where they
would overlap, so parallel branches stay on their own rows instead of crossing. Cycles (an invalid
design, but one that must still be shown) are collapsed first so every node gets a place.
"""

from __future__ import annotations

from statistics import fmean

import networkx as nx

from cnnstudio.core.design import Design

COLUMN_STEP = 240.0  # a card and a shape label between cards, on the 20-unit grid
ROW_STEP = 120.0


def layered_positions(
    design: Design, column_step: float = COLUMN_STEP, row_step: float = ROW_STEP
) -> dict[str, tuple[float, float]]:
    """Top-left position of every node; the first column is centred on y = 0."""
    graph = design.graph
    heights: dict[str, float] = {}
    columns = _columns(graph)
    for column in columns:
        wanted = {node_id: _mean_input_height(graph, node_id, heights) for node_id in column}
        column = sorted(column, key=wanted.__getitem__)  # stable: ties keep the design's order
        placed: list[float] = []
        for node_id in column:
            placed.append(wanted[node_id] if not placed else max(wanted[node_id], placed[-1] + row_step))
        shift = fmean(wanted.values()) - fmean(placed)  # pushing apart moved them down: re-centre
        for node_id, height in zip(column, placed, strict=True):
            heights[node_id] = height + shift
    xs = {node_id: x * column_step for x, column in enumerate(columns) for node_id in column}
    return {node_id: (xs[node_id], heights[node_id]) for node_id in graph}


def _columns(graph: nx.DiGraph) -> list[list[str]]:
    """Topological generations, each in the design's node order."""
    if nx.is_directed_acyclic_graph(graph):
        generations = list(nx.topological_generations(graph))
    else:
        condensed = nx.condensation(graph)
        generations = [
            [n for c in generation for n in condensed.nodes[c]["members"]]
            for generation in nx.topological_generations(condensed)
        ]
    order = {node_id: i for i, node_id in enumerate(graph)}
    return [sorted(generation, key=order.__getitem__) for generation in generations]


def _mean_input_height(graph: nx.DiGraph, node_id: str, heights: dict[str, float]) -> float:
    placed = [heights[src] for src in graph.pred[node_id] if src in heights]
    return fmean(placed) if placed else 0.0
