"""The rename dialog of runs and groups (D19).

``QInputDialog.getText`` sizes itself for a short label, so a run's folder name
("2026-12-07_07-48-12 figure21") was cut in its field and a window manager cut the title. This
dialog's title says what is renamed ("Rename Run"), its label names the old name, and it is wide
enough for the title, the label and the whole old name, up to :data:`WIDEST` pixels.
"""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QInputDialog, QLineEdit, QWidget

WIDEST = 640  # a longer name scrolls in its field
TITLE_BAR = 120  # a title bar's buttons and the room a window manager keeps around a title


def rename_dialog(parent: QWidget | None, kind: str, old: str) -> QInputDialog:
    """The dialog (not yet shown) that renames the ``kind`` ("Run", "Group") named ``old``."""
    dialog = QInputDialog(parent)
    dialog.setInputMode(QInputDialog.InputMode.TextInput)
    dialog.setWindowTitle(f"Rename {kind}")
    dialog.setLabelText(f"New name for {kind.lower()} “{old}”:")
    dialog.setTextValue(old)
    field = dialog.findChild(QLineEdit)  # QInputDialog sets its own size: the field's width widens it
    metrics = field.fontMetrics()
    text_room = metrics.horizontalAdvance(old) + 4 * metrics.averageCharWidth()  # the frame and cursor
    title_room = dialog.fontMetrics().horizontalAdvance(dialog.windowTitle()) * 1.3 + TITLE_BAR  # a bold title font
    label_room = dialog.fontMetrics().horizontalAdvance(dialog.labelText())
    margins = dialog.layout().contentsMargins()
    field.setMinimumWidth(int(min(WIDEST, max(text_room, label_room, title_room - margins.left() - margins.right()))))
    return dialog


def ask_new_name(parent: QWidget | None, kind: str, old: str) -> str | None:
    """The name typed, or None if the dialog was cancelled."""
    dialog = rename_dialog(parent, kind, old)
    accepted = dialog.exec() == QDialog.DialogCode.Accepted
    name = dialog.textValue()
    dialog.deleteLater()
    return name if accepted else None
