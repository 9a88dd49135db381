"""Canvas screenshots of every template for docs/gallery.md, from a real window on an X display.

    Xvfb :97 -screen 0 1600x1000x24 &
    DISPLAY=:97 .venv/bin/python bench/gallery_screenshots.py [STEM ...]

The same approach as docs/images/make_screenshots.py: the window is built as ``cnnstudio`` builds
it (fresh settings, nothing restored), the template is opened and fitted to the view, and the
picture is taken from the screen once the device probe has finished. Here the side panels are
hidden so the design gets the whole window, the shot is cropped to the design, and the colours
are reduced to a palette, which keeps each file small (docs/images/gallery-STEM.png).
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PIL import Image
from PySide6.QtCore import QRect, QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

OUT = Path(__file__).resolve().parents[1] / "docs" / "images"
SIZE = (1600, 1000)
MARGIN = 16  # pixels kept around the design
COLOURS = 96  # palette size: cards, edges, text and the grid need no more


def design_rect(win: MainWindow) -> QRect:
    """The fitted design's rectangle in window coordinates, with a margin, inside the viewport."""
    view = win.view
    viewport = view.viewport()
    shown = view.mapFromScene(view.scene().itemsBoundingRect()).boundingRect()
    shown = shown.adjusted(-MARGIN, -MARGIN, MARGIN, MARGIN).intersected(viewport.rect())
    return QRect(viewport.mapTo(win, shown.topLeft()), shown.size())


def shoot(app: QApplication, template: Path) -> Path:
    """Opens ``template`` in a fresh window, grabs the design from the screen, returns the file."""
    out = OUT / f"gallery-{template.stem}.png"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery")
        for dock in win.findChildren(QDockWidget):
            dock.hide()
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(template, ask=False)

        def grab() -> None:
            if win.device_label.text().endswith("…"):
                QTimer.singleShot(200, grab)  # the device probe imports torch in the background
                return
            win.view.fit()
            app.processEvents()
            rect = design_rect(win)
            app.primaryScreen().grabWindow(win.winId(), rect.x(), rect.y(), rect.width(), rect.height()).save(str(out))
            win.doc.undo_stack.setClean()
            win.close()
            app.quit()

        QTimer.singleShot(800, grab)
        app.exec()
    shrink(out)
    return out


def shrink(path: Path) -> None:
    """A palette PNG: a fraction of the size of the full-colour grab, and it looks the same."""
    with Image.open(path) as image:
        small = image.convert("RGB").quantize(COLOURS, method=Image.Quantize.MEDIANCUT)
    small.save(path, optimize=True)


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app, dark=False)
    wanted = set(sys.argv[1:])
    for template in sorted(TEMPLATES_DIR.glob("*.json")):
        if not wanted or template.stem in wanted:
            out = shoot(app, template)
            print(f"wrote {out} ({out.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
