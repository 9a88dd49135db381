"""Issue 23, D8 and D19 (style/content tags): Style Transfer proposes layers of the design open
(VGG's names only for VGG), a colour image given to a grey design gets a note, and the canvas
marks only layers the design holds, none once the dock is closed or the design is replaced."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QDockWidget

from cnnstudio.core.analysis import analyze
from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui.images.layers import feature_convolutions, propose_layers
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.training.synthesis.images import write_png
from gui_fixtures import FIGURE21, answers, recovery_dir, settings, window  # noqa: F401


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.json")), ids=lambda p: p.stem)
def test_every_template_gets_layers_it_holds(template: Path) -> None:
    design = load_design(template)
    analysis = analyze(design)
    proposal = propose_layers(design, analysis)
    convs = feature_convolutions(design, analysis)
    assert all(node_id in design for node_id in (*proposal.content, *proposal.style))
    assert bool(proposal.style) == bool(convs) and len(proposal.content) == (1 if convs else 0)
    if convs and "conv5_1" not in design:  # spread from the first convolution to the last
        assert proposal.style[0] == convs[0] and proposal.style[-1] == convs[-1]
        assert len(proposal.style) == min(5, len(convs))
    for node_id in proposal.style:
        shape = analysis.nodes[node_id].shape
        assert len(shape) == 3 and min(shape[1:]) > 1


def test_vgg_keeps_the_papers_layers() -> None:
    design = load_design(TEMPLATES / "vgg16_gatys.json")
    proposal = propose_layers(design, analyze(design))
    assert proposal.content == ("conv4_2",) and proposal.style[0] == "conv1_1"


def test_the_dock_follows_the_design_and_marks_only_its_layers(window: MainWindow, tmp_path: Path) -> None:  # noqa: F811
    window.open_path(TEMPLATES / "vgg16_gatys.json", ask=False)
    window.act_style.trigger()
    panel = window.style_transfer
    assert panel.layers("content") == ["conv4_2"]
    window.open_path(FIGURE21, ask=False)
    assert panel.layers("style") == ["conv1", "conv2", "conv3"] and panel.layers("content") == ["conv2"]
    assert set(window.scene.marks) == {"conv1", "conv2", "conv3"}
    panel.fields["style"].setText("conv1, conv4_1")  # a name this design lacks is not marked
    assert set(window.scene.marks) == {"conv1", "conv2"}
    colour, grey = tmp_path / "colour.png", tmp_path / "grey.png"
    write_png(torch.rand(3, 16, 16), colour)
    write_png(torch.rand(1, 16, 16).expand(3, -1, -1), grey)
    assert panel.open_image("content", grey) and panel.note.isHidden()
    assert panel.open_image("style", colour)
    assert not panel.note.isHidden() and "grey" in panel.note.text() and "style image" in panel.note.text()
    window.findChild(QDockWidget, "dock-style").close()
    assert window.scene.marks == {} and all(item.marks == () for item in window.scene.nodes.values())
