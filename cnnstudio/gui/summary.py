"""The summary: every layer with its output shape and parameters, the totals and the problems,
like torchinfo's table. Clicking a row (or a problem) selects that layer (``StudioState.select``).
The problems are the analysis's, always: an empty design's missing Input is one, as the Training
dock and the status bar say too."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QResizeEvent
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnnstudio.core.display import format_count, format_shape
from cnnstudio.gui import theme
from cnnstudio.gui.describe import plural

if TYPE_CHECKING:
    from cnnstudio.gui.state import StudioState

NODE_ROLE = Qt.ItemDataRole.UserRole
WIDE = 700  # from this width the problems sit beside the table
COLUMNS = ("Layer", "Type", "Output shape", "Param #", "Mult-adds", "Notes")


class Summary(QWidget):
    def __init__(self, state: StudioState, parent: QWidget | None = None):
        super().__init__(parent)
        self.state = state
        self.doc, self.settings = doc, settings = state.document, state.settings
        self.table = QTreeWidget()
        self.table.setHeaderLabels(list(COLUMNS))
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        self.table.setUniformRowHeights(True)
        self.table.setToolTip("Click a layer to select it on the canvas")
        header = self.table.header()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)  # fitted once per refresh
        for column in (3, 4):
            self.table.headerItem().setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.totals = QLabel()
        self.totals.setWordWrap(True)
        self.totals.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.problems_title = QLabel()
        self.problems_title.setFont(theme.heading_font(self.font()))
        self.problems = QListWidget()
        self.problems.setWordWrap(True)
        self.problems.setResizeMode(QListView.ResizeMode.Adjust)
        self.problems.setSpacing(2)
        self.problems.setToolTip("Click a problem to select its layer")

        left = QWidget()
        column = QVBoxLayout(left)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addWidget(self.table)
        column.addWidget(self.totals)
        right = QWidget()
        column = QVBoxLayout(right)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(6)
        column.addWidget(self.problems_title)
        column.addWidget(self.problems)
        self.splitter = splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 8)
        layout.addWidget(splitter)

        self.table.itemClicked.connect(self._clicked)
        self.problems.itemClicked.connect(self._clicked)
        doc.analyzed.connect(self.refresh)
        settings.channels_last_changed.connect(self.refresh)
        self.refresh()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Table beside the problems where there is room, above them in a narrow column."""
        super().resizeEvent(event)
        wide = event.size().width() >= WIDE
        orientation = Qt.Orientation.Horizontal if wide else Qt.Orientation.Vertical
        if self.splitter.orientation() != orientation:
            self.splitter.setOrientation(orientation)

    def _clicked(self, item: QTreeWidgetItem | QListWidgetItem) -> None:
        node_id = item.data(0, NODE_ROLE) if isinstance(item, QTreeWidgetItem) else item.data(NODE_ROLE)
        if node_id:
            self.state.select([node_id])

    def _row(self, node_id: str, colors: theme.Colors, channels_last: bool) -> tuple[list[str], QColor | None, str]:
        """The texts of a layer's row, its alert colour and the tooltip of its notes."""
        node, info = self.doc.design.node(node_id), self.doc.analysis.nodes[node_id]
        notes = "frozen" if node.frozen else ""
        if info.issues:
            count = len(info.errors) or len(info.warnings)
            kind = "error" if info.errors else "warning"
            notes = plural(count, kind) + (", frozen" if node.frozen else "")
        shares = [str(s) for s in info.shared]
        notes = ", ".join([notes, *shares] if notes else shares)
        texts = [node.title, node.type, format_shape(info.shape, channels_last), f"{info.params:,}", f"{info.macs:,}", notes]
        alert = colors.error if info.errors else colors.warning if info.warnings else None
        tip = [i.message for i in info.issues] + [f"{s}: counted once in the totals" for s in info.shared]
        return texts, alert, "\n".join(tip)

    def _new_item(self, node_id: str, row: tuple[list[str], QColor | None, str], colors: theme.Colors) -> QTreeWidgetItem:
        texts, alert, tip = row
        item = QTreeWidgetItem(texts)
        item.setData(0, NODE_ROLE, node_id)
        category = self.doc.design.node(node_id).layer_type.category
        item.setIcon(0, theme.swatch(colors.category(category), 10, 2.5))
        for column in (3, 4):
            item.setTextAlignment(column, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self._mark(item, alert, tip)
        return item

    @staticmethod
    def _mark(item: QTreeWidgetItem, alert: QColor | None, tip: str) -> None:
        if item.toolTip(5) != tip:  # every change costs a relayout: touch only what changed
            item.setData(5, Qt.ItemDataRole.ForegroundRole, alert)  # None: the palette's text colour
            item.setToolTip(5, tip)

    def refresh(self) -> None:
        design, analysis = self.doc.design, self.doc.analysis
        colors = theme.colors()
        channels_last = self.settings.channels_last
        rows = [self._row(node_id, colors, channels_last) for node_id in analysis.order]
        table = self.table
        same_layers = table.topLevelItemCount() == len(rows) and all(
            table.topLevelItem(i).data(0, NODE_ROLE) == node_id for i, node_id in enumerate(analysis.order)
        )
        if same_layers:  # the usual edit: update the rows in place, no flicker, no lost scroll
            for i, (texts, alert, tip) in enumerate(rows):
                item = table.topLevelItem(i)
                for column, text in enumerate(texts):
                    if item.text(column) != text:
                        item.setText(column, text)
                self._mark(item, alert, tip)
        else:
            table.clear()
            items = [self._new_item(node_id, row, colors) for node_id, row in zip(analysis.order, rows, strict=True)]
            table.addTopLevelItems(items)
        for column in range(len(COLUMNS) - 1):
            table.resizeColumnToContents(column)

        trainable = sum(analysis.nodes[n].own_params for n in analysis.order if not design.node(n).frozen)
        errors, warnings = len(analysis.errors), len(analysis.warnings)
        self.totals.setText(
            f"<b>Total params:</b> {analysis.total_params:,} &nbsp;·&nbsp; "
            f"<b>Trainable:</b> {trainable:,} &nbsp;·&nbsp; "
            f"<b>Non-trainable:</b> {analysis.total_params - trainable:,} &nbsp;·&nbsp; "
            f"<b>Mult-adds:</b> {format_count(analysis.total_macs)}"
        )

        self.problems.clear()
        issues = analysis.issues
        for issue in issues:
            item = QListWidgetItem(f"{issue.node or 'design'}: {issue.message}")
            item.setData(NODE_ROLE, issue.node)
            item.setForeground(colors.error if issue.severity == "error" else colors.warning)
            self.problems.addItem(item)
        counts = [plural(errors, "error"), plural(warnings, "warning")]
        state = ", ".join(c for c in counts if c) if issues else "none"
        self.problems_title.setText(f"Problems: {state}")

