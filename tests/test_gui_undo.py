"""Every kind of edit undoes to exactly the design before it and redoes to exactly the one after,
including the input order of merge nodes, and the canvas follows both ways."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from PySide6.QtCore import QPointF

from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import TEMPLATES_DIR, answers, drag, drop_layer, figure21, recovery_dir, settings, snapshot, window  # noqa: F401


def select(*node_ids: str) -> Callable[[MainWindow], None]:
    return lambda win: win.scene.select_nodes(list(node_ids))


def insert_on_a_connection(win: MainWindow) -> None:
    drop_layer(win, "Dropout", win.scene.edges[("fc1", "relu4")].path.pointAtPercent(0.5))


def move_by_mouse(win: MainWindow) -> None:
    start = win.scene.nodes["relu3"].sceneBoundingRect().center()
    drag(win, start, start + QPointF(0, 120))


def disconnect_edge(win: MainWindow) -> None:
    win.scene.clearSelection()
    win.scene.edges[("relu2", "pool1")].setSelected(True)
    win.act_delete.trigger()


def copy_paste(win: MainWindow) -> None:
    select("conv2", "relu2", "pool1")(win)
    win.act_copy.trigger()
    win.act_paste.trigger()


EDITS = {
    "add": lambda win: win.editor.add_layer("BatchNorm2d", QPointF(50, 400)),
    "add after": lambda win: (select("pool2")(win), win.palette.add_requested.emit("Dropout")),
    "delete": lambda win: (select("conv2", "pool1")(win), win.act_delete.trigger()),
    "insert on a connection": insert_on_a_connection,
    "align": lambda win: (select("conv1", "relu3", "flatten")(win), win.editor.align("left")),
    "disconnect": disconnect_edge,
    "move": move_by_mouse,
    "parameter": lambda win: win.editor.set_param("conv1", "padding", "same"),
    "fix-style multi-parameter": lambda win: win.editor.set_param("pool1", "stride", 1),
    "paste": copy_paste,
    "duplicate": lambda win: (select("fc1")(win), win.act_duplicate.trigger()),
    "cut": lambda win: (select("relu4")(win), win.act_cut.trigger()),
    "layout": lambda win: win.act_layout.trigger(),
    "frozen": lambda win: win.editor.set_frozen("fc2", True),
    "label": lambda win: win.editor.set_label("fc2", "classifier"),
    "group": lambda win: (select("conv2", "relu2")(win), win.actions["group"].trigger()),
}


@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_edit_undoes_and_redoes_exactly(figure21, edit) -> None:  # noqa: ANN001, F811
    win = figure21
    before = snapshot(win)
    edit(win)
    after = snapshot(win)
    assert after != before and win.isWindowModified()
    assert win.doc.undo_stack.count() == 1
    win.act_undo.trigger()
    assert snapshot(win) == before and not win.isWindowModified()
    assert set(win.scene.nodes) == set(win.doc.design.graph)
    assert set(win.scene.edges) == set(win.doc.design.edges)
    win.act_redo.trigger()
    assert snapshot(win) == after
    assert set(win.scene.edges) == set(win.doc.design.edges)
    for node_id, item in win.scene.nodes.items():
        assert (item.pos().x(), item.pos().y()) == win.doc.design.node(node_id).pos


def test_deleting_a_merge_input_restores_its_place_in_the_order(window) -> None:  # noqa: ANN001, F811
    win = window
    assert win.open_path(TEMPLATES_DIR / "inception.json", ask=False)
    order = win.doc.design.inputs_of("concat")
    win.scene.select_nodes([order[1]])
    win.act_delete.trigger()
    assert win.doc.design.inputs_of("concat") == [order[0], *order[2:]]
    win.act_undo.trigger()
    assert win.doc.design.inputs_of("concat") == order
    slots = [win.scene.edges[(src, "concat")].index for src in order]
    assert slots == [0, 1, 2, 3]


def test_undo_shortcuts_are_the_standard_ones(window) -> None:  # noqa: ANN001, F811
    assert "Ctrl+Z" in [s.toString() for s in window.act_undo.shortcuts()]
    assert {"Ctrl+Shift+Z", "Ctrl+Y"} <= {s.toString() for s in window.act_redo.shortcuts()}
