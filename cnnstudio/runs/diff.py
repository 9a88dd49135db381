"""What changed between two runs: their settings, and their designs node by node (the model diff)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class DesignDiff:
    """Node ids of the newer design against the older: added, removed, and changed (with how)."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: dict[str, list[str]] = field(default_factory=dict)  # node -> "kernel_size 5 → 3", ...
    rewired: bool = False  # the connections differ

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.rewired)

    def describe(self) -> list[str]:
        parts = [f"+{node}" for node in self.added] + [f"−{node}" for node in self.removed]
        parts += [f"{node}: {', '.join(how)}" for node, how in self.changed.items()]
        if self.rewired and not (self.added or self.removed):
            parts.append("connections changed")
        return parts


def _nodes(design: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {node["id"]: node for node in design.get("nodes", []) if isinstance(node, dict) and "id" in node}


def _edges(design: dict[str, Any]) -> set[tuple[str, str]]:
    return {(str(edge[0]), str(edge[1])) for edge in design.get("edges", []) if isinstance(edge, list) and len(edge) >= 2}


def design_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> DesignDiff:
    """Nodes matched by id; a node whose type changed counts as changed."""
    before, after = _nodes(old or {}), _nodes(new or {})
    diff = DesignDiff(added=[n for n in after if n not in before], removed=[n for n in before if n not in after])
    for node_id in (n for n in after if n in before):
        a, b = before[node_id], after[node_id]
        how = [] if a.get("type") == b.get("type") else [f"{a.get('type')} → {b.get('type')}"]
        params_a, params_b = a.get("params", {}), b.get("params", {})
        how += [f"{key} {_short(params_a.get(key))} → {_short(params_b.get(key))}"
                for key in dict.fromkeys([*params_a, *params_b]) if params_a.get(key) != params_b.get(key)]
        if bool(a.get("frozen")) != bool(b.get("frozen")):
            how.append("frozen" if b.get("frozen") else "unfrozen")
        if how:
            diff.changed[node_id] = how
    diff.rewired = _edges(old or {}) != _edges(new or {})
    return diff


def settings_diff(old: dict[str, Any] | None, new: dict[str, Any] | None) -> list[str]:
    """``lr 0.01 → 0.001`` for every setting that differs. Settings files hold every key, so a key
    only one side has is a setting added by a later version (an older run's): not a change."""
    old, new = old or {}, new or {}
    return [f"{key} {_short(old[key])} → {_short(new[key])}" for key in new if key in old and old[key] != new[key]]


def changes(old_settings: dict | None, new_settings: dict | None, old_design: dict | None, new_design: dict | None) -> str:
    """One line: what a run changed from the one before it. Settings or a design that a run from
    before the run store does not record (empty, None) are not compared, and the line says so."""
    known = {"settings": bool(old_settings and new_settings), "design": old_design is not None and new_design is not None}
    parts = settings_diff(old_settings, new_settings) if known["settings"] else []
    parts += design_diff(old_design, new_design).describe() if known["design"] else []
    if parts:
        return "; ".join(parts)
    if all(known.values()):
        return "same settings and design"
    same = [f"same {what}" for what, ok in known.items() if ok]
    return "; ".join([*same, f"{' and '.join(w for w, ok in known.items() if not ok)} not known (older run)"])


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, list):
        return "x".join(map(str, value)) if all(isinstance(v, int) for v in value) else str(value)
    return str(value)
