"""Runs kept for good: each start its own complete folder, listed by ``cnnstudio runs``, picked
by export, diffed, renamed and resumed in place."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from cnnstudio.cli import main
from cnnstudio.core.compiler import build_model
from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.runs import list_runs, pick_run, run_folder, runs_dir, store
from cnnstudio.runs.diff import changes, design_diff
from cnnstudio.runs.manifest import Manifest
from cnnstudio.runs.snapshots import thin
from cnnstudio.training import checkpoint, events
from training_helpers import classifier, older_layout


@pytest.fixture
def design_file(tmp_path: Path) -> Path:
    design = classifier()
    design.training = {"epochs": 2, "batch_size": 32, "data_options": {"count": 200}, "device": "cpu"}
    path = tmp_path / "tiny.json"
    save_design(design, path)
    return path


def test_two_runs_leave_two_complete_run_folders(design_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", str(design_file), "--lr", "0.01"]) == 0
    assert main(["train", str(design_file), "--lr", "0.05", "--epochs", "1"]) == 0
    runs = list_runs(runs_dir(design_file, "tiny"))
    assert len(runs) == 2
    first, second = runs
    assert first.folder.endswith("_lr0.01") and "lr0.05" in second.folder and first.folder < second.folder
    for run, epochs in ((first, 2), (second, 1)):
        files = {p.name for p in run.path.iterdir()}
        assert {"design.json", "settings.json", "metrics.jsonl", "last.pt", "best.pt", "run.json"} <= files
        assert run.manifest.status == "completed" and run.manifest.epochs == epochs
        assert run.manifest.metric == "val_accuracy" and run.final_value() is not None
        assert run.best_value() == max(r["val_accuracy"] for r in run.metrics())
        assert run.design["nodes"] == json.loads(design_file.read_text())["nodes"]
        assert run.settings["lr"] in (0.01, 0.05)
    best_epoch = first.manifest.best["epoch"]
    assert checkpoint.load(first.path / "best.pt")["epoch"] == best_epoch

    capsys.readouterr()
    assert main(["runs", str(design_file), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [first.folder, second.folder]
    for row in rows:
        assert {"name", "path", "status", "epochs", "best", "final", "started", "seconds"} <= set(row)
        assert isinstance(row["best"], dict) and "val_accuracy" in row["final"] and row["seconds"] > 0
    assert "lr 0.01 → 0.05" in rows[1]["changes"] and "epochs 2 → 1" in rows[1]["changes"]
    design = load_design(design_file)
    design.set_param("conv2d1", "out_channels", 4)
    save_design(design, design_file)
    assert main(["train", str(design_file), "--lr", "0.05", "--epochs", "1"]) == 0  # only the design changed
    assert list_runs(runs_dir(design_file, "tiny"))[-1].folder.endswith("_conv2d1")
    assert main(["runs", str(design_file)]) == 0
    table = capsys.readouterr().out
    assert first.folder in table and "accuracy" in table and "completed" in table


def test_export_takes_the_runs_weights(design_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["train", str(design_file), "--epochs", "1"]) == 0
    run = pick_run(runs_dir(design_file, "tiny"), "latest")
    target = tmp_path / "model.safetensors"
    assert main(["export", str(design_file), "--format", "safetensors", "-o", str(target)]) == 0
    assert f"weights: run {run.name}, {run.best_text()}, the best completed run ({run.path / 'best.pt'})" in capsys.readouterr().err
    from safetensors.torch import load_file

    exported = load_file(target)
    trained = checkpoint.load(run.path / "best.pt")["model"]
    model = build_model(load_design(design_file)).eval()
    model.load_state_dict({k: v for k, v in exported.items()}, strict=False)
    assert exported and all(torch.equal(exported[k], trained[k]) for k in exported)
    x = torch.randn(2, 1, 16, 16)
    reference = build_model(load_design(design_file)).eval()
    reference.load_state_dict(trained, strict=False)
    assert torch.allclose(model(x), reference(x))
    assert main(["export", str(design_file), "--format", "safetensors", "--random-weights", "-o", str(target)]) == 0
    assert not all(torch.equal(load_file(target)[k], trained[k]) for k in exported)
    assert main(["export", str(design_file), "--run", "nonesuch", "-o", str(target)]) == 1
    assert "matches no run" in capsys.readouterr().err


def test_stopped_run_resumes_in_its_own_folder(design_file: Path) -> None:
    from cnnstudio.runs.recorder import run_listeners
    from cnnstudio.training.engine import Trainer
    from cnnstudio.training.settings import parse_settings

    design = load_design(design_file)
    settings = parse_settings(design.training)
    folder = run_folder(runs_dir(design_file, design.name), settings.to_dict())
    trainer = Trainer(design, settings, out_dir=folder, callbacks=run_listeners(folder), step_rate=None)
    trainer.on_event = lambda e: isinstance(e, events.StepMetrics) and e.global_step == 3 and trainer.stop()
    finished = trainer.run()
    assert finished.status == "stopped" and finished.where() == "epoch 1, step 3/5 (step 3 of the run)"
    assert Manifest.load(folder).status == "stopped"
    assert main(["train", str(design_file), "--resume", str(folder / "last.pt")]) == 0
    runs = list_runs(folder.parent)
    assert len(runs) == 1 and runs[0].manifest.status == "completed" and runs[0].manifest.resumed == 1
    assert [r["epoch"] for r in runs[0].metrics()] == [1, 2]


def test_a_failed_run_keeps_its_message(design_file: Path) -> None:
    design = load_design(design_file)
    design.training = {**design.training, "data": "idx:/nonexistent"}
    save_design(design, design_file)
    assert main(["train", str(design_file)]) == 1
    run = pick_run(runs_dir(design_file, design.name), "latest")
    assert run.manifest.status == "failed" and "nonexistent" in run.manifest.message


def test_a_start_that_fails_leaves_a_failed_record_never_an_empty_folder(design_file: Path, tmp_path: Path,
                                                                         capsys: pytest.CaptureFixture) -> None:
    """A missing dataset, a Trainer that cannot be built, a folder that cannot be opened: each start
    leaves design, settings and a failed manifest with the sentence, and ``runs`` lists it."""
    from cnnstudio.gui.training.worker import Job, train
    from cnnstudio.training.settings import parse_settings

    design = load_design(design_file)
    design.training = {"epochs": 1, "device": "cpu"}  # no generated-data options: a folder is allowed
    save_design(design, design_file)
    missing = tmp_path / "no-such-data"
    assert main(["train", str(design_file), "--data", f"folder:{missing}"]) == 1
    assert capsys.readouterr().err.strip().endswith(f"cnnstudio train: folder:{missing}: no such folder")
    runs = runs_dir(design_file, "tiny")
    failed = tmp_path / "failed-before-training"
    failed.mkdir()
    (failed / "metrics.jsonl").mkdir()  # the engine cannot open this folder as a run's
    assert main(["train", str(design_file), "--out", str(failed)]) == 1
    assert "IsADirectoryError" in capsys.readouterr().err
    unbuilt = run_folder(runs, {"lr": 0.5})
    job = Job({"nodes": "not a list"}, parse_settings({"lr": 0.5}), str(unbuilt))
    seen: list[events.Event] = []
    train(job, seen.append, None)  # type: ignore[arg-type]
    assert isinstance(seen[-1], events.Finished) and seen[-1].status == "failed"

    for folder in (*runs.iterdir(), failed):
        assert {"run.json", "settings.json", "design.json"} <= {p.name for p in folder.iterdir()}, folder
    assert Manifest.load(failed).status == "failed" and "IsADirectoryError" in Manifest.load(failed).message
    assert main(["runs", str(design_file), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [row["status"] for row in rows] == ["failed", "failed"]
    assert rows[0]["message"] == f"folder:{missing}: no such folder" and rows[0]["settings"]["data"] == f"folder:{missing}"
    assert rows[1]["folder"] == unbuilt.name and rows[1]["message"].startswith("internal error: ")
    assert seen[0].message == rows[1]["message"]
    assert main(["runs", str(design_file)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].startswith(rows[0]["folder"]) and " failed " in table[1]
    assert table[2] == f"  failed: folder:{missing}: no such folder" and table[4].startswith("  failed: internal error")


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.is_file()}


def test_runs_from_before_the_run_store_are_listed_and_left_as_they_are(design_file: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture) -> None:
    runs = runs_dir(design_file, "tiny")
    older_layout(design_file, runs, "--lr", "0.02")  # runs/tiny/last.pt: the old default
    older_layout(design_file, runs / "exp1", "--epochs", "1")  # an --out folder inside it
    (runs / "exp1" / "last.pt").unlink()  # only its metrics left: its settings are unknown
    before = _files(runs)
    assert main(["train", str(design_file), "--lr", "0.05", "--epochs", "1"]) == 0
    capsys.readouterr()
    assert main(["runs", str(design_file), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["folder"], r["older"], r["status"]) for r in rows] == [
        ("tiny", True, "completed"), ("exp1", True, "unknown"), (list_runs(runs)[-1].folder, False, "completed")]
    itself, exp1, new = rows  # older runs first, by when their files were written
    records = [json.loads(line) for line in (runs / "metrics.jsonl").read_text().splitlines()]
    assert itself["started"] is None and itself["epochs"] == 2 and itself["planned_epochs"] == 2
    assert itself["settings"]["lr"] == 0.02 and itself["steps"] == checkpoint.load(runs / "last.pt")["global_step"]
    assert itself["best"]["val_accuracy"] == max(r["val_accuracy"] for r in records)
    assert itself["final"]["epoch"] == 2 and itself["seconds"] == pytest.approx(sum(r["seconds"] for r in records))
    assert itself["weights"] == str(runs / "last.pt")
    assert exp1["epochs"] == 1 and exp1["planned_epochs"] == 0 and exp1["settings"] == {} and exp1["weights"] is None
    assert exp1["metric"] == "val_accuracy" and exp1["final"]["epoch"] == 1
    assert exp1["changes"] == new["changes"] == "settings and design not known (older run)"
    assert main(["runs", str(design_file)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert "older run" in table[1] and "older run" in table[2] and "2/2" in table[1] and "1/?" in table[2]

    older = pick_run(runs, "tiny")
    assert older.older and older.design["nodes"] == json.loads(design_file.read_text())["nodes"]
    newest = pick_run(runs, "latest")
    assert changes(older.settings, newest.settings, older.design, newest.design) == "epochs 2 → 1; lr 0.02 → 0.05"
    for edit in (lambda: store.rename(older, "x"), lambda: store.set_note(older, "x"), lambda: store.delete(older)):
        with pytest.raises(store.RunError, match="older run"):
            edit()
    target = tmp_path / "older.safetensors"
    assert main(["export", str(design_file), "--run", "tiny", "--format", "safetensors", "-o", str(target)]) == 0
    assert "last.pt" in capsys.readouterr().err and target.is_file()
    design = load_design(design_file)
    design.set_param("conv2d1", "out_channels", 4)
    save_design(design, design_file)
    assert main(["train", str(design_file), "--resume", str(runs / "last.pt")]) == 2  # refused: another network
    assert "another network" in capsys.readouterr().err and not (runs / "run.json").exists()
    after = _files(runs)
    assert {k: v for k, v in after.items() if k in before} == before  # nothing of theirs moved or rewritten
    assert all(k.startswith(new["folder"] + "/") for k in after.keys() - before.keys())


def test_an_older_checkpoint_is_read_without_torch_and_without_running_its_pickle(design_file: Path, tmp_path: Path) -> None:
    import pickle
    import subprocess
    import sys
    import zipfile

    from cnnstudio.runs.older import checkpoint_header

    runs = runs_dir(design_file, "tiny")
    older_layout(design_file, runs, "--epochs", "1")
    code = ("import json, sys; from cnnstudio.runs import list_runs; from pathlib import Path; "
            f"run = list_runs(Path({str(runs)!r}))[0]; "
            "print(json.dumps([run.older, run.manifest.global_step, run.settings['epochs'], 'torch' in sys.modules]))")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert json.loads(found) == [True, checkpoint.load(runs / "last.pt")["global_step"], 1, False]

    class Payload:
        def __reduce__(self) -> tuple:
            return (Path.touch, (tmp_path / "ran",))

    hostile = tmp_path / "last.pt"
    with zipfile.ZipFile(hostile, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps({"epoch": 1, "x": Payload()}))
    assert checkpoint_header(hostile) is None and not (tmp_path / "ran").exists()
    (tmp_path / "broken.pt").write_bytes(b"not a checkpoint")
    assert checkpoint_header(tmp_path / "broken.pt") is None


def test_pick_rename_note_delete(tmp_path: Path) -> None:
    runs = tmp_path / "runs" / "d"
    for i, (accuracy, started) in enumerate(((0.5, 1.0), (0.9, 2.0), (0.7, 3.0))):
        folder = runs / f"2026-01-0{i + 1}_00-00-00"
        folder.mkdir(parents=True)
        Manifest(started=started, metric="val_accuracy", mode="max", status="completed", best={"val_accuracy": accuracy}).save(folder)
    assert pick_run(runs, "latest").folder.startswith("2026-01-03")
    assert pick_run(runs, "best").folder.startswith("2026-01-02")
    run = pick_run(runs, "2026-01-01")
    store.rename(run, "baseline")
    store.set_note(run, "first try")
    assert pick_run(runs, "baseline").manifest.note == "first try"
    with pytest.raises(store.RunError, match="ambiguous"):
        pick_run(runs, "2026")
    store.delete(pick_run(runs, "baseline"))
    assert len(list_runs(runs)) == 2


def test_design_diff_names_added_removed_and_changed_nodes() -> None:
    old, new = classifier(), classifier()
    new.set_param("conv2d1", "kernel_size", 5)
    new.remove_node("softmax1")
    node = new.add_node("ReLU", {}, "relu9")
    new.connect("linear1", node.id)
    diff = design_diff(_dict(old), _dict(new))
    assert diff.added == ["relu9"] and diff.removed == ["softmax1"]
    assert diff.changed == {"conv2d1": ["kernel_size 3 → 5"]}
    assert changes({"lr": 0.1}, {"lr": 0.01}, _dict(old), _dict(old)) == "lr 0.1 → 0.01"


def test_thinning_keeps_the_newest_half_whole() -> None:
    assert thin(8) == [0, 2, 4, 5, 6, 7]
    assert thin(1) == []


def _dict(design):
    from cnnstudio.core.designfile import to_dict

    return to_dict(design)


def test_pace_measures_a_recent_window_and_leaves_pauses_out() -> None:
    now = [0.0]
    pace = events.Pace(window_s=10.0, clock=lambda: now[0])
    for _ in range(20):  # 1 s per step of 64 images: 64 images/s
        now[0] += 1.0
        pace.add(64)
    now[0] += 30.0  # a 30 s pause
    pace.exclude(30.0)
    now[0] += 1.0
    pace.add(64)
    assert pace.rate() == pytest.approx(64.0) and pace.eta(12) == pytest.approx(12.0)
    for _ in range(25):  # twice as fast now: the 10 s window forgets the old pace
        now[0] += 0.5
        pace.add(64)
    assert pace.rate() == pytest.approx(128.0) and pace.eta(10) == pytest.approx(5.0)
