"""Help: the documentation pages in a viewer, a searchable list of every shortcut, first steps.

The pages are the Markdown files of ``docs/`` (and the README), shown as they are written, with
their pictures and links between them; "Open in Browser" hands the page to the system's browser.
The shortcut list is read from the window's actions, so a new action's shortcut appears without
touching this module; canvas gestures that are not actions are listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QSplitter,
    QTextBrowser,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = [  # title, file: the order of the viewer's list
    ("First steps", DOCS / "first-steps.md"),
    ("Overview (README)", ROOT / "README.md"),
    ("The studio", DOCS / "studio.md"),
    ("Training", DOCS / "training.md"),
    ("Layers", DOCS / "layers.md"),
    ("Gallery of templates", DOCS / "gallery.md"),
    ("Design file format", DOCS / "design-format.md"),
]
GESTURES = [  # what is done with the mouse or keys on the canvas, beyond the menu actions
    ("Canvas", "Delete / Backspace", "Delete the selected layers and connections"),
    ("Canvas", "Arrow keys", "Nudge the selected layers by one grid step"),
    ("Canvas", "Ctrl+click", "Add a layer to the selection, or take it out"),
    ("Canvas", "Drag on empty canvas", "Select the layers in the rectangle"),
    ("Canvas", "Drag an output port to an input port", "Connect two layers"),
    ("Canvas", "Drop a layer on a connection", "Insert it into the connection"),
    ("Canvas", "Mouse wheel", "Zoom in or out at the mouse"),
    ("Canvas", "Shift+wheel", "Scroll"),
    ("Canvas", "Middle drag, or Space+drag", "Pan"),
    ("Canvas", "Right click", "The edit actions for what is under the mouse"),
    ("Layers panel", "Double-click or Enter", "Add the layer after the selected one, connected"),
]


@dataclass(frozen=True)
class Shortcut:
    where: str
    keys: str
    what: str


def shortcuts(window: QMainWindow) -> list[Shortcut]:
    """Every shortcut of the window's actions (menu, toolbar, docks), then the canvas gestures."""
    found: dict[tuple[str, str], Shortcut] = {}
    for action in window.findChildren(QAction):
        keys = ", ".join(s.toString(QKeySequence.SequenceFormat.NativeText) for s in action.shortcuts())
        what = action.text().replace("&", "").rstrip("…").strip()
        if keys and what:
            found.setdefault((keys, what), Shortcut("Menus", keys, what))
    listed = sorted(found.values(), key=lambda s: s.what.lower())
    return listed + [Shortcut(*gesture) for gesture in GESTURES]


class ShortcutsDialog(QDialog):
    """Help › Keyboard Shortcuts: every shortcut, filtered as the user types."""

    def __init__(self, window: QMainWindow):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search shortcuts, e.g. 'zoom' or 'Ctrl+'")
        self.search.setClearButtonEnabled(True)
        self.table = QTreeWidget()
        self.table.setHeaderLabels(["Shortcut", "Does", "Where"])
        self.table.setRootIsDecorated(False)
        self.table.setAlternatingRowColors(True)
        for shortcut in shortcuts(window):
            self.table.addTopLevelItem(QTreeWidgetItem([shortcut.keys, shortcut.what, shortcut.where]))
        header = self.table.header()  # keys and place fit their text; "Does" takes the rest, so "Where" is never cut
        header.setStretchLastSection(False)
        for column, mode in enumerate((QHeaderView.ResizeMode.ResizeToContents, QHeaderView.ResizeMode.Stretch,
                                       QHeaderView.ResizeMode.ResizeToContents)):
            header.setSectionResizeMode(column, mode)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.search)
        layout.addWidget(self.table, 1)
        layout.addWidget(buttons)
        self.search.textChanged.connect(self.filter)
        self.resize(620, 520)

    def filter(self, text: str) -> None:
        words = text.lower().split()
        for i in range(self.table.topLevelItemCount()):
            item = self.table.topLevelItem(i)
            haystack = " ".join(item.text(c) for c in range(3)).lower()
            item.setHidden(not all(word in haystack for word in words))

    def visible_rows(self) -> list[tuple[str, str]]:
        items = (self.table.topLevelItem(i) for i in range(self.table.topLevelItemCount()))
        return [(item.text(0), item.text(1)) for item in items if not item.isHidden()]


class DocsViewer(QDialog):
    """Help › Documentation and Help › First Steps: the docs pages, with their links and pictures."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("CNN Studio Documentation")
        self.pages = QListWidget()
        for title, path in PAGES:
            item = QListWidgetItem(title)
            item.setData(Qt.ItemDataRole.UserRole, str(path))
            item.setHidden(not path.exists())
            self.pages.addItem(item)
        self.browser = QTextBrowser()
        self.browser.setOpenLinks(True)
        self.browser.setOpenExternalLinks(True)
        self.browser.setSearchPaths([str(DOCS), str(ROOT)])
        self.browser.sourceChanged.connect(self._source_changed)
        self.missing = QLabel(f"The documentation pages are not installed here (looked in {DOCS}).")
        self.missing.setWordWrap(True)
        self.missing.setVisible(not DOCS.exists())
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.browser_button = buttons.addButton("Open in Browser", QDialogButtonBox.ButtonRole.ActionRole)
        self.browser_button.setToolTip("Open this page in the system's web browser or Markdown viewer")
        self.browser_button.clicked.connect(lambda: QDesktopServices.openUrl(self.browser.source()))
        buttons.rejected.connect(self.reject)
        splitter = QSplitter()
        splitter.addWidget(self.pages)
        splitter.addWidget(self.browser)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([180, 720])
        layout = QVBoxLayout(self)
        layout.addWidget(self.missing)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.pages.currentItemChanged.connect(lambda item, _: item and self.show_page(Path(item.data(Qt.ItemDataRole.UserRole))))
        self.resize(980, 680)

    def show_page(self, path: Path) -> None:
        if QUrl.fromLocalFile(str(path)) != self.browser.source():
            self.browser.setSource(QUrl.fromLocalFile(str(path)))

    def _source_changed(self, url: QUrl) -> None:
        """Follow a link between pages in the list too."""
        for i in range(self.pages.count()):
            item = self.pages.item(i)
            if Path(item.data(Qt.ItemDataRole.UserRole)) == Path(url.toLocalFile()):
                self.pages.blockSignals(True)
                self.pages.setCurrentItem(item)
                self.pages.blockSignals(False)

    def show_page_named(self, title: str) -> None:
        """Show the viewer (not modal) at the page named ``title``."""
        for i in range(self.pages.count()):
            if self.pages.item(i).text() == title:
                self.pages.setCurrentRow(i)
        self.show()
        self.raise_()
