"""The group actions of the studio: Group (Ctrl+G), Ungroup (Ctrl+Shift+G), Open/Close, Rename
and Repeat, with their small dialogs. The editor makes the commands; this only asks the user."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QInputDialog, QMenu

from cnnstudio.core.repeat import MAX_TIMES

if TYPE_CHECKING:
    from cnnstudio.gui.main_window import MainWindow


class GroupActions:
    def __init__(self, window: MainWindow):
        self.window = window
        e, a = window.editor.groups, window._action
        self.group = a("&Group", e.group_selection, "Ctrl+G", "Put the selected layers into a group")
        self.ungroup = a("&Ungroup", e.ungroup_selection, "Ctrl+Shift+G", "Dissolve the selected group")
        self.toggle = a("&Open or Close Group", self._toggle, "Ctrl+Shift+O",
                        "Show the group as one card, or open it in place (also: double-click, or its ▸ arrow)")
        self.rename = a("Re&name Group…", self._rename, None, "Give the selected group a new name")
        self.repeat = a("&Repeat Group…", self._repeat, "Ctrl+Shift+R",
                        "Chain copies of the selected group after it, as a stage of blocks")
        self.all = [self.group, self.ungroup, self.toggle, self.rename, self.repeat]

    def add_to(self, menu: QMenu) -> None:
        menu.addActions(self.all)

    def _target(self) -> str | None:
        group_id = self.window.editor.groups.selected_group()
        if group_id is None:
            self.window.statusBar().showMessage("Select one group first", 4000)
        return group_id

    def _toggle(self) -> None:
        group_id = self._target()
        if group_id is not None:
            self.window.editor.groups.toggle_group(group_id)

    def _rename(self) -> None:
        group_id = self._target()
        if group_id is None:
            return
        old = self.window.doc.design.groups[group_id].name
        name, ok = QInputDialog.getText(self.window, "Rename Group", "Name:", text=old)
        if ok:
            self.window.editor.groups.rename_group(group_id, name)

    def _repeat(self) -> None:
        group_id = self._target()
        if group_id is None:
            return
        name = self.window.doc.design.groups[group_id].name
        times, ok = QInputDialog.getInt(
            self.window, "Repeat Group", f"Copies of {name} to chain after it:", 2, 1, MAX_TIMES
        )
        if ok:
            self.window.editor.groups.repeat_group(group_id, times)
