"""Editing rules on the real canvas (offscreen): nothing happens that the user did not ask for.

A drop on an occupied single input replaces its connection (one undo step), saying so beside the
port while dragging; a cycle is refused at the gesture with the reason beside the port;
a layer dropped on a connection is inserted into it; new cards land in free space; the view does
not move under the user; the empty-canvas hint goes with the first card; shape labels are never
hidden by cards; multi-select, copy/paste, align and distribute behave as in diagram editors."""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QPointF, QRect, Qt
from PySide6.QtGui import QDragEnterEvent, QDragMoveEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from cnnstudio.core import catalogue
from cnnstudio.core.design import Node
from cnnstudio.gui import theme
from cnnstudio.gui.canvas.node_item import HEIGHT, WIDTH
from cnnstudio.gui.canvas.view import LAYER_MIME
from cnnstudio.gui.commands import AddNodes
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import (  # noqa: F401
    answers,
    drag,
    drop_layer,
    figure21,
    hover_drag,
    recovery_dir,
    release,
    settings,
    view_point,
    window,
)


def overlaps(win: MainWindow, node_id: str) -> list[str]:
    rect = win.scene.nodes[node_id].sceneBoundingRect()
    return [n for n, item in win.scene.nodes.items() if n != node_id and item.sceneBoundingRect().intersects(rect)]


