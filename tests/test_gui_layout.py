"""The auto-layout (Qt-free, ``cnnstudio.core.layout``): columns by depth, branches side by side."""

from __future__ import annotations

from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design
from cnnstudio.core.layout import COLUMN_STEP, ROW_STEP, layered_positions
from cnnstudio.core.resources import TEMPLATES as TEMPLATES_DIR


def test_a_chain_goes_left_to_right_on_one_row() -> None:
    design = load_design(TEMPLATES_DIR / "figure21.json")
    positions = layered_positions(design)
    order = list(design.graph)
    assert [positions[n] for n in order] == [(i * COLUMN_STEP, 0.0) for i in range(len(order))]


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
