"""Issue 23, D9: an opened group's members fold into rows like the top level (no long row), and
Auto-Layout never puts two cards, or a card and another group's frame, on top of each other."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.core import groups as grouping
from cnnstudio.core.design import Design
from cnnstudio.core.layout import COLUMN_STEP, ROW_STEP, WRAP_COLUMNS, layered_positions


def _chain(length: int, start: int, size: int, collapsed: bool) -> Design:
    design = Design()
    design.add_node("Input", {"shape": [1, 8, 8]}, "n0")
    for i in range(1, length):
        design.add_node("ReLU", node_id=f"n{i}")
        design.connect(f"n{i - 1}", f"n{i}")
    design.add_group("g", [f"n{i}" for i in range(start, start + size)], collapsed=collapsed)
    return design


@settings(max_examples=80, deadline=None)
@given(data=st.data())
def test_an_open_groups_members_fold_into_rows(data: st.DataObject) -> None:
    length = data.draw(st.integers(2, 24))
    start = data.draw(st.integers(1, length - 1))
    size = data.draw(st.integers(1, length - start))
    positions = layered_positions(_chain(length, start, size, collapsed=False))
    members = [f"n{i}" for i in range(start, start + size)]
    columns = {positions[n][0] for n in members}
    assert len(columns) == min(size, WRAP_COLUMNS)  # folded, never a row longer than the top level's
    rows = {positions[n][1] for n in members}
    assert len(rows) == -(-size // WRAP_COLUMNS)
    # reading order is kept: left to right, then the next row below
    for a, b in itertools.pairwise(members):
        (ax, ay), (bx, by) = positions[a], positions[b]
        assert (by == ay and bx > ax) or by > ay
    # no card overlaps another, and nothing outside the group sits inside its members' box
    cards = list(positions.items())
    for i, (a, (ax, ay)) in enumerate(cards):
        for b, (bx, by) in cards[i + 1:]:
            assert abs(ax - bx) >= COLUMN_STEP or abs(ay - by) >= ROW_STEP, (a, b)
    left, top = min(positions[n][0] for n in members), min(positions[n][1] for n in members)
    right = max(positions[n][0] for n in members) + COLUMN_STEP
    bottom = max(positions[n][1] for n in members) + ROW_STEP
    for node_id, (x, y) in positions.items():
        if node_id not in members:
            assert not (left <= x < right and top <= y < bottom), node_id


def test_a_closed_groups_members_are_folded_for_when_it_opens() -> None:
    design = _chain(3 + 2 * WRAP_COLUMNS, 2, 2 * WRAP_COLUMNS, collapsed=True)
    positions = layered_positions(design)
    members = grouping.members(design.groups, "g")
    assert len({positions[n][1] for n in members}) == 2
