"""Issue 22: the Runs panel groups a sweep's trials under one row per sweep (how many trials, how they
ended, the best and which trial), ordinary runs staying at the top; a trial is a run like any other
(double-click loads it, two compare, rename and delete work), the sweep's row is not (its actions are
off and say why); pruned trials are grey. Run folders are made with real manifests."""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox, QTreeWidgetItem

from cnnstudio.gui import rename_dialog, theme
from cnnstudio.gui.training.runs_panel import COLUMNS, SWEEP_ROLE, SWEEP_TIP, RunsPanel
from cnnstudio.runs.manifest import Manifest

BEST, STATUS, EPOCHS = COLUMNS.index("Best"), COLUMNS.index("Status"), COLUMNS.index("Epochs")
# (status, pruned) as a sweep's worker leaves a trial, and the state the sweep calls it
ENDINGS = {("completed", False): "complete", ("stopped", True): "pruned", ("failed", False): "failed",
           ("stopped", False): "stopped", ("running", False): "running"}
TRIAL = st.tuples(st.sampled_from(sorted(ENDINGS)), st.none() | st.floats(0, 1, allow_nan=False))
SWEEPS = st.dictionaries(st.sampled_from(["lr", "width", "Lr search", "demo"]), st.lists(TRIAL, min_size=1, max_size=5),
                         max_size=3)


def make_run(folder: Path, started: float, *, status: str = "completed", best: float | None = 0.5,
             sweep: tuple[str, int, bool] | None = None, lr: float = 0.01) -> Path:
    """A run folder as the run store writes it; ``sweep``: (name, trial, pruned) for a trial."""
    name = f"{sweep[0]}_trial-{sweep[1]}" if sweep else f"2026-12-07_00-00-{int(started) % 60:02d}"
    run = folder / name
    run.mkdir(parents=True)
    Manifest(started=started, status=status, metric="val_accuracy", mode="max", epochs=2, planned_epochs=2,
             seconds=10.0, best=None if best is None else {"epoch": 2, "val_accuracy": best},
             sweep=None if sweep is None else {"name": sweep[0], "trial": sweep[1], "pruned": sweep[2]}).save(run)
    (run / "settings.json").write_text(json.dumps({"lr": lr, "epochs": 2}))
    (run / "best.pt").write_bytes(b"weights")
    return run


def double_click(panel: RunsPanel, item: QTreeWidgetItem) -> None:
    """As a mouse does it: a click, then the double-click (Qt's views want the press first)."""
    where = panel.tree.visualItemRect(item).center()
    QTest.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=where)
    QTest.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=where)


def children(item: QTreeWidgetItem) -> list[QTreeWidgetItem]:
    return [item.child(i) for i in range(item.childCount())]


def top(panel: RunsPanel) -> dict[str, QTreeWidgetItem]:
    return {panel.tree.topLevelItem(i).text(0): panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())}


@pytest.fixture
def panel(qtbot, tmp_path: Path) -> RunsPanel:  # noqa: ANN001
    """Two ordinary runs, then sweep "lr": trial 0 complete 0.7, trial 1 pruned, trial 2 complete 0.9."""
    make_run(tmp_path, 1000.0, best=0.6)
    for number, (status, pruned, best) in enumerate([("completed", False, 0.7), ("stopped", True, 0.3),
                                                     ("completed", False, 0.9)]):
        make_run(tmp_path, 1001.0 + number, status=status, best=best, sweep=("lr", number, pruned), lr=0.001 * (number + 1))
    make_run(tmp_path, 1010.0, best=0.8)
    widget = RunsPanel()
    qtbot.addWidget(widget)
    widget.resize(1200, 500)
    widget.set_directory(tmp_path)
    widget.show()
    qtbot.waitExposed(widget)
    return widget


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sweeps=SWEEPS, ordinary=st.integers(0, 3))
def test_each_sweep_is_one_row_over_its_trials_and_sums_them_up(qapp, sweeps, ordinary) -> None:  # noqa: ANN001
    with tempfile.TemporaryDirectory() as tmp:
        folder, started = Path(tmp), iter(range(1000, 2000))
        for _ in range(ordinary):
            make_run(folder, next(started))
        for name, trials in sweeps.items():
            for number, ((status, pruned), best) in enumerate(trials):
                make_run(folder, next(started), status=status, best=best, sweep=(name, number, pruned))
        panel = RunsPanel()
        panel.set_directory(folder)
        rows = top(panel)
        assert len(rows) == ordinary + len(sweeps) and len(panel.runs) == ordinary + sum(map(len, sweeps.values()))
        assert panel.tree.rootIsDecorated() == bool(sweeps)
        for name, trials in sweeps.items():
            row = rows[name]
            assert row.data(0, SWEEP_ROLE) == name and row.data(0, Qt.ItemDataRole.UserRole) is None
            assert sorted(child.text(0) for child in children(row)) == sorted(f"{name}_trial-{n}" for n in range(len(trials)))
            states = Counter(ENDINGS[ending] for ending, _ in trials)
            assert sorted(row.text(STATUS).split(", ")) == sorted(f"{count} {state}" for state, count in states.items())
            assert row.text(EPOCHS) == f"{len(trials)} trial{'s' * (len(trials) > 1)}"
            scored = [(best, n) for n, ((status, pruned), best) in enumerate(trials)
                      if best is not None and ENDINGS[(status, pruned)] == "complete"]
            if scored:
                top_value = max(best for best, _ in scored)
                named = int(row.text(BEST).rsplit("(trial ", 1)[1].rstrip(")"))
                assert (top_value, named) in scored and f"accuracy {top_value:.4g}" in row.text(BEST)
            else:
                assert row.text(BEST) == "–"
        for row in rows.values():
            if row.data(0, SWEEP_ROLE) is None:
                assert row.childCount() == 0 and not row.text(0).count("_trial-")
        panel.deleteLater()


