"""The canvas driven like a user: drops from the palette, port-to-port connections, moves,
selection, clipboard and view controls, on the real widgets (offscreen)."""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMenu

from cnnstudio.gui import theme
from cnnstudio.gui.canvas.edge_item import EdgeItem
from cnnstudio.gui.canvas.node_item import WIDTH
from cnnstudio.gui.canvas.view import LAYER_MIME
from gui_fixtures import (  # noqa: F401
    FIGURE21,
    answers,
    drag,
    drop_layer,
    figure21,
    recovery_dir,
    settings,
    snapshot,
    view_point,
    window,
)


def palette_item(win, type_name: str):  # noqa: ANN001, ANN201
    return win.palette.tree.findItems(type_name, Qt.MatchFlag.MatchExactly | Qt.MatchFlag.MatchRecursive)[0]


def test_palette_drag_carries_the_layer_type(window) -> None:  # noqa: ANN001, F811
    mime = window.palette.tree.mimeData([palette_item(window, "MaxPool2d")])
    assert bytes(mime.data(LAYER_MIME).data()).decode() == "MaxPool2d"


def test_drop_from_palette_adds_the_layer_where_it_lands(window) -> None:  # noqa: ANN001, F811
    drop_layer(window, "Conv2d", QPointF(300, 200))
    (node,) = window.doc.design.nodes
    assert node.type == "Conv2d"
    item = window.scene.nodes[node.id]
    assert item.sceneBoundingRect().contains(QPointF(300, 200))
    assert window.scene.selected_node_ids() == [node.id]
    assert window.windowTitle().startswith("Untitled[*]") and window.isWindowModified()
    window.doc.undo_stack.undo()
    assert len(window.doc.design) == 0 and not window.scene.nodes


def test_palette_search_filters_by_name_and_help(window) -> None:  # noqa: ANN001, F811
    window.palette.search.setText("overfitting")
    visible = [
        group.child(i).text(0)
        for group in window.palette.categories.values()
        for i in range(group.childCount())
        if not group.child(i).isHidden()
    ]
    assert visible == ["Dropout"]
    window.palette.search.clear()
    assert not palette_item(window, "Conv2d").isHidden()


