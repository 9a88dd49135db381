"""The layer palette: every catalogue type by category, searchable, with its help as a tooltip.

Drag a layer onto the canvas to add it there; double-click (or Enter) adds it after the selected
node and connects it, which builds a plain chain of layers without touching the mouse again.
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QAbstractItemView, QLineEdit, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget

from cnnstudio.core import catalogue
from cnnstudio.gui import theme
from cnnstudio.gui.canvas.view import LAYER_MIME

TYPE_ROLE = Qt.ItemDataRole.UserRole
NAME_ROOM = 34  # the icon's spacing, the item's padding and the palette's and dock's margins
HOW_TO_ADD = "<span style='color:gray'>Drag onto the canvas, or double-click to add after the selection.</span>"


class LayerTree(QTreeWidget):
    activated_type = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        # Flat: the bold category rows head their layers (double-click one to fold it), and the
        # full width goes to the names, which stay whole in a narrow dock.
        self.setIndentation(0)
        self.setRootIsDecorated(False)
        self.setItemsExpandable(True)
        self.setExpandsOnDoubleClick(True)
        self.setUniformRowHeights(True)
        self.itemDoubleClicked.connect(self._activate)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items: list[QTreeWidgetItem]) -> QMimeData:
        mime = QMimeData()
        names = [item.data(0, TYPE_ROLE) for item in items if item.data(0, TYPE_ROLE)]
        if names:
            mime.setData(LAYER_MIME, names[0].encode())
            mime.setText(names[0])
        return mime

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self._activate(self.currentItem())
            return
        super().keyPressEvent(event)

    def _activate(self, item: QTreeWidgetItem) -> None:
        name = item.data(0, TYPE_ROLE)
        if name:
            self.activated_type.emit(name)


class Palette(QWidget):
    """The dock's content: a search box above the tree of layer types."""

    add_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search layers…")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name or description, e.g. 'pool' or 'overfitting'")
        self.tree = LayerTree()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(6)
        layout.addWidget(self.search)
        layout.addWidget(self.tree)
        self.categories: dict[str, QTreeWidgetItem] = {}
        self._fill()
        self.search.textChanged.connect(self.filter)
        self.tree.activated_type.connect(self.add_requested)

    def _fill(self) -> None:
        colors = theme.colors()
        heading = theme.heading_font(self.font())
        for category in catalogue.CATEGORIES:
            group = QTreeWidgetItem([category.capitalize()])
            group.setFont(0, heading)
            group.setIcon(0, theme.swatch(colors.category(category)))
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            self.categories[category] = group
            self.tree.addTopLevelItem(group)
        for layer_type in catalogue.all_types():
            if layer_type.opaque:  # imported code only: a drawn design has nothing for it to run
                continue
            item = QTreeWidgetItem([layer_type.name])
            item.setData(0, TYPE_ROLE, layer_type.name)
            item.setIcon(0, theme.swatch(colors.category(layer_type.category), 10, 2.5))
            merge = "<br><i>Takes any number of inputs, in order.</i>" if layer_type.is_merge else ""
            item.setToolTip(0, f"<b>{layer_type.name}</b><br>{layer_type.help}{merge}<br><br>{HOW_TO_ADD}")
            item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | Qt.ItemFlag.ItemIsDragEnabled)
            self.categories[layer_type.category].addChild(item)
        self.tree.expandAll()

    def needed_width(self) -> int:
        """The dock width that shows every layer name whole: the longest name, the swatch, the
        scroll bar, the frame and the margins."""
        tree = self.tree
        names = [tree.topLevelItem(i).child(j).text(0) for i in range(tree.topLevelItemCount())
                 for j in range(tree.topLevelItem(i).childCount())]
        chrome = (tree.iconSize().width() + tree.verticalScrollBar().sizeHint().width() + 2 * tree.frameWidth()
                  + NAME_ROOM)
        return max(tree.fontMetrics().horizontalAdvance(name) for name in names) + chrome

    def filter(self, text: str) -> None:
        words = text.lower().split()
        for group in self.categories.values():
            visible = 0
            for i in range(group.childCount()):
                item = group.child(i)
                layer_type = catalogue.get(item.data(0, TYPE_ROLE))
                haystack = f"{layer_type.name} {layer_type.category} {layer_type.help}".lower()
                match = all(word in haystack for word in words)
                item.setHidden(not match)
                visible += match
            group.setHidden(visible == 0)
            group.setExpanded(True)
