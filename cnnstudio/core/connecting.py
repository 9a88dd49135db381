"""Whether a connection may be drawn, decided before it is made (pure Python, no Qt).

The canvas asks while the user drags, so a connection that cannot work is refused at the
gesture, with the reason, instead of being made and reported as an error on every layer of the
cycle afterwards; and an occupied single input is never replaced behind the user's back.
"""

from __future__ import annotations

import networkx as nx

from cnnstudio.core.design import Design


def connection_problem(design: Design, src: str, dst: str) -> str | None:
    """Why ``src`` cannot feed ``dst`` (a sentence), or None when the connection is fine."""
    if src == dst:
        return f"{src} cannot feed itself"
    if design.graph.has_edge(src, dst):
        return f"{src} is already connected to {dst}"
    target = design.node(dst).layer_type
    if target.max_inputs == 0:
        return f"{dst} is an {target.name}: it takes no input"
    inputs = design.inputs_of(dst)
    if target.max_inputs is not None and len(inputs) >= target.max_inputs:
        held = ", ".join(inputs)
        return (f"{dst} already has its input ({held}); a {target.name} takes one. Delete that "
                f"connection first, or join both with an Add or Concat layer")
    if nx.has_path(design.graph, dst, src):
        loop = " → ".join([*nx.shortest_path(design.graph, dst, src), dst])
        return f"this would make a cycle ({loop}); a network must flow one way"
    return None