def test_double_click_in_palette_adds_after_the_selection_and_connects(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.select_node("softmax")
    tree = win.palette.tree
    item = palette_item(win, "Dropout")
    tree.scrollToItem(item)
    where = tree.visualItemRect(item).center()
    QTest.mouseClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    QTest.mouseDClick(tree.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    new = win.scene.selected_node_ids()
    assert len(new) == 1 and win.doc.design.node(new[0]).type == "Dropout"
    assert win.doc.design.inputs_of(new[0]) == ["softmax"]
    assert win.doc.analysis.nodes[new[0]].shape == (10,)


def test_dragging_from_output_port_to_input_port_connects(window) -> None:  # noqa: ANN001, F811
    drop_layer(window, "Input", QPointF(0, 0))
    drop_layer(window, "Conv2d", QPointF(300, 0))
    source, target = window.scene.nodes["input1"], window.scene.nodes["conv2d1"]
    drag(window, source.output_port.scenePos(), target.input_port.scenePos())
    assert window.doc.design.edges == [("input1", "conv2d1")]
    assert window.doc.analysis.nodes["conv2d1"].shape == (8, 26, 26)
    edge = window.scene.edges[("input1", "conv2d1")]
    assert edge.label == "28x28x1"  # the shape flowing along it
    window.doc.undo_stack.undo()
    assert window.doc.design.edges == [] and not window.scene.edges


def test_merge_node_takes_inputs_in_order_and_an_occupied_single_input_is_replaced(window) -> None:  # noqa: ANN001, F811
    for name, x in (("Input", 0), ("Input", 0), ("Concat", 400), ("ReLU", 800)):
        drop_layer(window, name, QPointF(x, 200 * len(window.doc.design)))
    a, b, concat, relu = (window.scene.nodes[n] for n in ("input1", "input2", "concat1", "relu1"))
    drag(window, b.output_port.scenePos(), concat.input_port.scenePos())
    drag(window, a.output_port.scenePos(), concat.input_port.scenePos())
    assert window.doc.design.inputs_of("concat1") == ["input2", "input1"]
    drag(window, a.output_port.scenePos(), relu.input_port.scenePos())
    messages = []
    window.editor.message.connect(messages.append)
    drag(window, b.output_port.scenePos(), relu.input_port.scenePos())
    assert window.doc.design.inputs_of("relu1") == ["input2"]  # replaced, never a second input
    assert messages[-1] == "replaced input1 → relu1 by input2 → relu1; Ctrl+Z undoes"
    assert window.statusBar().currentMessage() == messages[-1]
    assert "replaces it" in relu.input_port.toolTip()
    window.doc.undo_stack.undo()
    assert window.doc.design.inputs_of("relu1") == ["input1"]


def test_moving_a_node_snaps_to_the_grid_and_undoes(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    item = win.scene.nodes["conv1"]
    start = item.sceneBoundingRect().center()
    drag(win, start, start + QPointF(93, 47))
    x, y = win.doc.design.node("conv1").pos
    assert (x, y) != (220.0, 0.0) and x % 20 == 0 and y % 20 == 0
    assert item.pos() == QPointF(x, y)
    edge = win.scene.edges[("x", "conv1")]
    assert edge.path.elementAt(edge.path.elementCount() - 1).x == item.input_port.scenePos().x()
    win.doc.undo_stack.undo()
    assert win.doc.design.node("conv1").pos == (220.0, 0.0) and item.pos() == QPointF(220, 0)


def test_rubber_band_selects_the_nodes_it_covers(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.view.set_zoom(0.5)
    win.view.centerOn(QPointF(300, 40))
    drag(win, QPointF(-30, -60), QPointF(530, 130))
    assert set(win.scene.selected_node_ids()) == {"x", "conv1", "relu1"}


def test_delete_copy_paste_duplicate(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.scene.select_nodes(["conv1", "relu1"])
    win.act_copy.trigger()
    win.act_paste.trigger()
    pasted = win.scene.selected_node_ids()
    assert len(pasted) == 2 and set(pasted).isdisjoint({"conv1", "relu1"})
    conv = next(n for n in pasted if win.doc.design.node(n).type == "Conv2d")
    relu = next(n for n in pasted if n != conv)
    assert win.doc.design.inputs_of(relu) == [conv]  # the edge between them came along
    assert win.doc.design.node(conv).pos == (260.0, 40.0)
    win.act_duplicate.trigger()
    assert len(win.doc.design) == 18
    win.scene.select_nodes(["conv2"])
    QTest.keyClick(win.view, Qt.Key.Key_Delete)
    assert "conv2" not in win.doc.design and win.doc.design.inputs_of("relu2") == []
    assert win.doc.analysis.errors  # relu2 now has no input


def test_deleting_a_selected_edge_disconnects(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.scene.clearSelection()
    win.scene.edges[("pool1", "conv3")].setSelected(True)
    win.act_delete.trigger()
    assert ("pool1", "conv3") not in win.doc.design.edges and "pool1" in win.doc.design
    assert not any(isinstance(i, EdgeItem) and i.key == ("pool1", "conv3") for i in win.scene.items())


def test_arrow_keys_nudge_and_merge_into_one_undo_step(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    x, y = win.doc.design.node("fc1").pos
    win.select_node("fc1")
    win.view.setFocus()
    for _ in range(3):
        QTest.keyClick(win.view, Qt.Key.Key_Right)
    assert win.doc.design.node("fc1").pos == (x + 60.0, y)
    win.doc.undo_stack.undo()
    assert win.doc.design.node("fc1").pos == (x, y)


def test_zoom_wheel_fit_and_reset(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    win.act_zoom_reset.trigger()
    assert win.view.zoom == 1.0
    win.act_zoom_in.trigger()
    assert win.view.zoom > 1.0 and win.zoom_label.text() == "125%"
    win.act_fit.trigger()
    visible = win.view.mapToScene(win.view.viewport().rect()).boundingRect()
    assert visible.contains(win.scene.nodes["x"].sceneBoundingRect())
    assert visible.contains(win.scene.nodes["softmax"].sceneBoundingRect())


def test_channels_first_setting_changes_every_shape(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    assert win.scene.nodes["conv1"].card.shape == "24x24x6"
    win.act_channels_last.trigger()
    assert win.settings.channels_last is False
    assert win.scene.nodes["conv1"].card.shape == "6x24x24"
    assert win.scene.edges[("conv1", "relu1")].label == "6x24x24"
    assert win.summary.table.topLevelItem(1).text(2) == "6x24x24"


def test_right_click_selects_the_node_and_offers_its_actions(figure21, qtbot) -> None:  # noqa: ANN001, F811
    win = figure21
    win.scene.clearSelection()
    where = view_point(win, win.scene.nodes["fc1"].sceneBoundingRect().center())
    win.view.customContextMenuRequested.emit(where)
    menu = next(m for m in win.findChildren(QMenu) if m.isVisible())
    assert win.scene.selected_node_ids() == ["fc1"]
    assert win.act_delete in menu.actions() and win.act_duplicate in menu.actions()
    menu.close()


def test_ghosts_of_removed_nodes_keep_their_place_or_line_up_below_and_never_take_a_click(figure21) -> None:  # noqa: ANN001, F811
    """A removed node without a position (or of a type this version does not know) is still drawn."""
    from cnnstudio.core import catalogue
    from cnnstudio.gui.canvas.ghost_item import GhostItem, ghosts

    older = {"nodes": [{"id": "drop", "type": "Dropout", "params": {"p": 0.3}, "pos": [-400.0, -300.0]},
                       {"id": "odd", "type": "NoSuchLayer", "params": {}},
                       {"id": "conv1", "type": "Conv2d", "params": {"out_channels": 6, "kernel_size": 5}}]}
    scene = figure21.scene
    shown = ghosts(older, ["drop", "odd", "conv1"], "baseline", True)
    dropout = catalogue.get("Dropout").category
    assert [(g.type_name, g.detail, g.category) for g in shown[:2]] == [("Dropout", "p=0.3", dropout), ("NoSuchLayer", "", "other")]
    below = scene.itemsBoundingRect().bottom()
    scene.show_diff({}, shown)
    assert set(scene.ghosts) == {"drop", "odd"}  # conv1 is on the canvas: its own card shows it
    assert (scene.ghosts["drop"].x(), scene.ghosts["drop"].y()) == (-400.0, -300.0)
    assert scene.ghosts["odd"].y() > below and scene.ghosts["odd"].toolTip() == "removed since baseline\nodd · NoSuchLayer"
    figure21.view.fit()
    QTest.mouseClick(figure21.view.viewport(), Qt.MouseButton.LeftButton,
                     pos=figure21.view.mapFromScene(scene.ghosts["drop"].mapToScene(70, 40)))
    assert not scene.selectedItems()
    scene.show_diff({})
    assert not scene.ghosts and not [item for item in scene.items() if isinstance(item, GhostItem)]


def test_cards_are_painted_again_in_a_new_palette(figure21, qapp) -> None:  # noqa: ANN001, F811
    """The cards are cached pictures (so thumbnails refreshing under them cost no repaint): a switch
    between light and dark must still repaint them, not copy the old colours."""
    item = next(i for i in figure21.scene.nodes.values() if i.card.severity is None)
    inside = item.mapToScene(QPointF(WIDTH / 2, 4))  # the card's fill, above its first line of text

    def fill() -> QColor:
        qapp.processEvents()
        return figure21.view.viewport().grab().toImage().pixelColor(view_point(figure21, inside))

    saved = qapp.palette()
    try:
        for dark in (False, True, False):
            theme.apply(qapp, dark=dark)
            assert fill() == theme.colors().node_fill, dark
    finally:
        qapp.setPalette(saved)
