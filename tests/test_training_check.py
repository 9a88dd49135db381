"""The "training" object checked before training: every problem tied to its key, and
``cnnstudio check`` reporting them like node problems (exit 1, the table, ``--json``)."""

from __future__ import annotations

import json

import pytest

from cnnstudio.cli import main
from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.core.resources import TEMPLATES, templates
from cnnstudio.training.check import DOWNLOADED, FILES, GENERATED, errors, training_problems
from corehelpers import FIGURE21


def keys(raw, design=None) -> list[str]:
    return [p.key for p in training_problems(raw, design)]


@pytest.mark.parametrize("template", [t.path for t in templates(TEMPLATES)], ids=lambda p: p.stem)
def test_every_template_trains_as_it_is_written(template) -> None:
    design = load_design(template)  # a head wider than synthetic-shapes' classes is a warning, not an error
    assert errors(training_problems(design.training, design)) == []


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


def test_generated_data_options_are_checked_each_by_name_type_and_range() -> None:
    problems = training_problems({"data_options": {"cout": 500, "noise": "lots", "objects": 99, "shapes": ["circel"]}})
    assert [p.key for p in problems] == [f"data_options.{k}" for k in ("cout", "noise", "objects", "shapes")]
    cout, noise, objects, shapes = (p.message for p in problems)
    assert "synthetic-shapes has no key 'cout'; did you mean 'count'?" in cout
    assert "'noise' must be a number" in noise and "'objects' must be at most 16" in objects
    assert "did you mean 'circle'?" in shapes
    assert keys({"data": "synthetic-volumes", "data_options": {"objects": 2}}) == ["data_options.objects"]
    assert keys({"data": "synthetic-sequences", "data_options": {"pattern": "10x1"}}) == ["data_options.pattern"]
    assert keys({"data_options": {"count": 500, "noise": 0.1, "shapes": ["ring", "cross"]}}) == []


def test_rules_between_data_options_name_the_first_key() -> None:
    (problem,) = training_problems({"data_options": {"min_size": 0.8, "max_size": 0.5}})
    assert problem.key == "data_options.min_size" and "at most 'max_size' (0.5)" in problem.message
    assert keys({"data_options": {"shapes": ["ring", "ring"]}}) == ["data_options.shapes"]


def test_the_engine_refuses_the_options_check_refuses() -> None:
    """One definition: what check reports is what opening the data raises."""
    from cnnstudio.training.data.registry import OpenRequest, open_data
    from cnnstudio.training.errors import TrainingError

    with pytest.raises(TrainingError, match="did you mean 'count'"):
        open_data("synthetic-shapes", OpenRequest((1, 28, 28), {"cout": 500}))
    with pytest.raises(TrainingError, match="'min_size' \\(0.8\\) must be at most"):
        open_data("synthetic-volumes", OpenRequest((1, 8, 8, 8), {"min_size": 0.8, "max_size": 0.5}))


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
    assert {kind.name: kind.options for kind in kinds() if kind.options is not None} == {
        name: kind.options for name, kind in GENERATED.items()}


def test_the_generators_draw_exactly_the_option_choices() -> None:
    from cnnstudio.training.data import generated_options, synthetic_shapes, synthetic_video, synthetic_volumes

    assert tuple(synthetic_shapes.SHAPES) == generated_options.SHAPE_NAMES
    assert tuple(synthetic_volumes.SOLIDS) == generated_options.SOLID_NAMES
    assert tuple(synthetic_video.MOTIONS) == generated_options.MOTION_NAMES


def test_check_reports_training_problems_in_the_table_and_exits_1(tmp_path, capsys) -> None:
    design = load_design(FIGURE21)
    design.training = {"lr": "0.01", "momentun": 0.9}
    path = tmp_path / "bad.json"
    save_design(design, path)
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "error in training.lr: " in out and "error in training.momentun: " in out
    assert "2 training setting error(s)" in out


def test_check_reports_a_misspelled_data_option_and_exits_1(tmp_path, capsys) -> None:
    design = load_design(FIGURE21)
    design.training = {"data_options": {"cout": 500}}
    path = tmp_path / "bad.json"
    save_design(design, path)
    assert main(["check", str(path)]) == 1
    assert "error in training.data_options.cout: " in capsys.readouterr().out
    assert main(["check", str(path), "--json"]) == 1
    (error,) = json.loads(capsys.readouterr().out)["training"]["errors"]
    assert error["key"] == "data_options.cout" and "did you mean 'count'" in error["message"]


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
    design.training = {"data": "synthetic-shapes"}
    save_design(design, path)
    assert main(["check", str(path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["training"]  # 10 outputs on 6 shapes: a warning, still valid
    assert report["valid"] is True and report["errors"] == []
    assert [w["key"] for w in report["warnings"]] == ["data"] and "'fc2' gives 10" in report["warnings"][0]["message"]
