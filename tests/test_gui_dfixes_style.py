"""Issue 23, D8 and D19 (style/content tags): Style Transfer proposes layers of the design open
(VGG's names only for VGG), a colour image given to a grey design gets a note, and the canvas
marks only layers the design holds, none once the dock is closed or the design is replaced. The
dock is a part of the registry, on the state (issue 23: no special case in the window)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PySide6.QtWidgets import QDockWidget

from cnnstudio.core.analysis import analyze
from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui.images.layers import feature_convolutions, propose_layers
from cnnstudio.gui.images.style_panel import StyleTransfer
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.registry import builtin
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
    window.actions["style-transfer"].trigger()
    panel = window.parts["style"].panel
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


def test_style_transfer_comes_from_the_registry_and_marks_through_the_state(qtbot, settings, recovery_dir,  # noqa: F811
                                                                             answers) -> None:  # noqa: F811
    """The window has no special case for Style Transfer: a registry without its part gives a window
    without its dock and action; with it, the panel takes the state, marks cards through it and
    follows the state's selection while picking."""
    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    win.resize(1280, 800)
    win.show()
    qtbot.waitExposed(win)
    assert win.open_path(FIGURE21, ask=False)
    part = win.parts["style"]
    assert isinstance(part, StyleTransfer) and part.panel.state is win.state
    dock, inspector = (win.findChild(QDockWidget, f"dock-{name}") for name in ("style", "inspector"))
    assert not dock.isVisible() and dock.widget().widget() is part.panel  # in a scroller
    win.actions["style-transfer"].trigger()
    assert dock.isVisible() and dock in win.tabifiedDockWidgets(inspector)
    assert win.state.marks == {n: ("style",) for n in ("conv1", "conv3")} | {"conv2": ("content", "style")}
    assert set(win.scene.marks) == set(win.state.marks)
    part.panel.pick_buttons["content"].setChecked(True)
    win.state.select(["conv3"])  # a selection made anywhere (a script, the Summary) picks
    assert part.panel.layers("content") == ["conv2", "conv3"] and "content" in win.scene.marks["conv3"]
    win.state.set_marks({})
    assert win.scene.marks == {}
    win.doc.undo_stack.setClean()
    win.close()
    registry = builtin()
    assert registry.parts["style"].factory is StyleTransfer
    del registry.parts["style"]
    bare = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False, registry=registry)
    qtbot.addWidget(bare)
    assert bare.findChild(QDockWidget, "dock-style") is None and "style-transfer" not in bare.actions
    assert "style" not in bare.parts
    bare.close()
