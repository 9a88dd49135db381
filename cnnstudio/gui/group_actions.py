"""The group actions of the studio: Group (Ctrl+G), Ungroup (Ctrl+Shift+G), Open/Close, Rename
and Repeat, with their small dialogs, as :class:`~cnnstudio.gui.registry.ActionSpec`s of the state.
The editor makes the commands; this only asks the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QApplication, QInputDialog

from cnnstudio.core.repeat import MAX_TIMES
from cnnstudio.gui import rename_dialog
from cnnstudio.gui.registry import ActionSpec

if TYPE_CHECKING:
    from cnnstudio.gui.state import StudioState


class GroupActions:
    def __init__(self, state: StudioState):
        self.state = state
        groups = state.editor.groups
        self.actions = [
            ActionSpec("group", "&Group", groups.group_selection, "Ctrl+G", "Put the selected layers into a group"),
            ActionSpec("ungroup", "&Ungroup", groups.ungroup_selection, "Ctrl+Shift+G", "Dissolve the selected group"),
            ActionSpec("toggle-group", "&Open or Close Group", self._toggle, "Ctrl+Shift+O",
                       "Show the group as one card, or open it in place (also: double-click, or its ▸ arrow)"),
            ActionSpec("rename-group", "Re&name Group…", self._rename, None, "Give the selected group a new name"),
            ActionSpec("repeat-group", "&Repeat Group…", self._repeat, "Ctrl+Shift+R",
                       "Chain copies of the selected group after it, as a stage of blocks"),
        ]

    def _target(self) -> str | None:
        group_id = self.state.editor.groups.selected_group()
        if group_id is None:
            self.state.show_message("Select one group first")
        return group_id

    def _toggle(self) -> None:
        group_id = self._target()
        if group_id is not None:
            self.state.editor.groups.toggle_group(group_id)

    def _rename(self) -> None:
        group_id = self._target()
        if group_id is None:
            return
        old = self.state.design.groups[group_id].name
        name = rename_dialog.ask_new_name(QApplication.activeWindow(), "Group", old)
        if name is not None:
            self.state.editor.groups.rename_group(group_id, name)

    def _repeat(self) -> None:
        group_id = self._target()
        if group_id is None:
            return
        name = self.state.design.groups[group_id].name
        times, ok = QInputDialog.getInt(
            QApplication.activeWindow(), "Repeat Group", f"Copies of {name} to chain after it:", 2, 1, MAX_TIMES
        )
        if ok:
            self.state.editor.groups.repeat_group(group_id, times)
