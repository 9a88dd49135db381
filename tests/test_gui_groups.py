"""Groups in the studio, driven like a user: group (Ctrl+G), open and close in place, ungroup,
rename, repeat, delete, drag a card, connect to and from a closed card, and undo of each."""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, QSizeF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog

from cnnstudio.core import groups as grouping
from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui import rename_dialog
from cnnstudio.gui.canvas.group_item import GroupItem
from cnnstudio.gui.canvas.node_item import HEIGHT, WIDTH
from cnnstudio.gui.commands import Delete
from gui_fixtures import (  # noqa: F401
    answers,
    drag,
    drop_layer,
    figure21,
    hover_drag,
    recovery_dir,
    release,
    settings,
    snapshot,
    view_point,
    window,
)


def card_of(win, node_id: str) -> QRectF:  # noqa: ANN001
    return QRectF(win.scene.nodes[node_id].pos(), QSizeF(WIDTH, HEIGHT))


def group_first_block(win) -> str:  # noqa: ANN001
    """Select conv1 and relu1 of Figure 21 and press Ctrl+G."""
    win.scene.select_nodes(["conv1", "relu1"])
    win.view.setFocus()
    QTest.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    (group_id,) = win.doc.design.groups
    return group_id


def test_ctrl_g_groups_the_selection_in_an_open_frame_and_undo_removes_it(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    before = snapshot(win)
    group_id = group_first_block(win)
    group = win.doc.design.groups[group_id]
    assert group.nodes == ["conv1", "relu1"] and group.name == "Group 1" and not group.collapsed
    item = win.scene.groups[group_id]
    assert isinstance(item, GroupItem) and item.isVisible() and item.isSelected()
    for node_id in group.nodes:  # the frame wraps its members' cards
        assert item.sceneBoundingRect().contains(card_of(win, node_id))
    win.doc.undo_stack.undo()
    assert snapshot(win) == before and not win.scene.groups
    win.doc.undo_stack.redo()
    assert win.doc.design.groups[group_id].nodes == ["conv1", "relu1"]


def test_closing_shows_one_card_with_shapes_and_parameters_and_routes_connections(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    item = win.scene.groups[group_id]
    conv2_x = win.doc.design.node("conv2").pos[0]
    # Double-click on the frame's title closes it in place.
    QTest.mouseDClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                      view_point(win, item.mapToScene(QPointF(60, 12))))
    assert win.doc.design.groups[group_id].collapsed
    assert not win.scene.nodes["conv1"].isVisible() and not win.scene.nodes["relu1"].isVisible()
    card = item.card
    assert card.collapsed and card.shape_in == "28x28x1" and card.shape_out == "24x24x6"
    assert card.params == "156 parameters" and card.counts == "2 layers"
    assert item.sceneBoundingRect().width() < 2 * WIDTH  # one card
    # Connections end at the card; the one inside it is hidden.
    assert win.scene.edges[("x", "conv1")].target_end is item and win.scene.edges[("x", "conv1")].isVisible()
    assert win.scene.edges[("relu1", "conv2")].source_end is item
    assert not win.scene.edges[("conv1", "relu1")].isVisible()
    assert win.doc.design.node("conv2").pos[0] < conv2_x  # what was right of it closed the gap
    # Its arrow opens it again; undo closes it; positions come back exactly.
    QTest.mouseClick(win.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view_point(win, item.mapToScene(item.toggle_rect().center())))
    assert not win.doc.design.groups[group_id].collapsed
    assert win.scene.nodes["conv1"].isVisible() and win.doc.design.node("conv2").pos[0] == conv2_x
    win.doc.undo_stack.undo()
    assert win.doc.design.groups[group_id].collapsed and not win.scene.nodes["conv1"].isVisible()
    win.doc.undo_stack.undo()
    assert not win.doc.design.groups[group_id].collapsed and win.doc.design.node("conv2").pos[0] == conv2_x


def test_an_error_inside_a_collapsed_group_shows_on_its_card(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    win.editor.groups.set_collapsed(group_id, True)
    assert win.scene.groups[group_id].card.severity is None
    win.editor.set_param("conv1", "kernel_size", 40)  # larger than the 28x28 input
    card = win.scene.groups[group_id].card
    assert card.severity == "error" and "conv1" in card.tooltip
    win.doc.undo_stack.undo()
    assert win.scene.groups[group_id].card.severity is None


def test_ungroup_opens_a_collapsed_group_and_dissolves_it(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    win.editor.groups.set_collapsed(group_id, True)
    closed = snapshot(win)
    win.scene.select_nodes([], [group_id])
    QTest.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier)
    assert win.doc.design.groups == {} and not win.scene.groups
    assert win.scene.nodes["conv1"].isVisible() and set(win.scene.selected_node_ids()) == {"conv1", "relu1"}
    win.doc.undo_stack.undo()
    assert snapshot(win) == closed


def test_rename_through_the_dialog_and_undo(figure21, monkeypatch) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    monkeypatch.setattr(rename_dialog, "ask_new_name", lambda *args, **kwargs: "Stem")
    win.actions["rename-group"].trigger()
    assert win.doc.design.groups[group_id].name == "Stem" and win.scene.groups[group_id].card.name == "Stem"
    win.doc.undo_stack.undo()
    assert win.doc.design.groups[group_id].name == "Group 1"


def test_repeat_chains_copies_in_one_undoable_step(window, monkeypatch) -> None:  # noqa: ANN001, F811
    win = window
    assert win.open_path(TEMPLATES / "resnet_small.json", ask=False)
    win.scene.select_nodes(["b2_conv1", "b2_relu1", "b2_conv2", "skip2", "b2_relu2"])
    win.actions["group"].trigger()
    (group_id,) = win.doc.design.groups
    before = snapshot(win)
    params = win.doc.analysis.total_params
    monkeypatch.setattr(QInputDialog, "getInt", lambda *args, **kwargs: (2, True))
    win.actions["repeat-group"].trigger()
    design = win.doc.design
    assert len(design.groups) == 3 and win.doc.analysis.valid
    copies = [g for g in design.groups if g != group_id]
    assert set(win.scene.selected_group_ids()) == set(copies)
    first, second = (grouping.boundary(design, g) for g in copies)
    assert first.sources == ["b2_relu2"] and second.sources == first.exit_nodes
    assert design.inputs_of("b3_conv1") == second.exit_nodes  # the next block now follows the last copy
    block = sum(win.doc.analysis.nodes[n].params for n in design.groups[group_id].nodes)
    assert win.doc.analysis.total_params == params + 2 * block
    assert win.doc.undo_stack.undoText().startswith("Repeat Group 1 2 more times")
    win.doc.undo_stack.undo()
    assert snapshot(win) == before and set(win.scene.groups) == {group_id}
    win.doc.undo_stack.redo()
    assert len(win.doc.design.groups) == 3


def test_deleting_a_card_deletes_its_layers_and_undo_brings_the_group_back(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    win.editor.groups.set_collapsed(group_id, True)
    before = snapshot(win)
    win.scene.select_nodes([], [group_id])
    win.act_delete.trigger()
    assert "conv1" not in win.doc.design and win.doc.design.groups == {} and not win.scene.groups
    win.doc.undo_stack.undo()
    assert snapshot(win) == before and win.scene.groups[group_id].isVisible()
    assert not win.scene.nodes["conv1"].isVisible()


def test_dragging_a_card_moves_all_its_layers(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    win.editor.groups.set_collapsed(group_id, True)
    start = {n: win.doc.design.node(n).pos for n in ("conv1", "relu1")}
    item = win.scene.groups[group_id]
    before = item.pos()
    grab = item.mapToScene(QPointF(WIDTH / 2, HEIGHT - 12))
    drag(win, grab, grab + QPointF(0, 300))
    moved = item.pos() - before  # 300 down, give or take snapping to the grid
    assert abs(moved.y() - 300) <= 10 and abs(moved.x()) <= 10
    for node_id, (x, y) in start.items():  # every layer moved with the card
        assert win.doc.design.node(node_id).pos == (x + moved.x(), y + moved.y())
    win.doc.undo_stack.undo()
    assert {n: win.doc.design.node(n).pos for n in start} == start


def test_a_design_file_with_nested_groups_opens_collapsed_and_lays_out(window, tmp_path) -> None:  # noqa: ANN001, F811
    design = load_design(TEMPLATES / "resnet_small.json")
    for node in design.nodes:
        node.pos = None  # as an importer writes it: the studio lays it out
    design.add_group("stage1", [])
    for block in ("b1", "b2"):
        members = [n.id for n in design.nodes if n.id.startswith(block + "_")] + [f"skip{block[1]}"]
        design.add_group(block, members, parent="stage1")
    path = tmp_path / "grouped.json"
    from cnnstudio.core.designfile import save_design

    save_design(design, path)
    assert window.open_path(path, ask=False)
    scene = window.scene
    assert scene.groups["stage1"].isVisible() and not scene.groups["b1"].isVisible()
    assert not any(scene.nodes[n].isVisible() for n in grouping.members(design.groups, "stage1"))
    # Collapsed, the stage is one card in the chain: relu0 -> [stage1] -> b3_conv1.
    card = scene.groups["stage1"].sceneBoundingRect()
    assert scene.nodes["relu0"].x() < card.left() < scene.nodes["b3_conv1"].x()
    # Opening it shows its two blocks as cards inside its frame.
    window.editor.groups.toggle_group("stage1")
    frame = scene.groups["stage1"].sceneBoundingRect()
    for block in ("b1", "b2"):
        assert scene.groups[block].isVisible() and frame.contains(scene.groups[block].sceneBoundingRect())
    assert not frame.intersects(card_of(window, "b3_conv1"))  # room was made


def test_duplicating_a_card_copies_its_layers_and_group_in_one_step(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    win.editor.groups.set_collapsed(group_id, True)
    before = snapshot(win)
    win.scene.select_nodes([], [group_id])
    win.act_duplicate.trigger()
    design = win.doc.design
    assert len(design) == 16 and set(design.groups) == {group_id, "group2"}
    copy = design.groups["group2"]
    assert copy.name == "Group 2" and copy.collapsed and len(copy.nodes) == 2
    assert [design.node(n).type for n in copy.nodes] == ["Conv2d", "ReLU"]
    assert design.inputs_of(copy.nodes[1]) == [copy.nodes[0]]  # the connection inside came along
    assert win.scene.selected_group_ids() == ["group2"]
    win.doc.undo_stack.undo()
    assert snapshot(win) == before


def test_copying_part_of_a_group_leaves_the_group_behind(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_first_block(win)
    win.scene.select_nodes(["relu1", "conv2"])
    win.act_copy.trigger()
    win.act_paste.trigger()
    assert len(win.doc.design.groups) == 1 and len(win.doc.design) == 16


def test_the_inspector_shows_a_selected_group_and_edits_it(figure21) -> None:  # noqa: ANN001, F811
    from cnnstudio.gui.group_panel import GroupPanel

    win = figure21
    group_id = group_first_block(win)
    panel = win.inspector.static
    assert isinstance(panel, GroupPanel)
    assert panel.holds.text() == "2 layers" and panel.shape_in.text() == "28x28x1"
    assert panel.shape_out.text() == "24x24x6" and panel.params.text() == "156"
    assert panel.toggle.text() == "Close"
    panel.toggle.click()
    assert win.doc.design.groups[group_id].collapsed and panel.toggle.text() == "Open"
    assert win.inspector.static is panel  # the same panel follows the edit
    panel.name.setText("Stem")
    panel.name.editingFinished.emit()
    assert win.doc.design.groups[group_id].name == "Stem"
    win.editor.set_param("conv1", "kernel_size", 40)
    assert "conv1:" in panel.problems.text()


def test_arrow_keys_move_a_selected_card_with_its_layers(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    win.editor.groups.set_collapsed(group_id, True)
    start = {n: win.doc.design.node(n).pos for n in ("conv1", "relu1")}
    win.scene.select_nodes([], [group_id])
    win.view.setFocus()
    QTest.keyClick(win.view, Qt.Key.Key_Down)
    assert all(win.doc.design.node(n).pos == (x, y + 20) for n, (x, y) in start.items())


def test_opening_and_closing_in_place_are_exact_inverses(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    group_id = group_first_block(win)
    win.editor.groups.set_collapsed(group_id, True)
    closed = {n.id: n.pos for n in win.doc.design.nodes}
    for _ in range(3):
        win.editor.groups.set_collapsed(group_id, False)
        win.editor.groups.set_collapsed(group_id, True)
    assert {n.id: n.pos for n in win.doc.design.nodes} == closed


def closed_first_block(win) -> GroupItem:  # noqa: ANN001
    group_id = group_first_block(win)
    win.editor.groups.set_collapsed(group_id, True)
    return win.scene.groups[group_id]


def middle(card: GroupItem) -> QPointF:
    return card.mapToScene(QPointF(WIDTH / 2, HEIGHT / 2))


def test_a_connection_dropped_on_a_closed_card_goes_to_its_one_free_input(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    card = closed_first_block(win)
    win.doc.push(Delete(win.doc, [], [("x", "conv1")], "Delete x → conv1"))
    steps = win.doc.undo_stack.count()
    hover_drag(win, win.scene.nodes["x"].output_port.scenePos(), middle(card))  # anywhere on the card
    assert card.input_port.hovered and not card.input_port.refused
    assert win.scene.hint.text == "drop to connect x → conv1 (inside Group 1)"
    release(win, middle(card))
    assert win.doc.design.inputs_of("conv1") == ["x"] and win.doc.design.groups[card.group_id].collapsed
    edge = win.scene.edges[("x", "conv1")]
    assert edge.target_end is card and edge.isVisible()
    assert win.statusBar().currentMessage() == "connected x → conv1"
    assert win.doc.undo_stack.count() == steps + 1
    win.doc.undo_stack.undo()
    assert win.doc.design.inputs_of("conv1") == []


def test_a_connection_from_a_closed_card_starts_at_its_output_and_may_replace(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    card = closed_first_block(win)
    assert card.output_port.isVisible()
    target = win.scene.nodes["relu2"].input_port
    hover_drag(win, card.output_port.scenePos(), target.scenePos())
    assert win.scene.hint.text == "drop to replace the connection from conv2"
    release(win, target.scenePos())
    assert win.doc.design.inputs_of("relu2") == ["relu1"]
    assert win.statusBar().currentMessage() == "replaced conv2 → relu2 by relu1 → relu2; Ctrl+Z undoes"
    win.doc.undo_stack.undo()
    assert win.doc.design.inputs_of("relu2") == ["conv2"]
    win.editor.groups.set_collapsed(card.group_id, False)
    assert not card.output_port.isVisible() and not card.input_port.isVisible()  # an open frame has none


def test_a_closed_card_with_no_free_input_refuses_naming_what_takes_them(figure21) -> None:  # noqa: ANN001, F811
    win = figure21
    card = closed_first_block(win)
    before = snapshot(win)
    hover_drag(win, win.scene.nodes["relu3"].output_port.scenePos(), middle(card))
    assert card.input_port.refused and win.scene.hint.refusal
    assert win.scene.hint.text == "Group 1 has no free input (conv1 takes x); open it to replace one"
    release(win, middle(card))
    assert snapshot(win) == before and "no free input" in win.statusBar().currentMessage()


def test_a_closed_card_with_several_free_inputs_offers_a_menu(window) -> None:  # noqa: ANN001, F811
    win = window
    for name, pos in (("Input", (0, 0)), ("ReLU", (300, -100)), ("ReLU", (300, 100))):
        drop_layer(win, name, QPointF(*pos))
    win.scene.select_nodes(["relu1", "relu2"])
    win.editor.groups.group_selection()
    (group_id,) = win.doc.design.groups
    win.editor.groups.set_collapsed(group_id, True)
    card, steps = win.scene.groups[group_id], win.doc.undo_stack.count()
    hover_drag(win, win.scene.nodes["input1"].output_port.scenePos(), middle(card))
    assert win.scene.hint.text == "drop to choose: input1 → relu1, input1 → relu2"
    release(win, middle(card))
    menu = win.editor.choice_menu
    assert menu is not None and menu.isVisible() and win.doc.undo_stack.count() == steps
    assert [a.text() for a in menu.actions()] == ["Connect inside Group 1:", "input1 → relu1", "input1 → relu2"]
    menu.actions()[2].trigger()
    menu.close()
    assert win.doc.design.inputs_of("relu2") == ["input1"] and win.doc.design.inputs_of("relu1") == []
    assert win.doc.undo_stack.count() == steps + 1


def test_a_closed_group_over_two_rows_covers_no_card_outside_it(figure21) -> None:  # noqa: ANN001, F811
    """Figure 21 folds into rows of four: conv2 ends the first row, relu2 and pool1 start the
    second. Closed, their group's card sits where conv2 was, not at the members' top-left corner
    (where the Input's card is)."""
    win = figure21
    conv2 = card_of(win, "conv2")
    win.scene.select_nodes(["conv2", "relu2", "pool1"])
    win.view.setFocus()
    QTest.keyClick(win.view, Qt.Key.Key_G, Qt.KeyboardModifier.ControlModifier)
    (group_id,) = win.doc.design.groups
    win.editor.groups.set_collapsed(group_id, True)
    item = win.scene.groups[group_id]
    card = QRectF(item.pos(), QSizeF(WIDTH, HEIGHT))
    assert item.isVisible() and item.card.collapsed and card == conv2
    shown = [node_id for node_id, node in win.scene.nodes.items() if node.isVisible()]
    assert "x" in shown and "conv2" not in shown
    assert [node_id for node_id in shown if card_of(win, node_id).intersects(card)] == []
