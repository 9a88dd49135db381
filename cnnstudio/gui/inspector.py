"""The inspector: the selected layer's parameters as editors, its shapes with the formula filled in,
its parameter count, the frozen toggle, and its problems with one-click fixes.

A fix is offered only after it was tried on a copy of the design (:mod:`cnnstudio.core.fixes`):
one that would break another layer is not a button but a sentence saying what it breaks, next to
the alternatives that work.

Editors are built once per selected node and then only updated (a rebuild would steal the focus
from the spin box being edited); the read-only sections are rebuilt after every analysis.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.core.analysis import Issue
from cnnstudio.core.design import Node
from cnnstudio.core.display import format_shape
from cnnstudio.core.fixes import FixPreview, fixes_for
from cnnstudio.gui import theme
from cnnstudio.gui.document import Document
from cnnstudio.gui.editor import Editor
from cnnstudio.gui.group_panel import GroupPanel
from cnnstudio.gui.param_editors import ParamEditor, make_editor
from cnnstudio.gui.settings import Settings
from cnnstudio.gui.sweeps.menu import offer_sweep

SPACING = 10


def _label(text: str = "", muted: bool = False, wrap: bool = True) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(wrap)
    if wrap:  # wraps at the panel's width: a long formula or message never widens the panel past its edge
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    if muted:
        label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def _section(title: str) -> QLabel:
    label = QLabel(title.upper())
    font = theme.heading_font(label.font(), 0.85, QFont.Weight.Bold)
    font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 108)
    label.setFont(font)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    label.setContentsMargins(0, SPACING, 0, 0)
    return label


def _form() -> QFormLayout:
    form = QFormLayout()
    form.setContentsMargins(0, 0, 0, 0)
    form.setHorizontalSpacing(12)
    form.setVerticalSpacing(6)
    form.setLabelAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
    form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)  # a narrow panel puts a wide field under its name
    return form


class Inspector(QScrollArea):
    sweep_requested = Signal(str)  # right-click a parameter → Sweep…: its KEY (nodes.ID.PARAM)

    def __init__(self, doc: Document, editor: Editor, settings: Settings, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc, self.editor, self.settings = doc, editor, settings
        self.node_id: str | None = None
        self.editors: dict[str, ParamEditor] = {}
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.body = QWidget()
        self.column = QVBoxLayout(self.body)
        self.column.setContentsMargins(14, 10, 14, 14)
        self.column.setSpacing(SPACING)
        self.setWidget(self.body)
        # Editors first, so they never move while a spin box is being clicked; the live part
        # (shapes, formula, problems) changes height with every analysis.
        self.static = QWidget()  # header and parameter editors: rebuilt on selection
        self.live = QWidget()  # shapes, formula and problems: rebuilt on analysis
        self.tail = QWidget()  # id, label, frozen: rebuilt on selection
        self.frozen: QCheckBox | None = None
        self.label_edit: QLineEdit | None = None
        self.column.addWidget(self.static)
        self.column.addWidget(self.live)
        self.column.addWidget(self.tail)
        self.column.addStretch()
        doc.analyzed.connect(self._analyzed)
        doc.reset.connect(lambda: self.show_selection([]))
        settings.channels_last_changed.connect(self._analyzed)
        self.show_selection([])

    # -- selection -------------------------------------------------------------------------------
    def show_selection(self, node_ids: list[str]) -> None:
        node_id = node_ids[0] if len(node_ids) == 1 else None
        if node_id == self.node_id and node_id is not None:
            return
        self.node_id = node_id
        self.editors = {}
        self.frozen = None
        self.label_edit = None
        if node_id is None:
            text = (
                f"{len(node_ids)} layers selected."
                if node_ids
                else "Select a layer on the canvas to see its shapes and edit its parameters."
            )
            self._replace("static", self._placeholder(text))
            self._replace("live", QWidget())
            self._replace("tail", QWidget())
            return
        node = self.doc.design.node(node_id)
        self._replace("static", self._build_static(node))
        self._replace("tail", self._build_tail(node))
        self._analyzed()

    def show_group(self, group_id: str) -> None:
        """A selected group instead of a layer (see ``group_panel.py``)."""
        if isinstance(self.static, GroupPanel) and self.static.group_id == group_id:
            return  # reselected after an edit: keep the panel (and the focus in it)
        self.node_id = None
        self.editors, self.frozen, self.label_edit = {}, None, None
        self._replace("static", GroupPanel(self.doc, self.editor, self.settings, group_id))
        self._replace("live", QWidget())
        self._replace("tail", QWidget())

    def _placeholder(self, text: str) -> QWidget:
        widget = QWidget()
        column = QVBoxLayout(widget)
        column.setContentsMargins(0, 24, 0, 0)
        label = _label(text, muted=True)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        column.addWidget(label)
        return widget

    def _replace(self, slot: str, widget: QWidget) -> None:
        old: QWidget = getattr(self, slot)
        self.column.replaceWidget(old, widget)
        old.hide()
        old.deleteLater()  # a Fix button may be mid-click: delete later, not now
        setattr(self, slot, widget)

    # -- header, editors and the layer's identity ----------------------------------------------------------------------
    def _build_static(self, node: Node) -> QWidget:
        layer_type = node.layer_type
        widget = QWidget()
        column = QVBoxLayout(widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)

        title = QLabel(layer_type.name)
        title.setFont(theme.heading_font(title.font(), 1.35))
        color = theme.colors().category(layer_type.category)
        chip = QLabel(layer_type.category)
        chip.setStyleSheet(f"background: {color.name()}; color: white; border-radius: 8px; padding: 1px 8px;")
        chip.setToolTip(f"Category: {layer_type.category}")
        row = QHBoxLayout()
        row.setSpacing(8)
        row.addWidget(title)
        row.addWidget(chip, 0, Qt.AlignmentFlag.AlignVCenter)
        row.addStretch()
        column.addLayout(row)
        column.addWidget(_label(layer_type.help, muted=True))

        if layer_type.params:
            column.addWidget(_section("Parameters"))
            form = _form()
            for spec in layer_type.params:
                editor = make_editor(spec)
                editor.set_value(node.params[spec.name])
                editor.value_changed.connect(
                    lambda value, name=spec.name, source=editor: self.editor.set_param(
                        node.id, name, value, mergeable=source.stepped))
                label = QLabel(spec.name)
                label.setToolTip(editor.toolTip())
                offer_sweep(label, f"nodes.{node.id}.{spec.name}", self.sweep_requested)
                form.addRow(label, editor)
                self.editors[spec.name] = editor
            column.addLayout(form)
        return widget

    def _build_tail(self, node: Node) -> QWidget:
        widget = QWidget()
        column = QVBoxLayout(widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addWidget(_section("Layer"))
        form = _form()
        ident = _label(node.id, wrap=False)
        ident.setToolTip("The node's id: its name in design files and in the compiled model")
        form.addRow("id", ident)
        self.label_edit = QLineEdit(node.label or "")
        self.label_edit.setPlaceholderText("optional display name")
        self.label_edit.setToolTip("A display name shown on the canvas instead of the id")
        self.label_edit.editingFinished.connect(self._label_edited)
        form.addRow("label", self.label_edit)
        self.frozen = QCheckBox("keep weights fixed")
        self.frozen.setChecked(node.frozen)
        self.frozen.setToolTip("Frozen layers are not trained (e.g. a pretrained backbone)")
        self.frozen.toggled.connect(lambda on: self.editor.set_frozen(node.id, on))
        form.addRow("frozen", self.frozen)
        column.addLayout(form)
        return widget

    def _label_edited(self) -> None:
        if self.node_id is not None and self.label_edit is not None:
            self.editor.set_label(self.node_id, self.label_edit.text())

    # -- live sections ---------------------------------------------------------------------------
    def _analyzed(self) -> None:
        if self.node_id is None:
            return
        if self.node_id not in self.doc.design:
            self.show_selection([])
            return
        node = self.doc.design.node(self.node_id)
        for name, editor in self.editors.items():
            if editor.value() != node.params[name]:
                editor.set_value(node.params[name])
        if self.frozen is not None and self.frozen.isChecked() != node.frozen:
            self.frozen.blockSignals(True)
            self.frozen.setChecked(node.frozen)
            self.frozen.blockSignals(False)
        if self.label_edit is not None and not self.label_edit.hasFocus():
            self.label_edit.setText(node.label or "")
        self._replace("live", self._build_live(node))

    def _build_live(self, node: Node) -> QWidget:
        info = self.doc.analysis.nodes.get(node.id)
        channels_last = self.settings.channels_last
        widget = QWidget()
        column = QVBoxLayout(widget)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addWidget(_section("Shape"))
        form = _form()
        inputs = [format_shape(s, channels_last) for s in info.input_shapes] if info else []
        if node.layer_type.max_inputs != 0:
            form.addRow("input", _label(", ".join(inputs) or "not connected"))
        output = _label(format_shape(info.shape if info else None, channels_last))
        output.setFont(theme.heading_font(output.font()))
        output.setObjectName("output-shape")
        form.addRow("output", output)
        shared = "".join(f"; {s}" for s in info.shared) if info else ""
        count = _label((f"{info.params:,}" if info else "0") + shared)
        count.setObjectName("parameters")
        form.addRow("parameters", count)
        form.addRow("mult-adds", _label(f"{info.macs:,}" if info else "0"))
        column.addLayout(form)
        if info and info.formulas:
            column.addWidget(_section("Formula"))
            formula = _label("\n".join(info.formulas))
            formula.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
            formula.setObjectName("formula")
            formula.setToolTip("How the output size follows from the input and the parameters")
            column.addWidget(formula)
        if info and info.issues:
            column.addWidget(_section("Problems"))
            for issue in info.issues:
                column.addWidget(self._issue_box(issue))
        return widget

    def _issue_box(self, issue: Issue) -> QWidget:
        color = theme.colors().severity(issue.severity)
        box = QFrame()
        box.setObjectName("issue")
        box.setStyleSheet(
            f"#issue {{ border-left: 3px solid {color.name() if color else 'gray'}; padding-left: 6px; }}"
        )
        column = QVBoxLayout(box)
        column.setContentsMargins(8, 2, 0, 2)
        column.setSpacing(4)
        kind = "Error" if issue.severity == "error" else "Warning"
        column.addWidget(_label(f"<b>{kind}.</b> {html.escape(issue.message)}"))
        if issue.fix is not None:
            previews = fixes_for(self.doc.design, issue, self.doc.analysis)
            own = previews[0]
            if not own.works:
                note = _label(f"{html.escape(own.describe().rstrip('.'))}.", muted=True)
                note.setObjectName("fix-breaks")
                column.addWidget(note)
            for preview in previews:
                if preview.works:
                    column.addWidget(self._fix_button(preview), 0, Qt.AlignmentFlag.AlignLeft)
        return box

    def _fix_button(self, preview: FixPreview) -> QPushButton:
        button = QPushButton(f"Fix: {preview.fix.label}")
        button.setToolTip("Apply this change (undoable); it was tried first and leaves the design without new errors")
        button.clicked.connect(lambda: self.editor.apply_fix(preview.fix))
        return button
