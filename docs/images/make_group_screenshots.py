"""Screenshots of groups in the studio: ResNet-50 collapsed, with one stage open, and with a block
of that stage open too; Figure 21 in two closed stages with an error inside one; and a closed
group that spans two of Figure 21's rows.

    Xvfb :12 -screen 0 1440x900x24 &
    DISPLAY=:12 .venv/bin/python docs/images/make_group_screenshots.py [NAME.png ...]

ResNet-50 comes from the importer (``cnnstudio import torchvision:resnet50``): one group per module
of torchvision's model, collapsed, laid out with its groups. (tests/test_groups.py builds the same
network by hand with Repeat.)
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.analysis import analyze
from cnnstudio.core.designfile import save_design
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings
from cnnstudio.importers import import_model

OUT = Path(__file__).resolve().parent
SIZE = (1440, 900)
RESNET50_PARAMS = 25_557_032  # torchvision.models.resnet50()


def _figure21_window(tmp: str) -> MainWindow:
    """Figure 21 opened (in rows of four) with only the inspector docked."""
    from cnnstudio.core.resources import TEMPLATES

    settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
    win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery")
    for dock in win.findChildren(QDockWidget):
        dock.setVisible(dock.objectName() == "dock-inspector")
    win.move(0, 0)
    win.resize(*SIZE)
    win.show()
    win.open_path(TEMPLATES / "figure21.json", ask=False)
    return win


def _close_as_group(win: MainWindow, name: str, layers: list[str]) -> str:
    win.scene.select_nodes(layers)
    win.editor.groups.group_selection()
    group_id = win.scene.selected_group_ids()[0]
    win.editor.groups.rename_group(group_id, name)
    win.editor.groups.set_collapsed(group_id, True)
    return group_id


def figure21_error(app: QApplication, out: Path) -> None:
    """Figure 21 in two closed stages, a wrong kernel inside the second: the error shows on its
    card, and the inspector shows the selected group (the other docks hidden)."""
    with tempfile.TemporaryDirectory() as tmp:
        win = _figure21_window(tmp)
        _close_as_group(win, "Stage 1", ["conv1", "relu1", "conv2", "relu2", "pool1"])
        group_id = _close_as_group(win, "Stage 2", ["conv3", "relu3", "pool2"])
        win.editor.auto_layout()
        win.editor.set_param("conv3", "kernel_size", 11)
        win.scene.select_nodes([], [group_id])
        _grab_when_ready(app, win, out)


def figure21_two_rows(app: QApplication, out: Path) -> None:
    """Figure 21 as laid out (rows of four), conv2, relu2 and pool1 grouped in place and closed:
    the group ends the first row and starts the second, and its card sits where conv2 was, not
    at the members' top-left corner (the Input's card)."""
    with tempfile.TemporaryDirectory() as tmp:
        win = _figure21_window(tmp)
        group_id = _close_as_group(win, "Two rows", ["conv2", "relu2", "pool1"])
        win.scene.select_nodes([], [group_id])
        win.view.fit()
        _grab_when_ready(app, win, out)


def _grab_when_ready(app: QApplication, win: MainWindow, out: Path) -> None:
    def grab() -> None:
        if win.device_label.text().endswith("…"):
            QTimer.singleShot(200, grab)  # the device probe imports torch in the background
            return
        app.primaryScreen().grabWindow(win.winId()).save(str(out))
        win.doc.undo_stack.setClean()
        win.close()
        app.quit()

    QTimer.singleShot(800, grab)
    app.exec()


def shoot(app: QApplication, path: Path, out: Path, opened: list[str], zoom: float | None = None) -> None:
    """Open the design, open the groups ``opened`` in turn, and fit it (or show the last opened
    group at ``zoom``)."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery")
        for dock in win.findChildren(QDockWidget):  # the canvas gets the window: the network is long
            dock.hide()
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(path, ask=False)
        for group_id in opened:
            win.editor.groups.toggle_group(group_id)
        if opened:
            win.scene.select_nodes([], [opened[-1]])
        win.view.fit()
        if zoom is not None:
            win.view.set_zoom(zoom)
            win.view.centerOn(win.scene.groups[opened[-1]].sceneBoundingRect().center())
        _grab_when_ready(app, win, out)


def main() -> None:
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app, dark=False)
    chosen = sys.argv[1:]  # file names; none: all
    wanted = [name for name in RESNET50_SHOTS if not chosen or name in chosen]
    if wanted:
        design = import_model("torchvision:resnet50").design
        analysis = analyze(design)
        assert analysis.valid and analysis.total_params == RESNET50_PARAMS, analysis.total_params
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "resnet50.json"
            save_design(design, path)
            for name in wanted:
                shoot(app, path, OUT / name, *RESNET50_SHOTS[name])
                print("wrote", OUT / name)
    for name, make in FIGURE21_SHOTS.items():
        if not chosen or name in chosen:
            make(app, OUT / name)
            print("wrote", OUT / name)


RESNET50_SHOTS: dict[str, tuple[list[str], float | None]] = {
    "studio-groups-collapsed.png": ([], None),
    "studio-groups-open.png": (["layer2"], None),
    "studio-groups-block.png": (["layer2", "layer2.0"], 0.5),
}
FIGURE21_SHOTS = {"studio-groups-error.png": figure21_error, "studio-groups-two-rows.png": figure21_two_rows}


if __name__ == "__main__":
    main()
