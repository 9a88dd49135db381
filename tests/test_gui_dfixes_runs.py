"""Issue 23, D14: ``cnnstudio runs`` and the Runs panel show each run with the same cells (one
function, :mod:`cnnstudio.runs.table`): durations rounded alike, the first run's "changes" alike,
and the note in both; checked over generated durations and notes."""

from __future__ import annotations

import json
import time
from pathlib import Path

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

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
