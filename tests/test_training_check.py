"""The "training" object checked before training: every problem tied to its key, and
``cnnstudio check`` reporting them like node problems (exit 1, the table, ``--json``)."""

from __future__ import annotations

import json

import pytest

from cnnstudio.cli import main
from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.core.resources import TEMPLATES, templates
from cnnstudio.training.check import DOWNLOADED, FILES, GENERATED, training_problems
from corehelpers import FIGURE21


def keys(raw, design=None) -> list[str]:
    return [p.key for p in training_problems(raw, design)]


@pytest.mark.parametrize("template", [t.path for t in templates(TEMPLATES)], ids=lambda p: p.stem)
def test_every_template_trains_as_it_is_written(template) -> None:
    design = load_design(template)
    assert training_problems(design.training, design) == []


def test_every_wrong_key_is_reported_not_only_the_first() -> None:
    problems = training_problems({"lr": "fast", "epochs": 0, "optimiser": "sgd"})
    assert [p.key for p in problems] == ["lr", "epochs", "optimiser"]
    assert "'lr' must be a number" in problems[0].message
    assert "did you mean 'optimizer'" in problems[2].message


def test_a_key_of_another_task_names_its_task() -> None:
    (problem,) = training_problems({"task": "classification", "margin": 0.3})
    assert problem.key == "margin" and "metric task" in problem.message


def test_data_options_with_file_data_are_refused() -> None:
    design = load_design(TEMPLATES / "triplet.json")
    raw = {**design.training, "data": "idx:."}
    (problem,) = training_problems(raw, design)
    assert problem.key == "data_options" and "generated data" in problem.message


def test_missing_data_folder_and_unknown_source(tmp_path) -> None:
    assert keys({"data": f"folder:{tmp_path / 'nope'}"}) == ["data"]
    assert keys({"data": "imagenet"}) == ["data"]
    assert keys({"data": f"folder:{tmp_path}"}) == []
    assert keys({"data": f"csv:{tmp_path / 'labels.csv'}"}) == ["data"]
    (tmp_path / "labels.csv").write_text("path,label\n")
    assert keys({"data": f"csv:{tmp_path / 'labels.csv'}"}) == []


def test_the_source_must_give_what_the_input_takes() -> None:
    design = load_design(FIGURE21)  # an image Input [1, 28, 28]
    (problem,) = training_problems({"data": "synthetic-sequences"}, design)
    assert problem.key == "data" and "[1, L]" in problem.message and "'x'" in problem.message


def test_outputs_and_sparse_node_must_name_nodes() -> None:
    design = load_design(FIGURE21)
    assert keys({"outputs": ["fc9"]}, design) == ["outputs"]
    assert keys({"task": "reconstruction", "sparse_node": "nope"}, design) == ["sparse_node"]


def test_rules_between_keys_name_a_key() -> None:
    assert keys({"outputs": ["fc2"], "loss_weights": [1.0, 2.0]}) == ["loss_weights"]


def test_the_source_table_matches_the_registry() -> None:
    from cnnstudio.training.data.registry import kinds

    assert {kind.name for kind in kinds()} == {*GENERATED, *DOWNLOADED, *FILES}
    assert {kind.name for kind in kinds() if kind.takes_path} == set(FILES)
    assert {kind.name for kind in kinds() if kind.options is not None} == set(GENERATED)


def test_check_reports_training_problems_in_the_table_and_exits_1(tmp_path, capsys) -> None:
    design = load_design(FIGURE21)
    design.training = {"lr": "0.01", "momentun": 0.9}
    path = tmp_path / "bad.json"
    save_design(design, path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "error in training.lr: " in out and "error in training.momentun: " in out
    assert "2 training setting error(s)" in out


def test_check_json_has_a_training_key(tmp_path, capsys) -> None:
    design = load_design(FIGURE21)
    design.training = {"epochs": "ten"}
    path = tmp_path / "bad.json"
    save_design(design, path)
    assert main(["check", str(path), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["valid"] is False
    assert report["training"]["valid"] is False
    assert report["training"]["errors"][0]["key"] == "epochs"
    assert main(["check", str(FIGURE21), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["training"] == {"valid": True, "errors": []}
