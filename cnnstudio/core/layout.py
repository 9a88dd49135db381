"""Automatic layout: layers left to right, branches stacked, for designs written without positions.

Nodes go into columns by topological generation (a node sits one column right of its furthest
input). Within a column each node goes to the mean height of its inputs, pushed apart where they
would overlap, so parallel branches stay on their own rows instead of crossing. Cycles (an invalid
design, but one that must still be shown) are collapsed first so every node gets a place.

Groups are laid out from the inside out. Each group's members get their own layout, then the
group takes part in its parent's layout as one block: one card's room when it is collapsed, the
room of its members plus a frame (``FRAME_PAD``, ``FRAME_HEADER``) when it is open. A collapsed
group's members keep their layout, shifted so that the member its card sits on
(``groups.card_position``) is at the card's place, ready for when the group opens.

A long chain (an imported ResNet-50 with its stages closed, LeNet, Figure 21, and as well the
members of an opened group, such as a stage's six bottlenecks) is folded into rows of
``WRAP_COLUMNS`` that read left to right, top to bottom, so it fits a laptop screen at a readable
zoom instead of one row at a third of its size; the connections from the end of one row to the
start of the next run between the rows. A group's members are folded the same way at every
level, so an opened group is a block about as tall as wide, not one long row. Rows of four, not five: the
canvas the docks leave on a laptop is almost square (780x735 at 1280x800, 940x835 at 1440x900),
and rows of five made a band twice as wide as tall, fitted by its width (65% at 1280x800).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean

import networkx as nx

from cnnstudio.core import groups as grouping
from cnnstudio.core.design import Design

COLUMN_STEP = 240.0  # a card and a shape label between cards, on the 20-unit grid
ROW_STEP = 120.0
FRAME_PAD = 20.0  # room between an open group's frame and its members
FRAME_HEADER = 40.0  # room above an open group's members for its name
WRAP_COLUMNS = 4  # a top-level chain longer than this is folded into rows of this many
ROW_GAP = 60.0  # between folded rows, beyond the tallest block: room for the connection back

Pos = tuple[float, float]
Unit = str | tuple[str, str]  # a node id, or ("group", group id)


@dataclass
class _Block:
    """A laid-out level: positions relative to its top-left corner, and the room it takes."""

    positions: dict[str, Pos]
    width: float
    height: float


def layered_positions(
    design: Design, column_step: float = COLUMN_STEP, row_step: float = ROW_STEP
) -> dict[str, tuple[float, float]]:
    """Top-left position of every node; the first column is centred on y = 0."""
    chains = {node_id: [] for node_id in design.graph}
    for group in design.groups.values():
        for node_id in group.nodes:
            chains[node_id] = [group.id, *grouping.ancestors(design.groups, group.id)]
    return _Level(design, chains, column_step, row_step).place(None, relative=False).positions


class _Level:
    def __init__(self, design: Design, chains: dict[str, list[str]], column_step: float, row_step: float):
        self.design, self.chains = design, chains
        self.column_step, self.row_step = column_step, row_step
        self.order = {node_id: i for i, node_id in enumerate(design.graph)}

    def unit(self, node_id: str, owner: str | None) -> Unit | None:
        """What stands for ``node_id`` among the contents of ``owner``; None if it is outside."""
        chain = self.chains[node_id]
        if owner is None:
            return ("group", chain[-1]) if chain else node_id
        if owner not in chain:
            return None
        at = chain.index(owner)
        return node_id if at == 0 else ("group", chain[at - 1])

    def place(self, owner: str | None, relative: bool = True) -> _Block:
        """Lay out the contents of ``owner`` (None: the whole design)."""
        inside = list(self.design.graph) if owner is None else grouping.members(self.design.groups, owner)
        graph = nx.DiGraph()
        first: dict[Unit, int] = {}
        for node_id in sorted(inside, key=self.order.__getitem__):
            unit = self.unit(node_id, owner)
            first.setdefault(unit, self.order[node_id])  # type: ignore[arg-type]
        graph.add_nodes_from(first)
        for node_id in inside:
            dst = self.unit(node_id, owner)
            for src_id in self.design.inputs_of(node_id):
                src = self.unit(src_id, owner)
                if src is not None and src != dst:
                    graph.add_edge(src, dst)
        blocks = {unit: self._block(unit) for unit in graph}
        columns = _columns(graph, first)
        if len(columns) > WRAP_COLUMNS and all(len(column) == 1 for column in columns):
            lefts, tops = _folded([column[0] for column in columns], blocks)
        else:
            tops = self._tops(graph, blocks, columns)
            lefts = self._lefts(blocks, columns)
        positions: dict[str, Pos] = {}
        for unit, block in blocks.items():
            for node_id, (x, y) in block.positions.items():
                positions[node_id] = (lefts[unit] + x, tops[unit] + y)
        right = max(lefts[u] + b.width for u, b in blocks.items()) if blocks else 0.0
        bottom = max(tops[u] + b.height for u, b in blocks.items()) if blocks else 0.0
        left, top = min(lefts.values(), default=0.0), min(tops.values(), default=0.0)
        if relative:
            positions = {n: (x - left, y - top) for n, (x, y) in positions.items()}
        return _Block(positions, right - left, bottom - top)

    def _block(self, unit: Unit) -> _Block:
        if isinstance(unit, str):
            return _Block({unit: (0.0, 0.0)}, self.column_step, self.row_step)
        group = self.design.groups[unit[1]]
        inner = self.place(group.id)
        if group.collapsed:  # its card, on the member grouping.card_position picks, at the block's corner
            cx, cy = grouping.card_position(inner.positions.values())
            return _Block({n: (x - cx, y - cy) for n, (x, y) in inner.positions.items()}, self.column_step, self.row_step)
        shifted = {n: (x + FRAME_PAD, y + FRAME_HEADER) for n, (x, y) in inner.positions.items()}
        return _Block(shifted, inner.width + 2 * FRAME_PAD, inner.height + FRAME_HEADER + FRAME_PAD)

    def _tops(self, graph: nx.DiGraph, blocks: dict[Unit, _Block], columns: list[list[Unit]]) -> dict[Unit, float]:
        tops: dict[Unit, float] = {}

        def middle(unit: Unit) -> float:
            return tops[unit] + blocks[unit].height / 2

        for column in columns:
            wanted = {}
            for unit in column:
                placed = [middle(src) for src in graph.pred[unit] if src in tops]
                wanted[unit] = (fmean(placed) if placed else self.row_step / 2) - blocks[unit].height / 2
            column = sorted(column, key=wanted.__getitem__)  # stable: ties keep the design's order
            placed_tops: list[float] = []
            for i, unit in enumerate(column):
                floor = placed_tops[-1] + blocks[column[i - 1]].height if placed_tops else wanted[unit]
                placed_tops.append(max(wanted[unit], floor))
            shift = fmean(wanted.values()) - fmean(placed_tops)  # pushing apart moved them down: re-centre
            for unit, top in zip(column, placed_tops, strict=True):
                tops[unit] = top + shift
        return tops

    @staticmethod
    def _lefts(blocks: dict[Unit, _Block], columns: list[list[Unit]]) -> dict[Unit, float]:
        lefts: dict[Unit, float] = {}
        x = 0.0
        for column in columns:
            for unit in column:
                lefts[unit] = x
            x += max(blocks[unit].width for unit in column)
        return lefts


def _folded(chain: list[Unit], blocks: dict[Unit, _Block]) -> tuple[dict[Unit, float], dict[Unit, float]]:
    """Lefts and tops of a chain folded into rows of :data:`WRAP_COLUMNS`, each row below the last."""
    lefts: dict[Unit, float] = {}
    tops: dict[Unit, float] = {}
    y = 0.0
    for start in range(0, len(chain), WRAP_COLUMNS):
        row = chain[start:start + WRAP_COLUMNS]
        x = 0.0
        for unit in row:
            lefts[unit], tops[unit] = x, y
            x += blocks[unit].width
        y += max(blocks[unit].height for unit in row) + ROW_GAP
    return lefts, tops


def _columns(graph: nx.DiGraph, first: dict[Unit, int]) -> list[list[Unit]]:
    """Topological generations, each in the design's node order."""
    if nx.is_directed_acyclic_graph(graph):
        generations = list(nx.topological_generations(graph))
    else:
        condensed = nx.condensation(graph)
        generations = [
            [n for c in generation for n in condensed.nodes[c]["members"]]
            for generation in nx.topological_generations(condensed)
        ]
    return [sorted(generation, key=first.__getitem__) for generation in generations]
