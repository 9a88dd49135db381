"""Screenshots of groups in the studio: ResNet-50 collapsed, with one stage open, and with a block
of that stage open too; and Figure 21 in two closed stages with an error inside one.

    Xvfb :12 -screen 0 1440x900x24 &
    DISPLAY=:12 .venv/bin/python docs/images/make_group_screenshots.py

ResNet-50 comes from ``cnnstudio import torchvision:resnet50`` (one group per module, collapsed)
when the importers are there. Without them it is built here layer by layer, the way a user
builds it in the studio: the stem, one bottleneck block per stage drawn by hand and grouped, the
rest of each stage made with Repeat, and each stage grouped around its blocks. Either way it has
torchvision's 25,557,032 parameters and is saved without positions, so the studio lays it out.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtWidgets import QApplication, QDockWidget

from cnnstudio.core.analysis import analyze
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import save_design
from cnnstudio.core.repeat import repeat_group
from cnnstudio.gui import theme
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.settings import Settings

OUT = Path(__file__).resolve().parent
SIZE = (1440, 900)
RESNET50_PARAMS = 25_557_032  # torchvision.models.resnet50()


def conv(design: Design, node_id: str, src: str, channels: int, kernel: int, stride: int = 1) -> str:
    """Conv2d without bias, then BatchNorm2d (``node_id`` and its ``bn`` twin); returns the norm."""
    design.add_node("Conv2d", {"out_channels": channels, "kernel_size": kernel, "stride": stride,
                               "padding": kernel // 2, "bias": False}, node_id)
    norm = node_id.replace("conv", "bn").replace("downsample.0", "downsample.1")
    design.add_node("BatchNorm2d", {}, norm)
    design.connect(src, node_id)
    design.connect(node_id, norm)
    return norm


def bottleneck(design: Design, name: str, src: str, width: int, stride: int, project: bool) -> str:
    """torchvision's Bottleneck as group ``name``; returns its output node."""
    before = set(design.graph)
    out = src
    for index, (channels, kernel) in enumerate([(width, 1), (width, 3), (4 * width, 1)], start=1):
        out = conv(design, f"{name}.conv{index}", out, channels, kernel, stride if kernel == 3 else 1)
        if index < 3:
            design.add_node("ReLU", {}, f"{name}.relu{index}")
            design.connect(out, f"{name}.relu{index}")
            out = f"{name}.relu{index}"
    skip = conv(design, f"{name}.downsample.0", src, 4 * width, 1, stride) if project else src
    design.add_node("Add", {}, f"{name}.add")
    design.connect(out, f"{name}.add")
    design.connect(skip, f"{name}.add")
    design.add_node("ReLU", {}, f"{name}.relu")
    design.connect(f"{name}.add", f"{name}.relu")
    design.add_group(name, [n for n in design.graph if n not in before])
    return f"{name}.relu"


def resnet50() -> Design:
    design = Design("ResNet-50")
    design.add_node("Input", {"shape": [3, 224, 224]}, "x")
    out = conv(design, "conv1", "x", 64, 7, 2)
    design.add_node("ReLU", {}, "relu")
    design.add_node("MaxPool2d", {"kernel_size": 3, "stride": 2, "padding": 1}, "maxpool")
    design.connect(out, "relu")
    design.connect("relu", "maxpool")
    out = "maxpool"
    for stage, (width, blocks, stride) in enumerate([(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)], start=1):
        out = bottleneck(design, f"layer{stage}.0", out, width, stride, project=True)
        out = bottleneck(design, f"layer{stage}.1", out, width, 1, project=False)
        if blocks > 2:
            plan = repeat_group(design, f"layer{stage}.1", blocks - 2)
            out = f"{plan.copies[-1]}.relu"
        blocks_of_stage = [g for g in design.groups if g.startswith(f"layer{stage}.")]
        design.add_group(f"layer{stage}", [], children=blocks_of_stage)
    design.add_node("AdaptiveAvgPool2d", {"output_size": 1}, "avgpool")
    design.add_node("Flatten", {}, "flatten")
    design.add_node("Linear", {"out_features": 1000}, "fc")
    for src, dst in [(out, "avgpool"), ("avgpool", "flatten"), ("flatten", "fc")]:
        design.connect(src, dst)
    return design


def figure21_error(app: QApplication, out: Path) -> None:
    """Figure 21 in two closed stages, a wrong kernel inside the second: the error shows on its
    card, and the inspector shows the selected group. The window as it opens, docks and all."""
    from cnnstudio.core.resources import TEMPLATES

    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(QSettings(str(Path(tmp) / "settings.ini"), QSettings.Format.IniFormat))
        win = MainWindow(settings, recovery_dir=Path(tmp) / "recovery")
        win.move(0, 0)
        win.resize(*SIZE)
        win.show()
        win.open_path(TEMPLATES / "figure21.json", ask=False)
        for name, layers in [("Stage 1", ["conv1", "relu1", "conv2", "relu2", "pool1"]),
                             ("Stage 2", ["conv3", "relu3", "pool2"])]:
            win.scene.select_nodes(layers)
            win.editor.groups.group_selection()
            group_id = win.scene.selected_group_ids()[0]
            win.editor.groups.rename_group(group_id, name)
            win.editor.groups.set_collapsed(group_id, True)
        win.editor.auto_layout()
        win.editor.set_param("conv3", "kernel_size", 11)
        win.scene.select_nodes([], [group_id])
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


def imported_or_built() -> Design:
    try:
        from cnnstudio.importers import import_model
    except ImportError:
        return resnet50()
    design = import_model("torchvision:resnet50").design
    for node in design.nodes:
        node.pos = None  # the studio lays it out with its groups, as it opens any design without positions
    return design


def main() -> None:
    design = imported_or_built()
    analysis = analyze(design)
    assert analysis.valid and analysis.total_params == RESNET50_PARAMS, analysis.total_params
    app = QApplication(sys.argv[:1])
    app.setApplicationName("CNN Studio")
    theme.apply(app, dark=False)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "resnet50.json"
        save_design(design, path)
        shots = [
            ("studio-groups-collapsed.png", [], None),
            ("studio-groups-open.png", ["layer2"], None),
            ("studio-groups-block.png", ["layer2", "layer2.0"], 0.5),
        ]
        for name, opened, zoom in shots:
            shoot(app, path, OUT / name, opened, zoom)
            print("wrote", OUT / name)
    figure21_error(app, OUT / "studio-groups-error.png")
    print("wrote", OUT / "studio-groups-error.png")


if __name__ == "__main__":
    main()
