"""``cnnstudio sweep`` and ``cnnstudio sweeps`` in this process: trials are runs of the run store, a
layer parameter changes what trains, failed and pruned trials, the --json listing and its best, and
bad input refused before any trial."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from cnnstudio.cli import main
from cnnstudio.core.compiler import build_model
from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.runs import list_runs
from training_helpers import classifier

TINY = {"epochs": 1, "batch_size": 32, "data_options": {"count": 96}, "device": "cpu", "lr": 0.01}


@pytest.fixture
def design_file(tmp_path: Path) -> Path:
    design = classifier(classes=6, size=8)
    design.training = dict(TINY)
    path = tmp_path / "tiny.json"
    save_design(design, path)
    return path


def sweeps_json(design_file: Path, capsys: pytest.CaptureFixture, *more: str) -> list[dict]:
    capsys.readouterr()
    assert main(["sweeps", str(design_file), "--json", *more]) == 0
    return json.loads(capsys.readouterr().out)["sweeps"]


def parameters(path: Path) -> int:
    return sum(p.numel() for p in build_model(load_design(path)).parameters())


def test_a_layer_parameter_changes_what_each_trial_trains(design_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", str(design_file), "--param", "nodes.conv2d1.out_channels=choice:2,5",
                 "--trials", "2", "--sampler", "grid", "--sweep", "width"]) == 0
    (sweep,) = sweeps_json(design_file, capsys)
    assert sweep["name"] == "width" and sweep["metric"] == "val_accuracy" and sweep["direction"] == "maximize"
    by_width = {t["params"]["nodes.conv2d1.out_channels"]: Path(t["run"]) for t in sweep["trials"]}
    assert set(by_width) == {2, 5} and {t["state"] for t in sweep["trials"]} == {"complete"}
    assert {p.name for p in by_width.values()} == {"width_trial-0", "width_trial-1"}
    # conv 1->c (9c + c) and linear (16 c -> 6: 96 c + 6): the parameter count follows the trial's width
    assert parameters(by_width[2] / "design.json") == 2 * 10 + 2 * 96 + 6
    assert parameters(by_width[5] / "design.json") == 5 * 10 + 5 * 96 + 6
    runs = {run.path: run for run in list_runs(design_file.parent / "runs" / "tiny")}
    for number, (_width, folder) in enumerate(sorted(by_width.items(), key=lambda item: item[1].name)):
        assert runs[folder].manifest.sweep == {"name": "width", "trial": number, "pruned": False}
        assert runs[folder].settings["lr"] == 0.01 and (folder / "last.pt").is_file()


def test_best_is_the_best_complete_trial_and_json_has_every_field(design_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1:log",
                 "--param", "training.optimizer=choice:sgd,adam", "--trials", "3", "--seed", "1"]) == 0
    (sweep,) = sweeps_json(design_file, capsys)
    assert set(sweep) == {"name", "storage", "metric", "direction", "trials", "best"}
    assert sweep["name"] == "lr+optimizer" and sweep["storage"].endswith("sweeps.journal")
    assert [t["number"] for t in sweep["trials"]] == [0, 1, 2]
    for trial in sweep["trials"]:
        assert set(trial) == {"number", "state", "params", "value", "run"}
        assert set(trial["params"]) == {"training.lr", "training.optimizer"}
        assert json.loads((Path(trial["run"]) / "settings.json").read_text())["optimizer"] == trial["params"]["training.optimizer"]
        assert trial["value"] == max(r["val_accuracy"] for r in map(json.loads, (Path(trial["run"]) / "metrics.jsonl").read_text().splitlines()))
    best = max(sweep["trials"], key=lambda t: t["value"])
    assert sweep["best"] == {k: best[k] for k in ("number", "params", "value", "run")}
    capsys.readouterr()
    assert main(["sweeps", str(design_file)]) == 0
    assert f"best: trial {best['number']}" in capsys.readouterr().out


def test_a_trial_that_makes_the_design_invalid_fails_with_the_sentence_and_the_sweep_goes_on(
        design_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", str(design_file), "--param", "nodes.conv2d1.kernel_size=choice:3,99",
                 "--param", "nodes.conv2d1.padding=choice:0", "--trials", "2", "--sampler", "grid"]) == 0
    said = capsys.readouterr().err
    (sweep,) = sweeps_json(design_file, capsys)
    states = {t["params"]["nodes.conv2d1.kernel_size"]: t for t in sweep["trials"]}
    assert states[99]["state"] == "failed" and states[3]["state"] == "complete"
    message = json.loads((Path(states[99]["run"]) / "run.json").read_text())["message"]
    assert "cannot be trained" in message and "kernel" in message and "trial" in said and message.splitlines()[1] in said
    assert sweep["best"]["number"] == states[3]["number"]


def test_a_trial_behind_the_others_is_pruned_as_a_stopped_run_marked_pruned(tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture) -> None:
    design_file = tmp_path / "learns.json"
    design = classifier(classes=6, size=16)  # enough images to learn something in one epoch
    design.training = {**TINY, "data_options": {"count": 400}}
    save_design(design, design_file)
    # grid seed 5 tries 0.01, 0.003, then 1e-9 (which learns nothing: behind the median at epoch 1)
    assert main(["sweep", str(design_file), "--param", "training.lr=choice:0.01,0.003,1e-9", "--trials", "3",
                 "--sampler", "grid", "--seed", "5", "--epochs", "2", "--sweep", "p"]) == 0
    (sweep,) = sweeps_json(design_file, capsys)
    pruned = [t for t in sweep["trials"] if t["state"] == "pruned"]
    assert [t["params"]["training.lr"] for t in pruned] == [1e-9]
    manifest = json.loads((Path(pruned[0]["run"]) / "run.json").read_text())
    assert manifest["status"] == "stopped" and manifest["sweep"]["pruned"] is True and manifest["epochs"] == 1
    assert (Path(pruned[0]["run"]) / "last.pt").is_file()
    capsys.readouterr()
    assert main(["runs", str(design_file)]) == 0
    assert "pruned" in capsys.readouterr().out


def test_hyperband_prunes_a_diverging_trial_as_a_stopped_run_marked_pruned(tmp_path: Path,
                                                                          capsys: pytest.CaptureFixture) -> None:
    design_file = tmp_path / "diverges.json"
    design = classifier(classes=6, size=16)
    design.training = {**TINY, "optimizer": "adam", "data_options": {"count": 400}}
    save_design(design, design_file)
    # grid seed 1 tries lr 0.01, then 20 (Adam's steps of 20 blow the loss up to chance accuracy). Hyperband's
    # first rung (epoch 1) keeps only the best trial so far, so one finished trial is enough to compare with;
    # the median pruner would still be waiting for its two.
    assert main(["sweep", str(design_file), "--param", "training.lr=choice:0.01,20", "--trials", "2",
                 "--sampler", "grid", "--seed", "1", "--epochs", "2", "--pruner", "hyperband", "--sweep", "hb"]) == 0
    assert "trial 1 pruned after epoch 1" in capsys.readouterr().err
    (sweep,) = sweeps_json(design_file, capsys)
    assert [(t["params"]["training.lr"], t["state"]) for t in sweep["trials"]] == [(0.01, "complete"), (20, "pruned")]
    pruned = sweep["trials"][1]
    assert pruned["value"] is None and sweep["best"]["number"] == 0
    manifest = json.loads((Path(pruned["run"]) / "run.json").read_text())
    assert manifest["status"] == "stopped" and manifest["epochs"] == 1 and manifest["planned_epochs"] == 2
    assert manifest["sweep"] == {"name": "hb", "trial": 1, "pruned": True}
    assert manifest["final"]["train_loss"] > 10 * math.log(6)  # diverging: far above a guess among 6 classes
    assert (Path(pruned["run"]) / "last.pt").is_file()
    capsys.readouterr()
    assert main(["runs", str(design_file)]) == 0
    assert "pruned" in capsys.readouterr().out


@pytest.mark.parametrize("param, words", [
    ("nodes.conv9.out_channels=int:2:4", "no node 'conv9'"),
    ("nodes.conv2d1.stride=int:0:2", "'stride' must be"),
    ("training.lr=float:0.1:0.01", "above HIGH"),
    ("training.weight_decy=float:0:1", "did you mean 'weight_decay'"),
    ("nodes.conv2d1.out_channels=range:1:4", "SPEC must be"),
])
def test_bad_input_is_refused_before_any_trial(design_file: Path, capsys: pytest.CaptureFixture, param: str,
                                                words: str) -> None:
    assert main(["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1", "--param", param,
                 "--trials", "2"]) == 2
    err = capsys.readouterr().err
    assert f"--param {param}" in err and words in err and "Traceback" not in err
    assert not (design_file.parent / "runs").exists()


@pytest.mark.parametrize("storage, words", [
    ("postgresql://user:secret@127.0.0.1:1/sweeps", "cannot be reached"),
    ("sqlite:////no/such/folder/sweeps.db", "cannot be reached"),
    ("nosuchdb://host/x", "cannot be reached"),
])
def test_an_unreachable_storage_is_a_sentence(design_file: Path, capsys: pytest.CaptureFixture, storage: str,
                                              words: str) -> None:
    assert main(["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1", "--trials", "1",
                 "--storage", storage]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("cnnstudio sweep: the storage") and len(err.splitlines()) == 1 and "secret" not in err
    assert words in err or "driver" in err
    assert main(["sweeps", str(design_file), "--storage", storage]) == 2


def test_joining_a_sweep_with_other_params_is_refused(design_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", str(design_file), "--param", "training.lr=choice:0.01", "--trials", "1", "--sweep", "s"]) == 0
    assert main(["sweep", str(design_file), "--param", "training.lr=choice:0.02", "--trials", "1", "--sweep", "s"]) == 2
    assert "already holds a sweep 's'" in capsys.readouterr().err
    assert len(sweeps_json(design_file, capsys)[0]["trials"]) == 1


@pytest.mark.parametrize("written", [1, 2, 3])
def test_a_worker_joining_while_the_first_writes_the_setup_joins(written: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers start one sweep at once (found in CI: the second read the design's name before the
    metric and params were written, and refused its own sweep): after ``written`` writes of the
    first worker's setup, a second worker joins it."""
    import optuna

    from cnnstudio.sweeps.space import parse_param
    from cnnstudio.sweeps.worker import SweepSpec, open_study

    design = classifier(classes=6, size=8)
    design.training = dict(TINY)
    spec = SweepSpec("s", [parse_param("training.lr=float:0.001:0.1:log", design)])
    storage, write, writes = optuna.storages.InMemoryStorage(), optuna.Study.set_user_attr, []

    def first_worker_writes(study: optuna.Study, key: str, value: object) -> None:
        write(study, key, value)
        writes.append(key)
        if len(writes) == written:
            with monkeypatch.context() as inner:
                inner.setattr(optuna.Study, "set_user_attr", write)
                open_study(storage, design, spec)  # the second worker, between two writes of the first

    monkeypatch.setattr(optuna.Study, "set_user_attr", first_worker_writes)
    open_study(storage, design, spec)
    monkeypatch.setattr(optuna.Study, "set_user_attr", write)
    assert open_study(storage, design, spec).user_attrs["design"] == design.name


