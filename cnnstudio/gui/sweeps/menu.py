"""Right-click → Sweep… on a label of the Inspector or the training form: the label's KEY goes to
the Sweep dock through the panel's ``sweep_requested`` signal (the panels do not know the dock)."""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, SignalInstance
from PySide6.QtWidgets import QMenu, QWidget


def offer_sweep(label: QWidget, key: str, requested: SignalInstance) -> None:
    label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    label.customContextMenuRequested.connect(lambda pos: _menu(label, key, requested, pos))


def _menu(label: QWidget, key: str, requested: SignalInstance, pos: QPoint) -> None:
    menu = QMenu(label)
    action = menu.addAction("Sweep…")
    action.setToolTip(f"Try several values of {key} in a sweep (the Sweep panel)")
    action.triggered.connect(lambda: requested.emit(key))
    menu.popup(label.mapToGlobal(pos))