def test_a_pruned_trial_is_grey_and_the_others_are_not(panel: RunsPanel) -> None:
    trials = {child.text(0): child for child in children(top(panel)["lr"])}
    grey = theme.colors().muted
    assert all(trials["lr_trial-1"].foreground(column).color() == grey for column in range(len(COLUMNS)))
    assert trials["lr_trial-1"].text(STATUS) == "pruned"
    assert all(trials[name].foreground(STATUS).color() != grey for name in ("lr_trial-0", "lr_trial-2"))
    assert top(panel)["lr"].text(STATUS) == "2 complete, 1 pruned"
    assert top(panel)["lr"].text(BEST) == "accuracy 0.9 (trial 2)"


def test_double_click_on_a_trial_loads_it_and_on_the_sweep_opens_it(panel: RunsPanel, qtbot) -> None:  # noqa: ANN001
    sweep = top(panel)["lr"]
    assert not sweep.isExpanded()
    with qtbot.assertNotEmitted(panel.load_requested):
        double_click(panel, sweep)
    assert sweep.isExpanded()
    trial = next(child for child in children(sweep) if child.text(0) == "lr_trial-2")
    with qtbot.waitSignal(panel.load_requested) as loaded:
        double_click(panel, trial)
    run, which = loaded.args
    assert run.folder == "lr_trial-2" and which == "best" and run.weights() == run.path / "best.pt"


def test_the_sweep_row_is_not_a_run_so_its_actions_are_off_and_say_why(panel: RunsPanel) -> None:
    sweep = top(panel)["lr"]
    sweep.setSelected(True)
    assert panel.selected() == []
    for key, button in panel.buttons.items():
        assert not button.isEnabled() and button.toolTip() == SWEEP_TIP, key
    sweep.child(0).setSelected(True)  # a trial beside it: still not one run
    assert len(panel.selected()) == 1 and not panel.buttons["load"].isEnabled()
    sweep.setSelected(False)
    assert all(panel.buttons[key].isEnabled() for key in ("load", "last", "rename", "note", "open", "delete"))
    assert panel.buttons["load"].toolTip() != SWEEP_TIP


def test_trials_compare_rename_delete_sort_and_stay_open_like_runs(panel: RunsPanel, qtbot, monkeypatch) -> None:  # noqa: ANN001
    diffs: list = []
    panel.diff_requested.connect(diffs.append)
    panel.select(["lr_trial-0", "lr_trial-2"])  # two trials: their design diff, as for two runs
    assert [run.folder for run in diffs[-1]] == ["lr_trial-0", "lr_trial-2"]
    assert top(panel)["lr"].isExpanded()  # the sweep opens to show them
    assert "lr 0.001 → 0.002" in top(panel)["lr"].child(1).text(COLUMNS.index("Changes from the previous run"))

    panel.select(["lr_trial-0"])
    monkeypatch.setattr(rename_dialog, "ask_new_name", lambda *a, **k: "low lr")
    panel.buttons["rename"].click()
    sweep = top(panel)["lr"]
    assert sweep.isExpanded() and "low lr" in [child.text(0) for child in children(sweep)]  # kept open, renamed
    assert [run.folder for run in panel.selected()] == ["lr_trial-0"]  # and still selected

    panel.tree.sortByColumn(BEST, Qt.SortOrder.DescendingOrder)
    assert [child.text(BEST) for child in children(sweep)] == ["accuracy 0.9", "accuracy 0.7", "accuracy 0.3"]
    panel.tree.sortByColumn(BEST, Qt.SortOrder.AscendingOrder)
    assert [child.text(BEST) for child in children(sweep)] == ["accuracy 0.3", "accuracy 0.7", "accuracy 0.9"]

    panel.select(["lr_trial-1"])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    panel.buttons["delete"].click()
    assert not (panel.directory / "lr_trial-1").exists()
    assert top(panel)["lr"].text(STATUS) == "2 complete" and top(panel)["lr"].childCount() == 2
