"""The auto-layout (Qt-free, ``cnnstudio.core.layout``): columns by depth, branches side by side."""

from __future__ import annotations

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design
from cnnstudio.core.layout import COLUMN_STEP, ROW_GAP, ROW_STEP, WRAP_COLUMNS, layered_positions
from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR


def test_a_short_chain_goes_left_to_right_on_one_row() -> None:
    design = load_design(TEMPLATES_DIR / "figure21.json")
    for node_id in list(design.graph)[WRAP_COLUMNS:]:
        design.remove_node(node_id)
    positions = layered_positions(design)
    order = list(design.graph)
    assert [positions[n] for n in order] == [(i * COLUMN_STEP, 0.0) for i in range(WRAP_COLUMNS)]


def test_a_long_chain_reads_left_to_right_in_rows() -> None:
    design = load_design(TEMPLATES_DIR / "figure21.json")  # 13 layers: rows of 5, 5 and 3
    positions = layered_positions(design)
    order = list(design.graph)
    row = ROW_STEP + ROW_GAP
    assert [positions[n] for n in order] == [((i % WRAP_COLUMNS) * COLUMN_STEP, (i // WRAP_COLUMNS) * row)
                                             for i in range(len(order))]


def test_branches_share_a_column_and_a_node_sits_right_of_all_its_inputs() -> None:
    design = load_design(TEMPLATES_DIR / "inception.json")
    positions = layered_positions(design)
    for src, dst in design.edges:
        assert positions[src][0] < positions[dst][0]
    column = [n for n in design.graph if positions[n][0] == positions["b3_reduce"][0]]
    assert set(column) == {"b1", "b3_reduce", "b5_reduce", "bp_pool"}
    rows = sorted(positions[n][1] for n in column)
    assert rows == [-1.5 * ROW_STEP, -0.5 * ROW_STEP, 0.5 * ROW_STEP, 1.5 * ROW_STEP]
    # the second conv of each branch lines up with the first (no crossings)
    for first, second in (("b3_reduce", "b3"), ("b5_reduce", "b5"), ("bp_pool", "bp")):
        assert positions[first][1] == positions[second][1]


def test_a_cycle_still_gets_a_place_for_every_node() -> None:
    design = Design()
    for node_id in ("x", "a", "b"):
        design.add_node("Input" if node_id == "x" else "ReLU", node_id=node_id)
    design.connect("x", "a")
    design.connect("a", "b")
    design.connect("b", "a")
    positions = layered_positions(design)
    assert set(positions) == {"x", "a", "b"} and positions["x"][0] < positions["a"][0]


def _grouped_chain(collapsed: bool) -> Design:
    """x -> a -> b -> c -> d, with b and c in group 'g'."""
    design = Design()
    design.add_node("Input", {"shape": [1, 8, 8]}, "x")
    previous = "x"
    for node_id in "abcd":
        design.add_node("ReLU", node_id=node_id)
        design.connect(previous, node_id)
        previous = node_id
    design.add_group("g", ["b", "c"], collapsed=collapsed)
    return design


def test_a_collapsed_group_takes_one_column() -> None:
    positions = layered_positions(_grouped_chain(collapsed=True))
    assert positions["x"] == (0.0, 0.0) and positions["a"] == (COLUMN_STEP, 0.0)
    # Its members keep a layout of their own at the card's place, for when it opens.
    assert positions["b"] == (2 * COLUMN_STEP, 0.0) and positions["c"] == (3 * COLUMN_STEP, 0.0)
    assert positions["d"] == (3 * COLUMN_STEP, 0.0)  # right after the card


def test_an_open_group_takes_its_members_room_and_a_frame() -> None:
    from cnnstudio.core.layout import FRAME_HEADER, FRAME_PAD

    positions = layered_positions(_grouped_chain(collapsed=False))
    left = 2 * COLUMN_STEP
    assert positions["b"][0] == left + FRAME_PAD and positions["c"][0] == left + FRAME_PAD + COLUMN_STEP
    assert positions["d"][0] == left + 2 * COLUMN_STEP + 2 * FRAME_PAD
    assert positions["b"][1] == positions["c"][1]  # the members share a row inside the frame
    # The frame's middle sits on the chain's row.
    middle = positions["b"][1] - FRAME_HEADER + (ROW_STEP + FRAME_HEADER + FRAME_PAD) / 2
    assert abs(middle - ROW_STEP / 2) < 1e-9
