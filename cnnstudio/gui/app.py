"""Starting the studio: the application object, the theme, the window, then the design.

The window is shown before anything slow happens: the design is opened (or a crashed session
offered for restore) right after, and torch is imported only in the background once the window has
painted. Any unexpected exception is shown in a dialog instead of ending the program.

Set ``CNNSTUDIO_EXIT_AFTER_PAINT=1`` to print the seconds from ``CNNSTUDIO_STARTUP_T0`` (a
``time.time()`` taken by the caller before starting the process) to the first paint, then quit:
``bench/bench_startup.py`` uses it.
"""

from __future__ import annotations

import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from cnnstudio.gui import theme
from cnnstudio.gui.gc_guard import MainThreadCollector
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import APP_NAME

IMPORTED_AT = time.time()


def run_studio(design_path: str | None = None) -> int:
    """Open the studio (with ``design_path`` if given) and run until it is closed; the exit status."""
    app = QApplication.instance() or QApplication(sys.argv[:1])
    name_application(app)
    MainThreadCollector(app)  # no cycle collection in background threads (see gc_guard.py)
    theme.apply(app)
    timing = os.environ.get("CNNSTUDIO_EXIT_AFTER_PAINT") == "1"
    window = MainWindow(probe_device=not timing)
    if timing:
        started = float(os.environ.get("CNNSTUDIO_STARTUP_T0", IMPORTED_AT))
        window.first_painted.connect(lambda: (print(f"first paint {time.time() - started:.3f} s", flush=True), app.quit()))
    else:
        sys.excepthook = _excepthook(window)
    window.show()
    QTimer.singleShot(0, lambda: window.start(Path(design_path) if design_path else None))
    return app.exec()


def name_application(app: QApplication) -> None:
    """The application's name, once: with an organisation name too, Qt's data folders would be
    ".../CNN Studio/CNN Studio/" (the settings name both explicitly, see settings.py)."""
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)


ExceptHook = Callable[[type[BaseException], BaseException, TracebackType | None], None]


def _excepthook(window: MainWindow) -> ExceptHook:
    """Show an unexpected error in a dialog (with the traceback under Details) and keep running."""
    showing = False

    def hook(kind: type[BaseException], error: BaseException, tb: TracebackType | None) -> None:
        nonlocal showing
        details = "".join(traceback.format_exception(kind, error, tb))
        print(details, file=sys.stderr)
        if showing or issubclass(kind, KeyboardInterrupt):
            return
        showing = True
        try:
            window.autosaver.save_now()
            box = QMessageBox(window)
            box.setIcon(QMessageBox.Icon.Critical)
            box.setWindowTitle("Unexpected Error")
            box.setText(f"Something went wrong: {type(error).__name__}: {error}")
            box.setInformativeText(
                "CNN Studio keeps running and your unsaved changes are autosaved, but you may want "
                "to save under a new name. Please report this with the details below."
            )
            box.setDetailedText(details)
            box.exec()
        finally:
            showing = False

    return hook
