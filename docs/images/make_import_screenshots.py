"""Screenshots of imported models in the studio: File > Import Model…, ResNet-50 as imported
(collapsed, then with a stage and a block open) and ConvNeXt-Tiny with a block open, where the
dashed cards are opaque nodes (torch calls without a layer of their own).

    Xvfb :11 -screen 0 1440x900x24 &
    DISPLAY=:11 .venv/bin/python docs/images/make_import_screenshots.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication

from cnnstudio.gui import theme
from cnnstudio.gui.import_dialog import ImportDialog
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings
from cnnstudio.importers import import_model, save_import

OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(OUT))
from make_group_screenshots import shoot  # noqa: E402  (the same window set-up and grab)


def shoot_dialog(app: QApplication, out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery")
        win.resize(1200, 800)
        win.show()
        dialog = ImportDialog(Path(tmp), win)
        dialog.show()

        def grab() -> None:
            if dialog.list.count() == 0:
                QTimer.singleShot(200, grab)
                return
            dialog.search.setText("efficientnet")
            dialog.list.setCurrentRow(next(i for i in range(dialog.list.count()) if not dialog.list.item(i).isHidden()))
            dialog.weights.setCurrentIndex(1)
            QTimer.singleShot(300, lambda: (dialog.grab().save(str(out)), dialog.reject(), win.close(), app.quit()))

        QTimer.singleShot(500, grab)
        app.exec()


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app, dark=False)
    shoot_dialog(app, OUT / "studio-import-dialog.png")
    print("wrote", OUT / "studio-import-dialog.png")
    with tempfile.TemporaryDirectory() as tmp:
        for source, shots in (
            ("torchvision:resnet50", [("studio-import-resnet50.png", [], None),
                                      ("studio-import-resnet50-open.png", ["layer1", "layer1.0"], 0.6)]),
            ("torchvision:convnext_tiny", [("studio-import-opaque.png", ["features", "features.1", "features.1.0", "features.1.0.block"], 0.6)]),
        ):
            path = Path(tmp) / f"{source.partition(':')[2]}.json"
            save_import(import_model(source), path)
            for name, opened, zoom in shots:
                shoot(app, path, OUT / name, opened, zoom)
                print("wrote", OUT / name)


if __name__ == "__main__":
    main()
