"""Starting the studio: the application object, the theme, the window, then the design.

The window is shown before anything slow happens: the design is opened (or a crashed session
offered for restore) right after, and torch is imported only in the background once the window has
painted. Any unexpected exception is shown in a dialog instead of ending the program.

:func:`open_studio` (``cnnstudio.gui.open``) is the same studio for a Python console or Jupyter:
it returns a :class:`Studio` without running the event loop (``%gui qt`` runs it in Jupyter).

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
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design
from cnnstudio.gui import theme
from cnnstudio.gui.gc_guard import MainThreadCollector
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import APP_NAME, Settings
from cnnstudio.gui.state import StudioState

if TYPE_CHECKING:
    from torch import nn

IMPORTED_AT = time.time()


def run_studio(design_path: str | None = None) -> int:
    """Open the studio (with ``design_path`` if given) and run until it is closed; the exit status."""
    app = application()
    MainThreadCollector(app)  # no cycle collection in background threads (see gc_guard.py)
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


class Studio:
    """A studio opened from Python: its ``state`` (what the window shows; train and read activations
    there), its ``window``, and the ``workspace`` on show (settable: "design", "train", "inspect",
    "data", "experiments")."""

    def __init__(self, window: MainWindow):
        self.window = window

    @property
    def state(self) -> StudioState:
        return self.window.state

    @property
    def workspace(self) -> str:
        return self.window.workspace

    @workspace.setter
    def workspace(self, name: str) -> None:
        self.window.workspace = name

    def wait(self, done: Callable[[], bool], timeout_s: float = 60.0) -> bool:
        """Run the event loop until ``done()`` (a script without Jupyter's ``%gui qt``); False on timeout."""
        deadline = time.monotonic() + timeout_s
        while not done():
            if time.monotonic() > deadline:
                return False
            QApplication.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
            QApplication.sendPostedEvents()
            time.sleep(0.01)
        return True

    def close(self) -> None:
        self.window.doc.undo_stack.setClean()  # a script's edits are its own: no question
        self.window.close()


def open_studio(design: str | Path | Design | nn.Module | None = None, show: bool = True,
                input_shape: tuple[int, ...] | None = None, settings: Settings | None = None,
                recovery_dir: Path | None = None) -> Studio:
    """The studio with ``design``: a design file's path (opened as File › Open opens it, its runs and
    best weights loaded), a :class:`Design`, or a torch module (imported with its weights by
    :func:`cnnstudio.importers.import_model`; ``input_shape``, channels first, when the module does
    not say). The window is shown unless ``show`` is False; the event loop is not run here.
    A file that cannot be read raises ``DesignFileError``, a module that cannot be imported
    ``ImportFailed``, each with a sentence."""
    application()
    if isinstance(design, (str, Path)):
        load_design(Path(design))  # its error, as a sentence, before a window or a dialog
    window = MainWindow(settings, recovery_dir=recovery_dir, probe_device=show)
    studio = Studio(window)
    if isinstance(design, (str, Path)):
        window.open_path(Path(design), ask=False)
    elif isinstance(design, Design):
        window.show_design(design, None)
    elif design is not None:
        window.open_path(_imported(design, input_shape), ask=False)
    if show:
        window.show()
    return studio


def _imported(module: Any, input_shape: tuple[int, ...] | None) -> Path:
    """The module as a design file with its weights beside it, in a folder of its own (as File ›
    Import Model… writes them), so it opens as any imported design does."""
    import tempfile

    from cnnstudio.importers import import_model, save_import

    imported = import_model(module, [input_shape] if input_shape else None)
    path = Path(tempfile.mkdtemp(prefix="cnnstudio-")) / f"{imported.design.name or 'model'}.json"
    save_import(imported, path)
    return path


def application() -> QApplication:
    """The application object (made once), named and themed as the studio's.

    Qt's raster engine hands every fill of 96 or more pixel rows to a thread pool of its own and
    waits for it. While a run trains on all cores, each hand-off wakes threads that must first win a
    core from torch's threads (about 1,300 wake-ups a second with card thumbnails on), and the paint
    waits for them. With Qt's own switch, ``QT_NO_GUI_THREADPOOL`` (read at the first large fill),
    the window paints on its own thread. In pairs of runs of bench/bench_studio_training.py
    (``QT_GUI_POOL=1`` for the pool): event-loop lateness p99 23-26 ms before, 19-21 ms after, and
    training with card thumbnails at 0.88 of a headless run before, 0.91-0.93 after (in those pairs;
    later benches of six rounds gave 0.80-0.88, README says why).
    It is set before the first paint of a new application; in a console where Qt has painted
    already it no longer takes effect."""
    os.environ.setdefault("QT_NO_GUI_THREADPOOL", "1")
    app = QApplication.instance() or QApplication(sys.argv[:1])
    name_application(app)
    theme.apply(app)
    return app


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
