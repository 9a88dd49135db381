"""What the inspector shows for a selected group: its name (editable), what it holds, the shapes
flowing in and out, its parameters and its layers' problems, with Open/Close, Repeat and Ungroup.

It reads the design and the analysis and follows their changes; edits go through the editor.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QSpinBox, QVBoxLayout, QWidget

from cnnstudio.core import groups as grouping
from cnnstudio.core.display import format_count, format_shapes
from cnnstudio.core.repeat import MAX_TIMES
from cnnstudio.gui import theme
from cnnstudio.gui.describe import plural
from cnnstudio.gui.document import Document
from cnnstudio.gui.editor import Editor
from cnnstudio.gui.settings import Settings


class GroupPanel(QWidget):
    def __init__(self, doc: Document, editor: Editor, settings: Settings, group_id: str):
        super().__init__()
        self.doc, self.editor, self.settings, self.group_id = doc, editor, settings, group_id
        column = QVBoxLayout(self)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        title = QLabel("Group")
        title.setFont(theme.heading_font(title.font(), 1.35))
        column.addWidget(title)
        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.name = QLineEdit()
        self.name.setToolTip("The group's name, shown on its card")
        self.name.editingFinished.connect(lambda: self.editor.groups.rename_group(self.group_id, self.name.text()))
        form.addRow("name", self.name)
        self.holds, self.shape_in, self.shape_out, self.params = (QLabel() for _ in range(4))
        for label, widget in [("holds", self.holds), ("in", self.shape_in), ("out", self.shape_out),
                              ("parameters", self.params)]:
            widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            widget.setWordWrap(True)
            form.addRow(label, widget)
        column.addLayout(form)
        self.problems = QLabel()
        self.problems.setWordWrap(True)
        column.addWidget(self.problems)
        buttons = QHBoxLayout()
        self.toggle = QPushButton()
        self.toggle.clicked.connect(lambda: self.editor.groups.toggle_group(self.group_id))
        ungroup = QPushButton("Ungroup")
        ungroup.setToolTip("Dissolve the group; its layers stay (Ctrl+Shift+G)")
        ungroup.clicked.connect(self.editor.groups.ungroup_selection)
        buttons.addWidget(self.toggle)
        buttons.addWidget(ungroup)
        buttons.addStretch()
        column.addLayout(buttons)
        repeat_row = QHBoxLayout()
        repeat = QPushButton("Repeat")
        repeat.setToolTip("Chain copies of this group after it, as a stage of blocks (Ctrl+Shift+R)")
        self.times = QSpinBox()
        self.times.setRange(1, MAX_TIMES)
        self.times.setValue(2)
        self.times.setSuffix(" more")
        repeat.clicked.connect(lambda: self.editor.groups.repeat_group(self.group_id, self.times.value()))
        repeat_row.addWidget(repeat)
        repeat_row.addWidget(self.times)
        repeat_row.addStretch()
        column.addLayout(repeat_row)
        doc.analyzed.connect(self.refresh)
        doc.groups_changed.connect(self.refresh)
        settings.channels_last_changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        design = self.doc.design
        group = design.groups.get(self.group_id)
        if group is None:  # ungrouped or undone: the inspector is told by the selection
            return
        channels_last = self.settings.channels_last
        summary = grouping.summarize(design, self.doc.analysis, self.group_id)
        if not self.name.hasFocus():
            self.name.setText(group.name)
        children = len(grouping.children(design.groups, self.group_id))
        self.holds.setText(", ".join(c for c in (plural(summary.layers, "layer"), plural(children, "group")) if c))
        self.shape_in.setText(format_shapes(summary.input_shapes, channels_last))
        self.shape_out.setText(format_shapes(summary.output_shapes, channels_last))
        self.params.setText(format_count(summary.params))
        colors = theme.colors()
        lines = [
            f"<span style='color:{colors.severity(i.severity).name()}'>{html.escape(f'{i.node}: {i.message}')}</span>"
            for i in summary.issues
        ]
        self.problems.setText("<br>".join(lines))
        self.toggle.setText("Open" if group.collapsed else "Close")
        self.toggle.setToolTip("Close the group to one card, or open it in place (double-click its card)")
