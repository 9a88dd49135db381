"""Issue 23, D14: ``cnnstudio runs`` and the Runs panel show each run with the same cells (one
function, :mod:`cnnstudio.runs.table`): durations rounded alike, the first run's "changes" alike,
and the note in both; checked over generated durations and notes."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest

from cnnstudio.cli import main
from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui.training.runs_panel import COLUMNS, RunsPanel
from cnnstudio.runs import runs_dir
from cnnstudio.runs.manifest import Manifest
from cnnstudio.runs.table import FIRST_RUN, duration
from gui_fixtures import settings  # noqa: F401

SECONDS = st.one_of(st.floats(0, 10_000, allow_nan=False), st.sampled_from([0.5, 1.5, 59.5, 59.49, 3599.5, 3600.4]))
NOTES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=30)


def _runs(design_file: Path, seconds: list[float], notes: list[str]) -> Path:
    design = load_design(design_file)
    folder = runs_dir(design_file, design.name)
    for i, (spent, note) in enumerate(zip(seconds, notes, strict=True)):
        run = folder / f"2026-12-0{i + 1}_10-00-00"
        run.mkdir(parents=True)
        Manifest(started=time.time() - 1000 + i, status="completed", epochs=1, planned_epochs=1, seconds=spent,
                 note=note).save(run)
        (run / "settings.json").write_text(json.dumps({"lr": 0.01 * (i + 1), "epochs": 1}))
        (run / "design.json").write_text(design_file.read_text())
    return folder


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(runs=st.lists(st.tuples(SECONDS, NOTES), min_size=1, max_size=3))
def test_the_cli_and_the_panel_show_the_same_cells(qapp, tmp_path_factory, capsys, runs) -> None:  # noqa: ANN001
    design_file = tmp_path_factory.mktemp("d") / "figure21.json"
    save_design(load_design(TEMPLATES / "figure21.json"), design_file)
    folder = _runs(design_file, [s for s, _ in runs], [n for _, n in runs])
    capsys.readouterr()
    assert main(["runs", str(design_file)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[-1] == "note"  # the CLI has a note column
    panel = RunsPanel()
    panel.set_directory(folder)
    column = {name: COLUMNS.index(name) for name in ("Duration", "Changes from the previous run", "Note")}
    items = sorted((panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())),
                   key=lambda item: item.text(1))
    for line, item, (spent, note) in zip(lines[1:], items, runs, strict=True):
        assert item.text(column["Duration"]) == duration(spent) and f"  {duration(spent)}  " in line
        changes = item.text(column["Changes from the previous run"])
        assert changes in line
        shown_note = " ".join(note.split())
        assert item.text(column["Note"]) == shown_note and line.endswith(shown_note)
    assert items[0].text(column["Changes from the previous run"]) == FIRST_RUN
    if len(runs) > 1:
        assert "lr 0.01 → 0.02" in items[1].text(column["Changes from the previous run"])
    panel.deleteLater()


def test_durations_round_to_the_nearest_second() -> None:
    assert [duration(s) for s in (0.4, 0.5, 59.4, 59.6, 61, 3599.6, 3661)] == [
        "0 s", "0 s", "59 s", "1:00", "1:01", "1:00:00", "1:01:01"]


@pytest.mark.parametrize("between", ["the same runs", "a note written", "a run added"])
def test_a_refresh_between_the_clicks_of_a_double_click_keeps_it(qtbot, tmp_path, between) -> None:  # noqa: ANN001
    """A run in progress refreshes the table after every epoch; a double-click on a past run whose
    second press came just after such a refresh was lost (the rows were made anew, so the row of the
    first press was gone). The rows of the same runs are now updated in place."""
    design_file = tmp_path / "figure21.json"
    save_design(load_design(TEMPLATES / "figure21.json"), design_file)
    folder = _runs(design_file, [3.0, 4.0], ["", ""])
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.set_directory(folder)
    panel.show()
    qtbot.waitExposed(panel)
    first = next(run for run in panel.runs if run.name.startswith("2026-12-01"))
    row = next(panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())
               if panel.tree.topLevelItem(i).text(0) == first.name)
    where = QPoint(20, panel.tree.visualItemRect(row).center().y())
    viewport = panel.tree.viewport()
    QTest.mouseClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    if between == "a note written":  # as a run's manifest changes after each epoch
        manifest = json.loads((first.path / "run.json").read_text())
        (first.path / "run.json").write_text(json.dumps({**manifest, "note": "after an epoch"}))
    elif between == "a run added":  # as a run starts
        shutil.copytree(first.path, folder / "2026-12-09_10-00-00")
    panel.refresh()
    assert len(panel.runs) == (3 if between == "a run added" else 2) == panel.tree.topLevelItemCount()
    if between == "a note written":
        assert row.text(COLUMNS.index("Note")) == "after an epoch"  # the same row, updated
    assert row.isSelected()
    with qtbot.waitSignal(panel.load_requested, timeout=5_000) as loaded:
        QTest.mouseDClick(viewport, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, where)
    assert loaded.args[0].path == first.path
