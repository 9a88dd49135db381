"""Screenshots of the live canvas: card thumbnails after a short run, then the overlay.

    Xvfb :99 -screen 0 1440x900x24 &
    DISPLAY=:99 .venv/bin/python docs/images/make_live_canvas_screenshots.py     # from the repository root

The window fills the display (run once per screen size: 1440x900 and 1280x800). Figure 21 trains
one epoch on ../shared/data/mnist (synthetic-shapes when absent) in a worker process with View ›
Card Thumbnails on; the window is grabbed when the run ends (live-canvas-thumbnails-WxH.png), then
with View › Card Overlay › Activation Memory (live-canvas-overlay-WxH.png).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

HERE = Path(__file__).resolve().parent
MNIST = HERE.parents[2] / "shared" / "data" / "mnist"


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app)
    screen = app.primaryScreen().geometry()
    size = f"{screen.width()}x{screen.height()}"
    with tempfile.TemporaryDirectory() as tmp:
        win = MainWindow(Settings(QSettings(f"{tmp}/settings.ini", QSettings.Format.IniFormat)),
                         recovery_dir=Path(tmp) / "recovery")
        win.show()
        win.open_path(TEMPLATES_DIR / "figure21.json", ask=False)
        data = {"data": f"idx:{MNIST}"} if MNIST.is_dir() else {}
        win.doc.design.training = {**win.doc.design.training, **data, "epochs": 1}
        win.training.dock.form.refresh()
        win.training.dock.custom_folder = Path(tmp) / "run"
        live = win.live_canvas
        live.act_thumbnails.setChecked(True)

        def grab(name: str) -> None:
            app.processEvents()
            path = HERE / f"live-canvas-{name}-{size}.png"
            app.primaryScreen().grabWindow(win.winId()).save(str(path))
            print("wrote", path)

        def overlay() -> None:
            live.set_measure("activation_bytes")
            live.profile_job.done.connect(lambda _profile: QTimer.singleShot(300, finish))

        def finish() -> None:
            win.view.fit()
            grab("overlay")
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        def ended(running: bool) -> None:
            if not running:
                win.view.fit()
                QTimer.singleShot(500, lambda: (grab("thumbnails"), overlay()))

        win.training_runner.running_changed.connect(ended)
        QTimer.singleShot(1500, lambda: (win.views.build(), win.view.fit(), win.training.start()))
        app.exec()


if __name__ == "__main__":
    main()
