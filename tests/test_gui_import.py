"""File > Import Model…: the searchable list, an import in the background, opaque nodes marked."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from cnnstudio.gui.canvas.node_item import OPAQUE_TIP
from cnnstudio.gui.import_dialog import ImportDialog
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.shuffle = nn.ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.conv(x)).transpose(2, 3)


def test_import_model_is_in_the_file_menu(window: MainWindow) -> None:  # noqa: F811
    file_menu = window.menuBar().actions()[0].menu()
    assert window.act_import in file_menu.actions()


def test_the_list_is_searchable_and_an_import_opens_with_opaque_nodes_marked(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001, F811
    dialog = ImportDialog(tmp_path, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() > 50, timeout=180_000)  # torchvision and timm import slowly
    dialog.search.setText("resnet 18")
    shown = [dialog.list.item(i).text() for i in range(dialog.list.count()) if not dialog.list.item(i).isHidden()]
    assert "torchvision:resnet18" in shown and all("resnet" in s and "18" in s for s in shown)
    dialog.list.setCurrentRow(next(i for i in range(dialog.list.count()) if dialog.list.item(i).text() == "torchvision:resnet18"))
    assert dialog.source.text() == "torchvision:resnet18" and dialog.target.text() == str(tmp_path / "resnet18.json")

    dialog.source.setText("module:test_gui_import:Tiny")
    dialog.shape.setText("3x6x6")
    dialog.target.setText(str(tmp_path / "tiny.json"))
    with qtbot.waitSignal(dialog.accepted, timeout=60_000):
        dialog._import()
    assert dialog.imported == tmp_path / "tiny.json" and (tmp_path / "tiny.safetensors").exists()
    assert window.open_path(dialog.imported, ask=False)
    qtbot.waitUntil(lambda: window.training.loaded_weights is not None or any(
        e.kind == "error" for e in window.training.log.entries), timeout=120_000)  # the design's weights
    assert window.training.loaded_weights is not None, [e.message for e in window.training.log.entries]
    assert window.training.loaded_weights.report.loaded
    items = window.scene.nodes
    assert not items["conv"].card.opaque
    for node_id in ("shuffle", "transpose"):
        assert items[node_id].card.opaque and OPAQUE_TIP in items[node_id].toolTip()


def test_an_import_failure_is_a_sentence(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001, F811
    dialog = ImportDialog(tmp_path, window)
    qtbot.addWidget(dialog)
    dialog.source.setText("torchvision:resnet181")
    dialog._import()
    qtbot.waitUntil(lambda: "did you mean" in dialog.status.text(), timeout=60_000)
    assert "Traceback" not in dialog.status.text()
    assert dialog.import_button.isEnabled() and dialog.imported is None


def test_an_import_that_leaves_the_auxiliary_heads_out_says_so(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001, F811
    dialog = ImportDialog(tmp_path, window)
    qtbot.addWidget(dialog)
    dialog.source.setText("torchvision:inception_v3")
    dialog.shape.setText("3x75x75")  # runs, but its auxiliary classifier needs 299x299
    dialog.target.setText(str(tmp_path / "v3.json"))
    with qtbot.waitSignal(dialog.accepted, timeout=120_000):
        dialog._import()
    assert dialog.imported == tmp_path / "v3.json" and "auxiliary classifiers do not fit" in dialog.note
