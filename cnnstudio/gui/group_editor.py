"""Group edits: group a selection, ungroup, open and close in place, rename, repeat, and the
groups of pasted layers. Part of the :class:`~cnnstudio.gui.editor.Editor` (``editor.groups``):
it decides which command a group gesture is and what gets selected afterwards."""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from cnnstudio.core import groups as grouping
from cnnstudio.core.design import Design, DesignError
from cnnstudio.core.groups import Group
from cnnstudio.core.repeat import plan_repeat
from cnnstudio.gui.canvas.group_item import room_moves
from cnnstudio.gui.commands import EditGroups, RepeatGroup

if TYPE_CHECKING:
    from cnnstudio.gui.editor import Editor


class GroupEditor:
    def __init__(self, editor: Editor):
        self.editor = editor
        self.doc, self.scene = editor.doc, editor.scene
        self.scene.toggle_requested.connect(self.toggle_group)

    def group_selection(self) -> None:
        """Put the selected layers and groups into a new group, open, inside their common group."""
        groups = self.doc.design.groups
        group_ids = self.scene.selected_group_ids()
        group_ids = [g for g in group_ids if not set(grouping.ancestors(groups, g)) & set(group_ids)]
        covered = {n for g in group_ids for n in grouping.members(groups, g)}
        selected = set(self.scene.selected_node_ids()) - covered
        node_ids = [n for n in self.doc.design.graph if n in selected]  # in the design's order
        group_ids = [g for g in groups if g in group_ids]
        if not node_ids and not group_ids:
            self.editor.message.emit("Select the layers to group first")
            return
        containers = [self.doc.design.group_of(n) for n in node_ids] + [groups[g].parent for g in group_ids]
        number = 1
        while f"group{number}" in groups:
            number += 1
        scratch = Design(graph=self.doc.design.graph, groups=copy.deepcopy(groups))
        try:
            scratch.add_group(f"group{number}", node_ids, name=f"Group {number}", parent=_common_group(groups, containers),
                              collapsed=False, children=group_ids)
        except DesignError:
            self.editor.message.emit("These layers are in different groups: select layers of one group, or whole groups")
            return
        count = len(node_ids) + len(group_ids)
        self.doc.push(EditGroups(self.doc, scratch.groups, f"Group {count} item{'s' if count != 1 else ''}"))
        self.scene.select_nodes([], [f"group{number}"])

    def ungroup_selection(self) -> None:
        """Dissolve the selected groups; their layers and groups move up to the enclosing group.
        A collapsed group opens in place first, so its layers get room."""
        group_ids = self._target_groups()
        if not group_ids:
            self.editor.message.emit("Select a group to ungroup")
            return
        work = self.doc.design.copy()
        moves: dict[str, tuple[Any, Any]] = {}
        for group_id in sorted(group_ids, key=lambda g: -len(grouping.ancestors(work.groups, g))):
            if work.groups[group_id].collapsed:
                for node_id, (old, new) in room_moves(work, group_id, opening=True).items():
                    moves[node_id] = (moves.get(node_id, (old, new))[0], new)
                    work.node(node_id).pos = new
            work.remove_group(group_id)
        names = ", ".join(self.doc.design.groups[g].name for g in group_ids)
        freed = [n for g in group_ids for n in self.doc.design.groups[g].nodes]
        children = [c for g in group_ids for c in grouping.children(self.doc.design.groups, g) if c not in group_ids]
        self.doc.push(EditGroups(self.doc, work.groups, f"Ungroup {names}", moves))
        self.scene.select_nodes(freed, children)

    def toggle_group(self, group_id: str) -> None:
        self.set_collapsed(group_id, not self.doc.design.groups[group_id].collapsed)

    def set_collapsed(self, group_id: str, collapsed: bool) -> None:
        """Close a group to one card, or open it in place (the layers right of it make room)."""
        group = self.doc.design.groups[group_id]
        if group.collapsed == collapsed:
            return
        moves = room_moves(self.doc.design, group_id, opening=not collapsed)
        after = copy.deepcopy(self.doc.design.groups)
        after[group_id].collapsed = collapsed
        self.doc.push(EditGroups(self.doc, after, f"{'Close' if collapsed else 'Open'} {group.name}", moves))
        self.scene.select_nodes([], [group_id])

    def rename_group(self, group_id: str, name: str) -> None:
        name = name.strip()
        old = self.doc.design.groups[group_id].name
        if not name or name == old:
            return
        after = copy.deepcopy(self.doc.design.groups)
        after[group_id].name = name
        self.doc.push(EditGroups(self.doc, after, f"Rename group {old} to {name}"))

    def repeat_group(self, group_id: str, times: int) -> None:
        """Chain ``times`` copies of the group after it (a stage), in one undoable step."""
        try:
            plan = plan_repeat(self.doc.design, group_id, times)
        except DesignError as error:
            self.editor.message.emit(str(error))
            return
        name = self.doc.design.groups[group_id].name
        self.doc.push(RepeatGroup(self.doc, plan, f"Repeat {name} {times} more time{'s' if times != 1 else ''}"))
        self.scene.select_nodes([], plan.copies)

    def selected_group(self) -> str | None:
        """The one group the group actions apply to: the selected group, or the group of the one
        selected layer."""
        targets = self._target_groups()
        return targets[0] if len(targets) == 1 else None

    def _target_groups(self) -> list[str]:
        selected = self.scene.selected_group_ids()
        if selected:
            return selected
        groups = {self.doc.design.group_of(n) for n in self.scene.selected_node_ids()}
        return [g for g in groups if g is not None] if len(groups) == 1 else []

    def pasted(self, groups: dict[str, Group], renamed: dict[str, str]) -> dict[str, Group]:
        """Copies of pasted groups: fresh ids and names, their layers' new ids, top-level."""
        taken = set(self.doc.design.groups)
        names = [g.name for g in self.doc.design.groups.values()]
        new_ids: dict[str, str] = {}
        for group_id in groups:
            new_ids[group_id] = grouping.numbered(group_id, 1, taken) if group_id in taken else group_id
            taken.add(new_ids[group_id])
        pasted = {}
        for group_id, group in groups.items():
            name = grouping.numbered(group.name, 1, names) if group.name in names else group.name
            names.append(name)
            parent = new_ids[group.parent] if group.parent is not None else None
            pasted[new_ids[group_id]] = Group(new_ids[group_id], name, [renamed[n] for n in group.nodes], parent,
                                              group.collapsed)
        return pasted


def _common_group(groups: dict[str, Group], containers: list[str | None]) -> str | None:
    """The innermost group enclosing every container (None: the design itself)."""
    chains = [[c, *grouping.ancestors(groups, c)] if c is not None else [] for c in containers]
    for candidate in chains[0] if chains else []:
        if all(candidate in chain for chain in chains):
            return candidate
    return None
