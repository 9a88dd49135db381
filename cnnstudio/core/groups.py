"""Groups: named sets of nodes that the studio can draw as one card, nested through ``parent``.

Groups are annotations only. Shape inference, the compiler, export and training never look at
them, so a grouped design computes exactly what it computed before ("see through"). A group lists
the nodes directly in it; the nodes of its child groups belong to those, so a node is in at most
one group, its innermost. The functions here are pure queries and checks over a ``dict`` of
groups, shared by :class:`~cnnstudio.core.design.Design`, the design file and the studio.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Container, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from cnnstudio.core.analysis import Analysis, Issue
    from cnnstudio.core.catalogue import Shape
    from cnnstudio.core.design import Design


@dataclass
class Group:
    id: str
    name: str
    nodes: list[str] = field(default_factory=list)
    parent: str | None = None
    collapsed: bool = True


Groups = Mapping[str, Group]


def card_position(positions: Iterable[tuple[float, float]]) -> tuple[float, float]:
    """Where a closed group's card goes, given its members' positions: on its first member in
    reading order (the topmost, then the leftmost). The card takes the place of one of its own
    layers, so it never covers a layer outside the group, as the top-left corner of the members'
    box would when a chain folded into rows puts the group's first layers at the end of one row
    and its last layers at the start of the next (under that corner sit other layers)."""
    return min(positions, key=lambda xy: (xy[1], xy[0]), default=(0.0, 0.0))


def children(groups: Groups, group_id: str | None) -> list[str]:
    """The groups directly inside ``group_id`` (``None``: the top-level groups), in order."""
    return [g.id for g in groups.values() if g.parent == group_id]


def _children_index(groups: Groups) -> dict[str | None, list[str]]:
    """parent -> its child groups, in order: one pass, so walking the tree costs the groups once."""
    kids: dict[str | None, list[str]] = {}
    for group in groups.values():
        kids.setdefault(group.parent, []).append(group.id)
    return kids


def descendants(groups: Groups, group_id: str) -> list[str]:
    """Every group inside ``group_id``, at any depth, parents before their children (each once,
    even where parents loop)."""
    kids = _children_index(groups)
    found: list[str] = []
    seen = {group_id}
    todo = deque(kids.get(group_id, []))
    while todo:
        child = todo.popleft()
        if child not in seen:
            seen.add(child)
            found.append(child)
            todo.extend(kids.get(child, []))
    return found


def members(groups: Groups, group_id: str) -> list[str]:
    """Every node in ``group_id`` or in one of its child groups, at any depth."""
    return [n for g in [group_id, *descendants(groups, group_id)] for n in groups[g].nodes]


def ancestors(groups: Groups, group_id: str) -> list[str]:
    """The enclosing groups of ``group_id``, innermost first (stops at a loop or unknown parent)."""
    chain: list[str] = []
    seen = {group_id}
    parent = groups[group_id].parent
    while parent is not None and parent in groups and parent not in seen:
        chain.append(parent)
        seen.add(parent)
        parent = groups[parent].parent
    return chain


@dataclass(frozen=True)
class Tree:
    """The child groups and all the members of every group, worked out in one pass, for code
    that asks about every group of a big design (the canvas)."""

    children: dict[str | None, list[str]]
    members: dict[str, list[str]]


def tree(groups: Groups) -> Tree:
    """Children first, without recursion: a chain of 200,000 nested groups is as cheap as a flat list."""
    kids = _children_index(groups)
    inside: dict[str, list[str]] = {}
    for root in groups:
        if root in inside:
            continue
        inside[root] = []  # a loop of parents (an invalid set) ends where it meets a group seen
        stack = [(root, iter(kids.get(root, [])))]
        while stack:
            group_id, pending = stack[-1]
            child = next(pending, None)
            if child is None:
                stack.pop()
                own = [*groups[group_id].nodes]
                for kid in kids.get(group_id, []):
                    own += inside[kid]
                inside[group_id] = own
            elif child not in inside:
                inside[child] = []
                stack.append((child, iter(kids.get(child, []))))
    return Tree(kids, inside)


def node_index(groups: Groups) -> dict[str, str]:
    """node id -> the group it is directly in, for every grouped node (one pass, for big designs)."""
    return {node_id: g.id for g in groups.values() for node_id in g.nodes}


def shown_as(groups: Groups, group_id: str | None) -> str | None:
    """Where a node directly in ``group_id`` is drawn: the outermost collapsed group around it
    (``group_id`` itself included), or ``None`` when every enclosing group is open."""
    if group_id is None:
        return None
    outermost = None
    for candidate in [group_id, *ancestors(groups, group_id)]:
        if groups[candidate].collapsed:
            outermost = candidate
    return outermost


def problems(groups: Groups, node_ids: Container[str]) -> list[tuple[str, str]]:
    """Everything wrong with a set of groups, as (group id, sentence): unknown nodes, a node in
    two groups or listed twice, an unknown parent, parents that loop."""
    found: list[tuple[str, str]] = []
    owner: dict[str, str] = {}
    for group in groups.values():
        if not isinstance(group.id, str) or not group.id.strip():
            found.append((str(group.id), "a group id must be a non-empty string"))
        for node_id in group.nodes:
            if node_id not in node_ids:
                found.append((group.id, f"lists '{node_id}', which is not a node"))
            elif owner.get(node_id) == group.id:
                found.append((group.id, f"lists '{node_id}' twice"))
            elif node_id in owner:
                found.append((group.id, f"lists '{node_id}', which is already in group '{owner[node_id]}'; "
                                        "a node belongs to one group, its innermost"))
            else:
                owner[node_id] = group.id
        if group.parent is not None and group.parent not in groups:
            found.append((group.id, f"its parent '{group.parent}' is not a group"))
    for loop in parent_loops(groups):
        found.append((loop[0], "its parents form a loop: " + _chain([*loop, loop[0]])))
    return found


def parent_loops(groups: Groups) -> list[list[str]]:
    """Each loop of parents once, starting at its first group in ``groups``' order. One walk up
    from every group, never walking a group twice: linear in the number of groups."""
    order = {group_id: index for index, group_id in enumerate(groups)}
    done: set[str] = set()
    loops: list[list[str]] = []
    for start in groups:
        path: list[str] = []
        at: dict[str, int] = {}
        group_id: str | None = start
        while group_id is not None and group_id in groups and group_id not in done:
            if group_id in at:
                loop = path[at[group_id]:]
                first = min(range(len(loop)), key=lambda i: order[loop[i]])
                loops.append(loop[first:] + loop[:first])
                break
            at[group_id] = len(path)
            path.append(group_id)
            group_id = groups[group_id].parent
        done.update(path)
    return loops


def _chain(ids: list[str], most: int = 8) -> str:
    """``a -> b -> a``; a long loop names its first and last groups and counts the rest."""
    if len(ids) <= most:
        return " -> ".join(ids)
    return f"{' -> '.join(ids[:most // 2])} -> ... -> {' -> '.join(ids[-most // 2:])} ({len(ids) - 1:,} groups)"


def numbered(name: str, step: int, taken: Iterable[str]) -> str:
    """``name`` with its trailing number moved on by ``step`` (``block1`` -> ``block2``,
    ``layer1.0`` -> ``layer1.1``), or `` 2``, `` 3``... appended; never one of ``taken``."""
    taken = set(taken)
    stem = name.rstrip("0123456789")
    digits = name[len(stem):]
    start = int(digits) if digits else 1
    if not digits:
        stem += " "
    number = start + step
    while f"{stem}{number}" in taken:
        number += 1
    return f"{stem}{number}"


# -- a group seen from outside: what flows in and out, what it holds --------------------------------


@dataclass(frozen=True)
class Boundary:
    """The edges that cross a group's edge: ``entries`` (outside -> member, as (src, dst, input
    index)), ``exits`` (member -> outside) and the members that are model outputs."""

    entries: list[tuple[str, str, int]]
    exits: list[tuple[str, str, int]]
    outputs: list[str]

    @property
    def sources(self) -> list[str]:
        """The outside nodes feeding the group, each once, in order."""
        return list(dict.fromkeys(src for src, _, _ in self.entries))

    @property
    def exit_nodes(self) -> list[str]:
        """The members whose output leaves the group, each once, in order."""
        return list(dict.fromkeys([*(src for src, _, _ in self.exits), *self.outputs]))


def boundary(design: Design, group_id: str, inside: list[str] | None = None) -> Boundary:
    """What crosses the group's edge, in the order of its members (``inside``: its members, if
    already known). Costs only the members and their connections, however big the design."""
    inside = members(design.groups, group_id) if inside is None else inside
    within = set(inside)
    explicit = None if design.output_order is None else set(design.output_order)
    entries, exits, outputs = [], [], []
    for node_id in inside:
        entries += [(src, node_id, i) for i, src in enumerate(design.inputs_of(node_id)) if src not in within]
        successors = design.outputs_of(node_id)
        for dst in successors:
            if dst not in within:
                exits.append((node_id, dst, design.inputs_of(dst).index(node_id)))
        is_output = node_id in explicit if explicit is not None else not successors and design.node(node_id).type != "Input"
        if is_output:
            outputs.append(node_id)
    return Boundary(entries, exits, outputs)


@dataclass(frozen=True)
class Summary:
    """What a collapsed group's card shows: the shapes in and out, the parameters it holds, and
    the problems of its members (so an error inside a closed group still shows)."""

    layers: int
    input_shapes: list[Shape | None]
    output_shapes: list[Shape | None]
    params: int
    issues: list[Issue]


def summarize(design: Design, analysis: Analysis, group_id: str, inside: list[str] | None = None) -> Summary:
    inside = members(design.groups, group_id) if inside is None else inside
    edge = boundary(design, group_id, inside)

    def shape(node_id: str) -> Shape | None:
        info = analysis.nodes.get(node_id)
        return info.shape if info else None

    infos = [analysis.nodes[n] for n in inside if n in analysis.nodes]
    return Summary(
        layers=len(inside),
        input_shapes=[shape(n) for n in edge.sources],
        output_shapes=[shape(n) for n in edge.exit_nodes],
        # a tensor shared with another member counts once; one shared with a node outside counts here too
        params=sum(info.own_params + sum(s.params for s in info.shared if s.owner not in inside) for info in infos),
        issues=[issue for info in infos for issue in info.issues],
    )


def free_inputs(design: Design, group_id: str) -> list[str]:
    """The members a new connection into the group's card can go to: those that take an input and
    still miss one (a layer with none yet, a two-input layer with one). A merge layer that already
    has inputs is not free: adding one more to it is rarely what a drop on a card means."""
    free = []
    for node_id in members(design.groups, group_id):
        most, count = design.node(node_id).layer_type.max_inputs, len(design.inputs_of(node_id))
        if most != 0 and (count == 0 or (most is not None and count < most)):
            free.append(node_id)
    return free


def group_outputs(design: Design, group_id: str) -> list[str]:
    """The members a new connection from the group's card can start at: those whose output leaves
    the group or is a model output, and those that feed nothing inside it (its ends)."""
    inside = members(design.groups, group_id)
    within = set(inside)
    leaving = set(boundary(design, group_id, inside).exit_nodes)
    return [n for n in inside if n in leaving or not within.intersection(design.outputs_of(n))]
