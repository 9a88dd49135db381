"""The studio with a design whose Function node names ``torchvision.ops.boxes.torch.os.system``:
the call is refused, and the refusal is that node's error on its card and in the inspector.

    Xvfb :12 -screen 0 1440x900x24 &
    DISPLAY=:12 .venv/bin/python docs/images/make_security_screenshot.py
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

import cnnstudio
from cnnstudio.core.designfile import save_design
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

OUT = Path(__file__).resolve().parent
sys.path.insert(0, str(OUT))
from make_group_screenshots import SIZE, _grab_when_ready  # noqa: E402  (the same grab)


def hostile() -> cnnstudio.Design:
    design = cnnstudio.Design("hostile")
    design.add_node("Input", {"shape": [3, 32, 32]}, "x", pos=(0, 0))
    design.add_node("Conv2d", {"out_channels": 8, "kernel_size": 3}, "conv", pos=(260, 0))
    design.add_node("Function", {"call": {"function": "torchvision.ops.boxes.torch.os.system",
                                          "args": ["touch /tmp/owned"]}}, "f", pos=(520, 0))
    design.add_node("Flatten", {}, "flat", pos=(780, 0))
    design.connect("x", "conv")
    design.connect("conv", "f")
    design.connect("f", "flat")
    return design


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app, dark=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "hostile.json"
        save_design(hostile(), path)
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery")
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(path, ask=False)
        win.scene.select_nodes(["f"])
        win.view.fit()
        _grab_when_ready(app, win, OUT / "studio-refused-call.png")
    print("wrote", OUT / "studio-refused-call.png", "; /tmp/owned exists:", Path("/tmp/owned").exists())


if __name__ == "__main__":
    main()
