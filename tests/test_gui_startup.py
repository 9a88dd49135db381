"""Start-up: ``cnnstudio DESIGN`` opens the window without importing torch on the way."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from cnnstudio.gui.app import _excepthook
from gui_fixtures import FIGURE21, answers, recovery_dir, settings, window  # noqa: F401

ROOT = Path(__file__).resolve().parents[1]


def test_the_window_module_does_not_import_torch() -> None:
    code = "import sys, cnnstudio.gui.app; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


def test_cnnstudio_design_paints_the_window_and_exits_cleanly(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CNNSTUDIO_EXIT_AFTER_PAINT": "1",
        "CNNSTUDIO_STARTUP_T0": repr(time.time()),
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "-m", "cnnstudio", str(FIGURE21)], env=env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("first paint ")
    assert "Traceback" not in result.stderr


def test_an_unexpected_error_is_shown_in_a_dialog_and_autosaved(window, monkeypatch) -> None:  # noqa: ANN001, F811
    shown: list[QMessageBox] = []
    monkeypatch.setattr(QMessageBox, "exec", lambda box: shown.append(box) or 0)
    window.editor.add_layer("ReLU", window.view.mapToScene(0, 0))  # something unsaved
    try:
        raise RuntimeError("boom")
    except RuntimeError as error:
        _excepthook(window)(RuntimeError, error, error.__traceback__)
    (box,) = shown
    assert "RuntimeError: boom" in box.text() and "Traceback" in box.detailedText()
    assert window.autosaver.path.exists()


START_IN_PROCESS_MODE = """
import sys, tempfile, threading, time
from pathlib import Path
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings


class Watch:  # which thread imports torch (an import finder is asked once, by the importing thread)
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            importers.append(threading.current_thread().name)


importers = []
sys.meta_path.insert(0, Watch())
app = QApplication([])
tmp = tempfile.mkdtemp()
window = MainWindow(Settings(QSettings(tmp + "/s.ini", QSettings.Format.IniFormat)), recovery_dir=Path(tmp) / "r",
                    probe_device=False)
window.show()
window.open_path(Path({design!r}), ask=False)
window.workspace = "train"
window.views.build()
window.live_canvas.act_thumbnails.setChecked(True)  # every view's and every card's request
window.training.dock.custom_folder = Path(tmp) / "run"
app.processEvents()
at_first_event = []
window.training_runner.event.connect(lambda event: at_first_event or at_first_event.append("torch" in sys.modules))
started = window.training.start()
deadline = time.monotonic() + 180
while not at_first_event and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.01)
window.training_runner.shutdown(120)
window.doc.undo_stack.setClean()
print(started, importers, at_first_event)
sys.exit(0 if started and importers == ["training-events"] and at_first_event == [True] else 1)
"""


def test_the_first_start_imports_torch_on_the_events_thread_before_the_first_event() -> None:
    """In process mode the GUI thread never imports torch (seconds, at the first press of Start:
    the views' request must not need it); the thread reading the worker's events does, while the
    worker starts, so that no tensor of the run imports it mid-training (see ``_import_torch``)."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    result = subprocess.run([sys.executable, "-c", START_IN_PROCESS_MODE.format(design=str(FIGURE21))], env=env,
                            capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert result.returncode == 0, (result.stdout + result.stderr)[-2000:]


PAINT_THREADS = """
import glob, sys
from PySide6.QtGui import QColor, QImage, QPainter
if sys.argv[1] == "studio":
    from cnnstudio.gui.app import application
    application()
else:
    from PySide6.QtWidgets import QApplication
    QApplication([])
image = QImage(800, 800, QImage.Format.Format_ARGB32_Premultiplied)
painter = QPainter(image)
painter.fillRect(0, 0, 800, 800, QColor(10, 20, 30, 100))  # 800 rows: Qt would split it over its pool
painter.end()
print(sum(open(name).read().strip() == "Thread (pooled)" for name in glob.glob("/proc/self/task/*/comm")))
"""


def test_the_studio_paints_on_its_own_thread_and_leaves_the_cores_to_training() -> None:
    """A large fill wakes no thread of Qt's pool in the studio (each wake-up takes a core from a
    training step, see ``application``); a plain QApplication, the control, does."""
    if not Path("/proc/self/task").is_dir():
        pytest.skip("threads are counted from /proc (Linux)")
    env = {key: value for key, value in os.environ.items() if key != "QT_NO_GUI_THREADPOOL"}
    env["QT_QPA_PLATFORM"] = "offscreen"

    def pool_threads(kind: str) -> int:
        result = subprocess.run([sys.executable, "-c", PAINT_THREADS, kind], env=env, capture_output=True,
                                text=True, timeout=60, cwd=ROOT)
        assert result.returncode == 0, result.stderr
        return int(result.stdout.split()[-1])

    if pool_threads("plain") == 0:
        pytest.skip("this Qt fills without a thread pool")
    assert pool_threads("studio") == 0