def test_a_drop_on_an_occupied_input_replaces_its_connection_in_one_undo_step(figure21: MainWindow) -> None:  # noqa: F811
    win = figure21
    before, steps = win.doc.design.edges, win.doc.undo_stack.count()
    source, target = win.scene.nodes["x"].output_port, win.scene.nodes["conv2"].input_port
    hover_drag(win, source.scenePos(), target.scenePos())
    assert target.hovered and not target.refused  # it may take it: not red
    assert win.scene.hint.isVisible() and not win.scene.hint.refusal
    assert win.scene.hint.text == "drop to replace the connection from relu1"
    corner = win.view.mapFromScene(win.scene.hint.pos())  # the note is drawn whole, inside the view
    assert win.view.viewport().rect().contains(QRect(corner, win.scene.hint.rect.size().toSize()))
    release(win, target.scenePos())
    assert not win.scene.hint.isVisible()
    assert win.doc.design.inputs_of("conv2") == ["x"] and ("relu1", "conv2") not in win.scene.edges
    assert ("x", "conv2") in win.scene.edges
    assert win.statusBar().currentMessage() == "replaced relu1 → conv2 by x → conv2; Ctrl+Z undoes"
    assert win.doc.undo_stack.count() == steps + 1
    QTest.keyClick(win.view, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # Ctrl+Z, as the message says
    assert win.doc.design.edges == before and ("relu1", "conv2") in win.scene.edges
    assert ("x", "conv2") not in win.scene.edges
    win.doc.undo_stack.redo()
    assert win.doc.design.inputs_of("conv2") == ["x"]


def test_dragging_back_from_an_occupied_input_replaces_too(figure21: MainWindow) -> None:  # noqa: F811
    win = figure21
    start, end = win.scene.nodes["relu4"].input_port, win.scene.nodes["relu3"].output_port
    hover_drag(win, start.scenePos(), end.scenePos())
    assert win.scene.hint.text == "drop to replace the connection from fc1"
    release(win, end.scenePos())
    assert win.doc.design.inputs_of("relu4") == ["relu3"]


def test_a_replacement_that_would_make_a_cycle_is_refused_with_the_reason(figure21: MainWindow) -> None:  # noqa: F811
    win = figure21
    before, steps = win.doc.design.edges, win.doc.undo_stack.count()
    source, target = win.scene.nodes["relu4"].output_port, win.scene.nodes["conv2"].input_port
    hover_drag(win, source.scenePos(), target.scenePos())
    assert target.refused and not target.hovered
    assert win.scene.hint.refusal and "this would make a cycle (conv2 → relu2" in win.scene.hint.text
    release(win, target.scenePos())
    assert win.doc.design.edges == before and not target.refused and not win.scene.hint.isVisible()
    assert "cycle" in win.statusBar().currentMessage() and win.doc.undo_stack.count() == steps


def cycle_design(win: MainWindow) -> None:
    for name, pos in (("Input", (0, 0)), ("ReLU", (300, 0)), ("Concat", (600, 0)), ("ReLU", (900, 0))):
        drop_layer(win, name, QPointF(*pos))
    nodes = win.scene.nodes
    drag(win, nodes["input1"].output_port.scenePos(), nodes["relu1"].input_port.scenePos())
    drag(win, nodes["relu1"].output_port.scenePos(), nodes["concat1"].input_port.scenePos())
    drag(win, nodes["concat1"].output_port.scenePos(), nodes["relu2"].input_port.scenePos())
    assert win.doc.design.edges == [("input1", "relu1"), ("relu1", "concat1"), ("concat1", "relu2")]


def test_a_cycle_is_refused_at_the_gesture(window: MainWindow) -> None:  # noqa: F811
    cycle_design(window)
    nodes = window.scene.nodes
    start, end = nodes["relu2"].output_port, nodes["concat1"].input_port
    hover_drag(window, start.scenePos(), end.scenePos())
    assert end.refused and "cycle (concat1 → relu2 → concat1)" in window.scene.hint.text
    release(window, end.scenePos())
    assert ("relu2", "concat1") not in window.doc.design.edges
    assert "cycle" in window.statusBar().currentMessage()
    assert window.doc.undo_stack.count() == 7  # four drops, three connections: nothing for the refusal


def test_a_layer_dropped_on_a_connection_is_inserted_and_the_connection_lights_up(figure21: MainWindow) -> None:  # noqa: F811
    win = figure21
    edge = win.scene.edges[("fc1", "relu4")]
    middle = edge.path.pointAtPercent(0.5)
    mime = QMimeData()
    mime.setData(LAYER_MIME, b"Dropout")
    point = view_point(win, middle)
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    for event in (QDragEnterEvent(point, *args), QDragMoveEvent(point, *args)):
        QApplication.sendEvent(win.view.viewport(), event)
    assert win.scene.drop_edge is edge and edge.drop_target
    drop_layer(win, "Dropout", middle)
    assert win.scene.drop_edge is None
    assert win.doc.design.inputs_of("dropout1") == ["fc1"] and win.doc.design.inputs_of("relu4") == ["dropout1"]
    assert win.doc.analysis.valid and not overlaps(win, "dropout1")
    win.doc.undo_stack.undo()
    assert win.doc.design.inputs_of("relu4") == ["fc1"] and "dropout1" not in win.doc.design


def test_a_layer_that_takes_no_input_is_added_beside_not_into_the_connection(figure21: MainWindow) -> None:  # noqa: F811
    win = figure21
    drop_layer(win, "Input", win.scene.edges[("fc1", "relu4")].path.pointAtPercent(0.5))
    assert win.doc.design.inputs_of("relu4") == ["fc1"] and "input1" in win.doc.design


def test_a_card_dropped_on_others_lands_in_the_nearest_free_place(figure21: MainWindow) -> None:  # noqa: F811
    win = figure21
    drop_layer(win, "BatchNorm2d", win.scene.nodes["conv2"].sceneBoundingRect().center())
    (new,) = win.scene.selected_node_ids()
    assert not overlaps(win, new)
    x, y = win.doc.design.node(new).pos
    cx, cy = win.doc.design.node("conv2").pos
    assert abs(x - cx) + abs(y - cy) <= 2 * (WIDTH + HEIGHT)  # near where it was dropped


def test_added_after_a_layer_goes_beside_it_and_the_view_does_not_move(figure21: MainWindow) -> None:  # noqa: F811
    win = figure21
    win.view.set_zoom(0.6)
    win.view.centerOn(win.scene.nodes["fc1"])
    center = win.view.mapToScene(win.view.viewport().rect().center())
    win.select_node("fc1")
    for _ in range(2):  # both land in view: only a card added out of sight scrolls it into view
        win.palette.add_requested.emit("Dropout")
    added = ["dropout1", "dropout2"]
    for node_id in added:
        assert not overlaps(win, node_id)
    assert win.doc.design.inputs_of("dropout1") == ["fc1"]
    assert win.doc.design.node("dropout1").pos[0] == win.doc.design.node("fc1").pos[0] + 240
    drop_layer(win, "ReLU", center + QPointF(0, 250))
    far = Node("far", "ReLU", catalogue.get("ReLU").defaults(), (-5000.0, -3000.0))
    win.doc.push(AddNodes(win.doc, [far], [], "Add far away"))  # grows the scene's extent
    assert win.scene.sceneRect().contains(QPointF(-5000, -3000))
    now = win.view.mapToScene(win.view.viewport().rect().center())
    assert abs(now.x() - center.x()) < 2 and abs(now.y() - center.y()) < 2


def test_the_empty_canvas_hint_goes_with_the_first_card(window: MainWindow, qtbot) -> None:  # noqa: ANN001, F811
    def hint_pixels() -> int:
        image = window.view.viewport().grab().toImage()
        muted = theme.colors().muted.rgb()
        y = image.height() // 2
        return sum(1 for x in range(image.width()) for dy in range(-12, 13) if image.pixel(x, y + dy) == muted)

    assert hint_pixels() > 0
    with qtbot.waitSignal(window.scene.emptied):
        drop_layer(window, "Conv2d", window.view.mapToScene(10, 10) + QPointF(WIDTH / 2, HEIGHT / 2))
    assert hint_pixels() == 0
    with qtbot.waitSignal(window.scene.emptied, check_params_cb=lambda empty: empty):
        window.doc.undo_stack.undo()


def test_a_short_connection_keeps_its_shape_label_clear_of_the_cards(window: MainWindow) -> None:  # noqa: F811
    drop_layer(window, "Input", QPointF(WIDTH / 2, 0))
    drop_layer(window, "Conv2d", QPointF(WIDTH * 1.5 + 200, 0))
    nodes = window.scene.nodes
    drag(window, nodes["input1"].output_port.scenePos(), nodes["conv2d1"].input_port.scenePos())
    edge = window.scene.edges[("input1", "conv2d1")]
    for gap in (200, 36, 10):  # room, a little room (elided), none (above the cards)
        nodes["conv2d1"].setPos(WIDTH + gap, nodes["input1"].pos().y())
        label = edge.mapRectToScene(edge.label_rect)
        for node_id in ("input1", "conv2d1"):
            assert not label.intersects(nodes[node_id].mapRectToScene(nodes[node_id].shape().boundingRect())), gap
        assert edge.shown_label == "28x28x1" or edge.shown_label.endswith("…")
        assert "28x28x1" in edge.toolTip()


def test_multi_select_copy_paste_align_and_distribute(figure21: MainWindow) -> None:  # noqa: F811
    win = figure21
    viewport = win.view.viewport()
    ctrl = Qt.KeyboardModifier.ControlModifier
    for node_id in ("conv1", "relu1", "conv2"):
        point = view_point(win, win.scene.nodes[node_id].sceneBoundingRect().center())
        QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, ctrl, point)
    assert sorted(win.scene.selected_node_ids()) == ["conv1", "conv2", "relu1"]
    win.act_copy.trigger()
    win.act_paste.trigger()
    pasted = sorted(win.scene.selected_node_ids())
    assert len(pasted) == 3 and not {"conv1", "relu1", "conv2"} & set(pasted)
    assert len([e for e in win.doc.design.edges if e[0] in pasted and e[1] in pasted]) == 2
    win.doc.move("relu1", (400, 60))
    win.scene.select_nodes(["conv1", "relu1", "conv2"])
    win.editor.align("top")
    assert {win.doc.design.node(n).pos[1] for n in ("conv1", "relu1", "conv2")} == {0.0}
    win.doc.move("relu1", (260, 0))
    win.editor.distribute(horizontal=True)
    xs = [win.doc.design.node(n).pos[0] for n in ("conv1", "relu1", "conv2")]
    assert xs == [220.0, 440.0, 660.0]
    win.act_undo.trigger()
    assert win.doc.design.node("relu1").pos == (260, 0)
