"""Typed access to the studio's persistent settings (QSettings), with change signals.

Keeping every key in one place means no widget reads a misspelt key, and tests can point the whole
studio at a throwaway settings file by passing their own :class:`QSettings`.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QObject, QSettings, Signal

MAX_RECENT = 8
APP_NAME = "CNN Studio"


class Settings(QObject):
    channels_last_changed = Signal(bool)
    recent_changed = Signal()

    def __init__(self, store: QSettings | None = None, parent: QObject | None = None):
        super().__init__(parent)
        # named here, not through the application's organisation (which would double the data folders)
        self.store = store if store is not None else QSettings(APP_NAME, APP_NAME)

    # -- display ---------------------------------------------------------------------------------
    @property
    def channels_last(self) -> bool:
        return bool(self.store.value("view/channels_last", True, type=bool))

    @channels_last.setter
    def channels_last(self, value: bool) -> None:
        if value != self.channels_last:
            self.store.setValue("view/channels_last", value)
            self.channels_last_changed.emit(value)

    @property
    def snap_to_grid(self) -> bool:
        return bool(self.store.value("view/snap_to_grid", True, type=bool))

    @snap_to_grid.setter
    def snap_to_grid(self, value: bool) -> None:
        self.store.setValue("view/snap_to_grid", value)

    # -- files -----------------------------------------------------------------------------------
    @property
    def recent_files(self) -> list[str]:
        value = self.store.value("files/recent", [])
        if isinstance(value, str):  # QSettings returns a lone string for one-element lists
            return [value]
        return [str(v) for v in value or []]

    def add_recent(self, path: str) -> None:
        recent = [path] + [p for p in self.recent_files if p != path]
        self.store.setValue("files/recent", recent[:MAX_RECENT])
        self.recent_changed.emit()

    def remove_recent(self, path: str) -> None:
        self.store.setValue("files/recent", [p for p in self.recent_files if p != path])
        self.recent_changed.emit()

    def clear_recent(self) -> None:
        self.store.setValue("files/recent", [])
        self.recent_changed.emit()

    @property
    def last_folder(self) -> str:
        return str(self.store.value("files/last_folder", ""))

    @last_folder.setter
    def last_folder(self, folder: str) -> None:
        self.store.setValue("files/last_folder", folder)

    # -- window ----------------------------------------------------------------------------------
    def window_state(self, screen: str) -> tuple[QByteArray | None, QByteArray | None]:
        """The window's geometry and dock arrangement saved for a screen of this size ("1440x900")."""
        return self.store.value(f"window/{screen}/geometry"), self.store.value(f"window/{screen}/state")

    def save_window_state(self, screen: str, geometry: QByteArray, state: QByteArray) -> None:
        self.store.setValue(f"window/{screen}/geometry", geometry)
        self.store.setValue(f"window/{screen}/state", state)