def test_a_grid_stops_when_every_point_was_tried(design_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", str(design_file), "--param", "training.batch_size=int:16:32:16", "--trials", "5",
                 "--sampler", "grid"]) == 0
    trials = sweeps_json(design_file, capsys)[0]["trials"]
    assert sorted(t["params"]["training.batch_size"] for t in trials) == [16, 32]


def test_a_worker_under_torchrun_says_it_does_not_run_there(design_file: Path, capsys: pytest.CaptureFixture,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1", "--trials", "1"]) == 2
    assert "does not run under torchrun" in capsys.readouterr().err
    assert not (design_file.parent / "runs").exists()


def test_a_runs_folder_that_cannot_be_made_is_a_sentence(design_file: Path, capsys: pytest.CaptureFixture) -> None:
    (design_file.parent / "runs").write_text("a file where the runs folder goes")
    assert main(["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1", "--trials", "1",
                 "--storage", f"sqlite:///{design_file.parent / 'sweeps.db'}"]) == 1
    err = capsys.readouterr().err
    assert "the run's folder cannot be made" in err and "Traceback" not in err
    (sweep,) = sweeps_json(design_file, capsys, "--storage", f"sqlite:///{design_file.parent / 'sweeps.db'}")
    assert [t["state"] for t in sweep["trials"]] == ["failed"]  # not left running for ever


def test_a_grid_too_large_to_list_is_refused_before_any_trial(design_file: Path, capsys: pytest.CaptureFixture) -> None:
    assert main(["sweep", str(design_file), "--param", "training.batch_size=int:1:65536", "--param",
                 "nodes.conv2d1.out_channels=int:1:64", "--trials", "1", "--sampler", "grid"]) == 2
    err = capsys.readouterr().err
    assert "the grid has 4,194,304 points" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list((design_file.parent / "runs").rglob("run.json"))
