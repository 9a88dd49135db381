"""Repeat a group N times in a chain (a "stage"): ResNet's layer1 is one block three times.

:func:`plan_repeat` works out every change without making it, so the studio can apply the same
plan through its document (one undoable command) and :func:`repeat_group` applies it here. Copy k
gets new unique ids (``layer1.0.conv1`` becomes ``layer1.1.conv1`` when node ids start with the
group id, else ``conv1_2``), takes the previous copy's output as its input, and the layers that
consumed the group's output now consume the last copy's. Copies are placed to the right of the
group and everything right of it moves over to make room.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from cnnstudio.core import groups as grouping
from cnnstudio.core.design import Design, DesignError, Node
from cnnstudio.core.groups import Group
from cnnstudio.core.layout import COLUMN_STEP

Pos = tuple[float, float]
MAX_TIMES = 64


@dataclass
class RepeatPlan:
    nodes: list[Node]  # the copies, in order
    edges: list[tuple[str, str, int]]  # every edge into a copy, in input order
    rewired: list[tuple[str, str, str, int]]  # (old source, new source, consumer, input index)
    groups: dict[str, Group]  # every group of the design afterwards
    outputs: list[str] | None  # the explicit output order afterwards (None: the design has none)
    moves: dict[str, tuple[Pos, Pos]]  # nodes moved right to make room: (old, new)
    copies: list[str]  # the ids of the new groups, copy 2 first


def plan_repeat(design: Design, group_id: str, times: int) -> RepeatPlan:
    """Plan ``times`` more copies of ``group_id`` after it. The group must be fed by one layer
    and hand on one output, so that the copies can chain."""
    if group_id not in design.groups:
        raise DesignError(f"there is no group '{group_id}'")
    if not 1 <= times <= MAX_TIMES:
        raise DesignError(f"repeat between 1 and {MAX_TIMES} more times, not {times}")
    group = design.groups[group_id]
    edge = grouping.boundary(design, group_id)
    if len(edge.sources) != 1:
        fed = ", ".join(edge.sources) or "nothing"
        raise DesignError(f"'{group.name}' cannot repeat in a chain: it must be fed by one layer, not {fed}")
    if len(edge.exit_nodes) != 1:
        out = ", ".join(edge.exit_nodes) or "nothing"
        raise DesignError(f"'{group.name}' cannot repeat in a chain: it must hand on one output, not {out}")
    out = edge.exit_nodes[0]
    inside = grouping.members(design.groups, group_id)
    inner_groups = [group_id, *grouping.descendants(design.groups, group_id)]
    span = COLUMN_STEP if group.collapsed else _span(design, inside)

    groups = copy.deepcopy(design.groups)
    taken_ids = set(design.graph)
    nodes: list[Node] = []
    edges: list[tuple[str, str, int]] = []
    copies: list[str] = []
    previous_out = out
    for k in range(1, times + 1):
        new_group = {group_id: grouping.numbered(group_id, k, groups)}
        taken_groups = set(groups) | {new_group[group_id]}
        for inner in inner_groups[1:]:
            new_group[inner] = _fresh_id(inner, group_id, new_group[group_id], k, taken_groups)
        renamed = {n: _fresh_id(n, group_id, new_group[group_id], k, taken_ids) for n in inside}
        for old_id in inner_groups:
            old = design.groups[old_id]
            groups[new_group[old_id]] = Group(
                new_group[old_id],
                grouping.numbered(old.name, k, [g.name for g in groups.values()]),
                [renamed[n] for n in old.nodes],
                new_group.get(old.parent, old.parent),  # type: ignore[arg-type]
                old.collapsed,
            )
        copies.append(new_group[group_id])
        for node_id in inside:
            node = design.node(node_id)
            pos = None if node.pos is None else (node.pos[0] + k * span, node.pos[1])
            nodes.append(Node(renamed[node_id], node.type, copy.deepcopy(node.params), pos, node.frozen, node.label))
            for index, src in enumerate(design.inputs_of(node_id)):
                new_src = renamed[src] if src in renamed else previous_out
                edges.append((new_src, renamed[node_id], index))
        previous_out = renamed[out]
    rewired = [(out, previous_out, dst, index) for src, dst, index in edge.exits]
    outputs = None if design.output_order is None else [previous_out if n == out else n for n in design.output_order]
    moves = _make_room(design, inside, span * times, group.collapsed)
    return RepeatPlan(nodes, edges, rewired, groups, outputs, moves, copies)


def repeat_group(design: Design, group_id: str, times: int) -> RepeatPlan:
    """Repeat ``group_id`` in the design itself (the studio applies the plan through its document)."""
    plan = plan_repeat(design, group_id, times)
    for node_id, (_, new) in plan.moves.items():
        design.node(node_id).pos = new
    for node in plan.nodes:
        design.insert_node(node)
    for src, dst, index in plan.edges:
        design.connect(src, dst, index)
    for old, new, dst, index in plan.rewired:
        design.disconnect(old, dst)
        design.connect(new, dst, index)
    design.output_order = plan.outputs
    design.set_groups(plan.groups)
    return plan


def _fresh_id(node_id: str, group_id: str, new_group_id: str, k: int, taken: set[str]) -> str:
    """The id of copy ``k`` of a member (node or inner group), added to ``taken``."""
    prefix = group_id + "."
    candidate = new_group_id + node_id[len(group_id):] if node_id.startswith(prefix) else f"{node_id}_{k + 1}"
    fresh, extra = candidate, 1
    while fresh in taken:
        extra += 1
        fresh = f"{candidate}_{extra}"
    taken.add(fresh)
    return fresh


def _span(design: Design, inside: list[str]) -> float:
    """How far right each copy of an open group goes: its width plus one column (a collapsed
    group is one card, so its copies go one column apart)."""
    xs = [design.node(n).pos[0] for n in inside if design.node(n).pos is not None]  # type: ignore[index]
    return (max(xs) - min(xs) if xs else 0.0) + COLUMN_STEP


def _make_room(design: Design, inside: list[str], shift: float, collapsed: bool) -> dict[str, tuple[Pos, Pos]]:
    """Move every other node right of the group (of its card, when collapsed) over by ``shift``."""
    xs = [design.node(n).pos[0] for n in inside if design.node(n).pos is not None]  # type: ignore[index]
    if not xs:
        return {}
    right = min(xs) if collapsed else max(xs)
    members = set(inside)
    return {
        node.id: (node.pos, (node.pos[0] + shift, node.pos[1]))
        for node in design.nodes
        if node.pos is not None and node.id not in members and node.pos[0] > right
    }
