"""The run whose weights are used when none is named (issue 20): the best completed run by the
task's main metric, not the newest; ``--run latest`` keeps the newest; the commands say which."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design
from cnnstudio.runs import list_runs, pick_run
from cnnstudio.runs.manifest import Manifest
from cnnstudio.runs.store import default_run
from training_helpers import classifier

STATUSES = ("completed", "stopped", "failed", "running", "unknown")  # unknown: a damaged run.json, never chosen
RUN = st.tuples(st.sampled_from(STATUSES), st.none() | st.floats(0, 1, allow_nan=False), st.booleans())


def make_runs(folder: Path, specs: list[tuple[str, float | None, bool]], mode: str = "max") -> None:
    """One run folder per (status, best main metric, has best.pt), oldest first."""
    for index, (status, best, weighted) in enumerate(specs):
        run = folder / f"2026-01-01_00-00-{index:02d}"
        run.mkdir(parents=True)
        metric = "val_accuracy" if mode == "max" else "val_mse"
        Manifest(started=1000.0 + index, status=status, metric=metric, mode=mode,
                 best=None if best is None else {metric: best}).save(run)
        if weighted:
            (run / "best.pt").write_bytes(b"weights")


@settings(max_examples=150, deadline=None)
@given(specs=st.lists(RUN, max_size=8), mode=st.sampled_from(("max", "min")))
def test_the_default_is_the_best_completed_run_else_the_newest_with_weights(specs, mode) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        make_runs(Path(tmp), specs, mode)
        runs = list_runs(Path(tmp))
        chosen = default_run(runs)
    candidates = [i for i, (status, best, weighted) in enumerate(specs)
                  if status == "completed" and best is not None and weighted]
    if candidates:
        values = [specs[i][1] for i in candidates]
        target = max(values) if mode == "max" else min(values)
        newest_best = max(i for i in candidates if specs[i][1] == target)  # of equals, the newest
        assert chosen is not None and chosen.folder.endswith(f"{newest_best:02d}")
    elif any(weighted and status != "unknown" for status, _, weighted in specs):
        newest = max(i for i, (status, _, weighted) in enumerate(specs) if weighted and status != "unknown")
        assert chosen is not None and chosen.folder.endswith(f"{newest:02d}")
    else:
        assert chosen is None


def test_latest_keeps_the_newest_and_a_named_run_is_taken_as_named(tmp_path: Path) -> None:
    make_runs(tmp_path, [("completed", 0.9, True), ("completed", 0.4, True), ("failed", None, True)])
    assert pick_run(tmp_path).folder.endswith("00")
    assert pick_run(tmp_path, "latest").folder.endswith("02")
    assert pick_run(tmp_path, "2026-01-01_00-00-01").folder.endswith("01")
    assert pick_run(tmp_path).best_text() == "best accuracy 90.0%"
    assert pick_run(tmp_path, "latest").best_text() == "no accuracy yet"


@pytest.fixture
def trained_twice(tmp_path: Path) -> Path:
    """A design with two runs: a good one, then a worse one (a learning rate far too high)."""
    design = classifier()
    design.training = {"epochs": 2, "batch_size": 16, "data_options": {"count": 200}, "device": "cpu"}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    assert main(["train", str(path), "--lr", "0.01"]) == 0
    assert main(["train", str(path), "--lr", "1e-9", "--epochs", "1"]) == 0  # learns nothing
    return path


def test_export_and_visualize_take_the_best_run_and_say_which(trained_twice: Path, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    runs = list_runs(trained_twice.parent / "runs" / "tiny")
    good, worse = runs
    assert good.best_value() > worse.best_value()
    capsys.readouterr()
    assert main(["export", str(trained_twice), "--format", "safetensors", "-o", str(tmp_path / "m.safetensors")]) == 0
    said = capsys.readouterr().err
    assert f"weights: run {good.name}, best accuracy {good.best_value():.1%}, the best completed run ({good.path / 'best.pt'})" in said
    assert main(["export", str(trained_twice), "--run", "latest", "--format", "safetensors",
                 "-o", str(tmp_path / "m.safetensors")]) == 0
    assert f"weights: run {worse.name}" in capsys.readouterr().err
    assert main(["visualize", str(trained_twice), "--layer", "conv2d1", "--channels", "0", "--steps", "1",
                 "-o", str(tmp_path / "grid.png")]) == 0
    assert f"weights: run {good.name}, best accuracy" in capsys.readouterr().err
    assert main(["visualize", str(trained_twice), "--run", "nonesuch", "--layer", "conv2d1", "--steps", "1",
                 "-o", str(tmp_path / "grid.png")]) == 1
    assert "'nonesuch' matches no run" in capsys.readouterr().err


def test_the_line_says_why_the_default_run_was_taken(tmp_path: Path) -> None:
    """A failed run with a checkpoint is taken when none completed, and never called the best completed run."""
    from cnnstudio.runs.store import why_default

    make_runs(tmp_path / "a", [("failed", None, True)])
    assert why_default(default_run(list_runs(tmp_path / "a"))) == "the newest run with a checkpoint: no run has completed"
    make_runs(tmp_path / "b", [("failed", None, True), ("completed", 0.5, True)])
    assert why_default(default_run(list_runs(tmp_path / "b"))) == "the best completed run"
