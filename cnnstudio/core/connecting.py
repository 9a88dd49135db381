"""What dropping a dragged connection would do, decided before it is made (pure Python, no Qt).

The canvas asks while the user drags (to light the port and say what will happen beside it), and
the editor asks again on the drop, so both say the same thing. A drop is one of:

- a plain connection;
- the replacement of a single input's connection, as node editors do: the old connection goes and
  the new one takes its place, in one undo step;
- through a collapsed group's card, the one free input (or output) inside it, or a choice among
  several;
- a refusal with its reason (a cycle, a layer that takes no input, a full two-input layer), so a
  connection that cannot work is never made and reported as an error on every layer afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from cnnstudio.core import groups as grouping
from cnnstudio.core.design import Design


@dataclass(frozen=True)
class End:
    """One end of a dragged connection: a layer, or a collapsed group's card (``group``)."""

    id: str
    group: bool = False


@dataclass(frozen=True)
class Connection:
    """A connection a drop can make; ``replaces`` is the input of ``dst`` it takes the place of."""

    src: str
    dst: str
    replaces: str | None = None

    @property
    def arrow(self) -> str:
        return f"{self.src} → {self.dst}"

    def done(self) -> str:
        """What the status bar says once it is made."""
        if self.replaces is None:
            return f"connected {self.arrow}"
        return f"replaced {self.replaces} → {self.dst} by {self.arrow}; Ctrl+Z undoes"


@dataclass(frozen=True)
class Drop:
    """What dropping here would do: the connections it may make (one is made at once, several are
    offered to choose from), or, when there are none, why (``problem``)."""

    options: tuple[Connection, ...]
    problem: str | None = None
    through: str | None = None  # the group whose card the drop goes through, by name

    @property
    def hint(self) -> str | None:
        """The sentence beside the port while dragging; None for a plain connection."""
        if not self.options:
            return self.problem
        if len(self.options) > 1:
            return f"drop to choose: {', '.join(c.arrow for c in self.options)}"
        option = self.options[0]
        if option.replaces is not None:
            return f"drop to replace the connection from {option.replaces}"
        if self.through is not None:
            return f"drop to connect {option.arrow} (inside {self.through})"
        return None


def plan_drop(design: Design, source: End, target: End) -> Drop:
    """What a connection dragged from ``source`` (an output) to ``target`` (an input) would do."""
    through = next((design.groups[e.id].name for e in (target, source) if e.group), None)
    sources, problem = _group_outputs(design, source.id) if source.group else ([source.id], None)
    if problem is None:
        targets, problem = _group_inputs(design, target.id) if target.group else ([target.id], None)
    if problem is not None:
        return Drop((), problem, through)
    options, reasons = [], []
    for src in sources:
        for dst in targets:
            planned = plan_connection(design, src, dst)
            if isinstance(planned, Connection):
                options.append(planned)
            elif planned not in reasons:
                reasons.append(planned)
    return Drop(tuple(options), None if options else "; ".join(reasons), through)


def plan_connection(design: Design, src: str, dst: str) -> Connection | str:
    """The connection ``src`` → ``dst`` (replacing dst's one input if it has it), or why not."""
    if src == dst:
        return f"{src} cannot feed itself"
    if design.graph.has_edge(src, dst):
        return f"{src} is already connected to {dst}"
    target = design.node(dst).layer_type
    if target.max_inputs == 0:
        return f"{dst} is an {target.name}: it takes no input"
    if nx.has_path(design.graph, dst, src):  # replacing an input of dst changes no path from dst
        loop = " → ".join([*nx.shortest_path(design.graph, dst, src), dst])
        return f"this would make a cycle ({loop}); a network must flow one way"
    inputs = design.inputs_of(dst)
    if target.max_inputs is None or len(inputs) < target.max_inputs:
        return Connection(src, dst)
    if target.max_inputs == 1:
        return Connection(src, dst, replaces=inputs[0])
    return (f"{dst} already has its {target.max_inputs} inputs ({', '.join(inputs)}); delete the one to "
            f"replace first")


def _group_inputs(design: Design, group_id: str) -> tuple[list[str], str | None]:
    """The free inputs inside a collapsed group, or why a connection cannot go into it."""
    free = grouping.free_inputs(design, group_id)
    if free:
        return free, None
    name = design.groups[group_id].name
    taken = "; ".join(f"{dst} takes {src}" for src, dst, _ in grouping.boundary(design, group_id).entries)
    return [], f"{name} has no free input ({taken or 'none of its layers takes one'}); open it to replace one"


def _group_outputs(design: Design, group_id: str) -> tuple[list[str], str | None]:
    ends = grouping.group_outputs(design, group_id)
    if ends:
        return ends, None
    return [], f"{design.groups[group_id].name} has no output to connect from"
