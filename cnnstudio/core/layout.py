"""Automatic layout: layers left to right, branches stacked, for designs written without positions.

Nodes go into columns by topological generation (a node sits one column right of its furthest
input), and each column is ordered by the mean row of its inputs, so parallel branches stay side by
side instead of crossing. Cycles (an invalid design, but one that must still be shown) are
collapsed first so every node gets a place.
"""

from __future__ import annotations

from statistics import fmean

import networkx as nx

from cnnstudio.core.design import Design

COLUMN_STEP = 230.0
ROW_STEP = 120.0


def layered_positions(
    design: Design, column_step: float = COLUMN_STEP, row_step: float = ROW_STEP
) -> dict[str, tuple[float, float]]:
    """Top-left position of every node; columns are vertically centred on y = 0."""
    columns = _columns(design.graph)
    rows: dict[str, float] = {}
    positions: dict[str, tuple[float, float]] = {}
    for x, column in enumerate(columns):
        column = _order_by_inputs(design.graph, column, rows)
        middle = (len(column) - 1) / 2
        for y, node_id in enumerate(column):
            rows[node_id] = y - middle
            positions[node_id] = (x * column_step, (y - middle) * row_step)
    return positions


def _columns(graph: nx.DiGraph) -> list[list[str]]:
    if nx.is_directed_acyclic_graph(graph):
        return [_in_node_order(graph, g) for g in nx.topological_generations(graph)]
    condensed = nx.condensation(graph)
    return [
        _in_node_order(graph, [n for c in generation for n in condensed.nodes[c]["members"]])
        for generation in nx.topological_generations(condensed)
    ]


def _in_node_order(graph: nx.DiGraph, members: list[str]) -> list[str]:
    order = {node_id: i for i, node_id in enumerate(graph)}
    return sorted(members, key=order.__getitem__)


def _order_by_inputs(graph: nx.DiGraph, column: list[str], rows: dict[str, float]) -> list[str]:
    """Barycentre ordering: each node goes near the mean row of its already placed inputs."""

    def key(node_id: str) -> float:
        placed = [rows[src] for src in graph.pred[node_id] if src in rows]
        return fmean(placed) if placed else 0.0

    return sorted(column, key=key)  # stable: ties keep the design's order
