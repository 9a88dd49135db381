"""Data checked against the model before the first step: classes against output widths, channels,
sample shapes, mask classes and box heads, each naming both sides. ``cnnstudio check`` reports it,
the engine refuses with the same sentence before any step (or warns and trains), and the data is
generated tiny: folders of PNGs, CSV tables, IDX files."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnstudio.cli import main
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import save_design
from cnnstudio.training import events
from cnnstudio.training.check import errors, training_problems
from cnnstudio.training.datacheck import inspect
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
from training_helpers import Recorder, chain


def classifier(width: int, shape: tuple[int, ...] = (1, 8, 8)) -> Design:
    return chain(list(shape), ("Flatten", {}), ("Linear", {"out_features": width}), ("Softmax", {}), name="clf")


def image_folder(root: Path, classes: int, mode: str = "L", per_class: int = 4) -> Path:
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            Image.new(mode, (8, 8), (40 * c,) * len(mode) if mode != "L" else 40 * c).save(root / f"class{c}" / f"{i}.png")
    return root


def idx_folder(root: Path, labels: list[int]) -> Path:
    root.mkdir()
    n = len(labels)
    images = bytes([0, 0, 8, 3]) + n.to_bytes(4, "big") + (8).to_bytes(4, "big") * 2 + bytes(n * 64)
    (root / "train-images-idx3-ubyte.gz").write_bytes(gzip.compress(images))
    (root / "train-labels-idx1-ubyte").write_bytes(bytes([0, 0, 8, 1]) + n.to_bytes(4, "big") + bytes(labels))
    return root


def segmentation_csv(root: Path, top: int) -> Path:
    """Four images with masks whose largest value is ``top`` (class top - 1)."""
    root.mkdir()
    rows = ["path,label,mask"]
    for i in range(4):
        Image.new("L", (8, 8), 100).save(root / f"{i}.png")
        mask = Image.new("L", (8, 8), 0)
        mask.putpixel((2, 2), top if i == 0 else 1)
        mask.save(root / f"{i}_mask.png")
        rows.append(f"{i}.png,{i % 2},{i}_mask.png")
    (root / "data.csv").write_text("\n".join(rows) + "\n")
    return root / "data.csv"


def start(design: Design, **raw) -> tuple[events.Finished, Recorder]:
    recorder = Recorder()
    settings = parse_settings({**raw, "epochs": 1, "batch_size": 4, "device": "cpu", "workers": 0})
    return Trainer(design, settings, on_event=recorder, step_rate=None).run(), recorder


def assert_refused_like_check(design: Design, raw: dict, needle: str) -> None:
    """check says it (an error naming both sides); the engine fails with the same sentence, no step taken."""
    problems = errors(training_problems(raw, design))
    assert problems and needle in problems[0].message, problems
    finished, recorder = start(design, **raw)
    assert finished.status == "failed" and finished.message in problems[0].message and needle in finished.message
    assert not recorder.of(events.StepMetrics) and not recorder.of(events.Started)


def localizer(box: int) -> Design:
    design = Design("loc")
    design.add_node("Input", {"shape": [1, 16, 16]}, "x")
    design.add_node("Flatten", {}, "flat")
    design.connect("x", "flat")
    for node, width in (("box", box), ("cls", 6)):
        design.add_node("Linear", {"out_features": width}, node)
        design.connect("flat", node)
    return design


GRID = (("Conv2d", {"out_channels": 16, "kernel_size": 8, "stride": 8}),)  # [16, 4, 4]: 2 boxes + 6 classes


def error_case(name: str, tmp: Path) -> tuple[Design, dict, str]:
    """(design, "training" object, what the sentence must say) for each mismatch that is an error."""
    if name == "more classes than outputs":
        return (classifier(2), {"data": f"folder:{image_folder(tmp / 'pics', 3)}"},
                "has 3 classes (class0, class1, class2) but 'linear1' gives 2 class scores")
    if name == "idx labels beyond the outputs":
        return (classifier(6), {"data": f"idx:{idx_folder(tmp / 'digits', [0, 1, 2, 9] * 3)}"},
                "has 10 classes (0, 1, 2, 3, 4, 5, 6, 7, ...) but 'linear1' gives 6")
    if name == "channels no image has":
        return (classifier(2, (2, 8, 8)), {"data": f"folder:{image_folder(tmp / 'pics', 2)}"},
                "'x' has 2 channels ([2, 8, 8])")
    if name == "images into a sequence input":
        return (chain([1, 16], ("Flatten", {}), ("Linear", {"out_features": 2})),
                {"data": f"folder:{image_folder(tmp / 'pics', 2)}"},
                "gives images, so the Input must have shape [1, H, W] or [3, H, W]; 'x' has [1, 16]")
    if name == "mask classes beyond the output channels":
        return (chain([1, 8, 8], ("Conv2d", {"out_channels": 3, "kernel_size": 1})),
                {"task": "segmentation", "data": f"csv:{segmentation_csv(tmp / 'seg', top=5)}"},
                "hold values up to 5 (class 4) but 'conv2d1' gives 3 channels")
    if name == "detection head of other classes":
        return (chain([1, 32, 32], *GRID), {"task": "detection", "data_options": {"shapes": ["circle", "square"], "count": 40}},
                "has 2 classes (circle, square) but 'conv2d1' [16, 4, 4] leaves 6 class scores per cell")
    if name == "detection data without boxes":
        return (chain([1, 32, 32], *GRID), {"task": "detection", "data": f"folder:{image_folder(tmp / 'pics', 2)}"},
                "the detection task needs boxes in its data, which folder:")
    assert name == "localization without a box head of 4"
    return (localizer(5), {"task": "localization", "data_options": {"count": 40}},
            "box head of 4 values (x, y, w, h) and a class head; the outputs are 'box' [5], 'cls' [6]")


ERRORS = ["more classes than outputs", "idx labels beyond the outputs", "channels no image has",
          "images into a sequence input", "mask classes beyond the output channels", "detection head of other classes",
          "detection data without boxes", "localization without a box head of 4"]


@pytest.mark.parametrize("name", ERRORS)
def test_each_mismatch_is_an_error_in_check_and_before_the_first_step(name: str, tmp_path, capsys) -> None:
    design, raw, needle = error_case(name, tmp_path)
    design.training = raw
    save_design(design, tmp_path / "d.json")
    assert main(["check", str(tmp_path / "d.json")]) == 1
    out = capsys.readouterr().out
    assert "error in training.data: " in out and needle in out
    assert_refused_like_check(design, raw, needle)


def test_fewer_classes_than_outputs_is_a_warning_and_the_run_trains(tmp_path, capsys) -> None:
    """The issue's case: Figure 21's ten outputs on a folder of two classes."""
    data = f"folder:{image_folder(tmp_path / 'pics', 2)}"
    design = classifier(10)
    (problem,) = training_problems({"data": data}, design)
    assert problem.severity == "warning" and problem.key == "data"
    assert "has 2 classes (class0, class1) but 'linear1' gives 10 class scores: 8 of them" in problem.message
    design.training = {"data": data}
    save_design(design, tmp_path / "d.json")
    assert main(["check", str(tmp_path / "d.json")]) == 0
    assert "warning in training.data: " in capsys.readouterr().out
    finished, recorder = start(design, data=data)
    assert finished.status == "completed"
    assert any("'linear1' gives 10" in w.message for w in recorder.of(events.Warning))


def test_idx_labels_are_read_for_their_classes(tmp_path) -> None:
    data = f"idx:{idx_folder(tmp_path / 'digits', [0, 1, 2, 9] * 3)}"
    assert inspect(data).classes == tuple(str(c) for c in range(10))
    assert errors(training_problems({"data": data, "classes": [0, 1, 2]}, classifier(6))) == []  # "classes" keeps 3
    assert errors(training_problems({"data": data, "classes": [0, 12]}, classifier(6))) == []  # the source refuses 12


def test_colour_into_one_channel_and_grey_into_three_are_warnings(tmp_path) -> None:
    colour = f"folder:{image_folder(tmp_path / 'colour', 2, 'RGB')}"
    grey = f"folder:{image_folder(tmp_path / 'grey', 2, 'L')}"
    (turned,) = training_problems({"data": colour}, classifier(2, (1, 8, 8)))
    assert turned.severity == "warning" and "are in colour but 'x' takes 1 channel" in turned.message
    (copied,) = training_problems({"data": grey}, classifier(2, (3, 8, 8)))
    assert copied.severity == "warning" and "are grey but 'x' takes 3 channels" in copied.message
    assert training_problems({"data": colour}, classifier(2, (3, 8, 8))) == []
    finished, recorder = start(classifier(2, (1, 8, 8)), data=colour)
    assert finished.status == "completed" and any("in colour" in w.message for w in recorder.of(events.Warning))


def test_heads_that_fit_their_data_pass(tmp_path) -> None:
    grid = chain([1, 32, 32], *GRID)
    assert training_problems({"task": "detection", "data": "synthetic-shapes"}, grid) == []
    (wrong,) = training_problems({"task": "detection", "data_options": {"shapes": ["circle", "square"]}}, grid)
    assert "detection needs [10 + 2, S, S] = [12, S, S]" in wrong.message  # what the head should be
    assert training_problems({"task": "localization"}, localizer(4)) == []
    segmenter = chain([1, 8, 8], ("Conv2d", {"out_channels": 3, "kernel_size": 1}))
    fits = f"csv:{segmentation_csv(tmp_path / 'fits', top=2)}"
    assert errors(training_problems({"task": "segmentation", "data": fits}, segmenter)) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(classes=st.lists(st.text("abcxyz", min_size=1, max_size=5), min_size=1, max_size=30, unique=True),
       width=st.integers(1, 40), numbers=st.booleans())
def test_csv_classes_against_any_width(tmp_path_factory, classes: list[str], width: int, numbers: bool) -> None:
    """Error exactly when the data has more classes than the head, warning exactly when fewer."""
    folder = tmp_path_factory.mktemp("csv")
    names = [str(i * 2) for i in range(len(classes))] if numbers else classes  # numbers: 0..max all count
    count = (int(names[-1]) + 1) if numbers else len(names)
    (folder / "t.csv").write_text("path,label\n" + "".join(f"img{i}.png, {name} \n" for i, name in enumerate(names)))
    found = training_problems({"data": f"csv:{folder / 't.csv'}"}, classifier(width))
    assert [p.severity for p in found] == (["error"] if count > width else ["warning"] if count < width else [])
    if found:
        assert f"has {count} classes" in found[0].message and f"gives {width} class scores" in found[0].message


def test_inspect_reads_what_the_folder_source_opens(tmp_path) -> None:
    """The cheap reading agrees with the source itself (classes of train/ when there is a val/)."""
    from cnnstudio.training.data.registry import OpenRequest, open_data

    root = tmp_path / "split"
    image_folder(root / "train", 3)
    image_folder(root / "val", 3)
    (root / "notes").mkdir()
    spec = f"folder:{root}"
    assert list(inspect(spec).classes) == open_data(spec, OpenRequest((1, 8, 8))).source.classes


def test_unreadable_data_is_left_to_the_source(tmp_path) -> None:
    (tmp_path / "broken.csv").write_bytes(b"\xff\xfe\x00garbage")
    assert inspect(f"csv:{tmp_path / 'broken.csv'}").classes is None
    segmenter = chain([1, 8, 8], ("Conv2d", {"out_channels": 3, "kernel_size": 1}))
    assert training_problems({"task": "segmentation", "data": f"csv:{tmp_path / 'broken.csv'}"}, segmenter) == []
    assert inspect(f"folder:{tmp_path / 'none'}").classes is None
    import os

    os.mkfifo(tmp_path / "pipe.png")  # opening it would wait for a writer forever
    (tmp_path / "pipes.csv").write_text("path,label,mask\npipe.png,a,pipe.png\n")
    assert inspect(f"csv:{tmp_path / 'pipes.csv'}").classes == ("a",)
    (tmp_path / "idx").mkdir()
    (tmp_path / "idx" / "train-labels-idx1-ubyte").write_bytes(b"\x00")
    assert inspect(f"idx:{tmp_path / 'idx'}").classes is None


def test_check_json_lists_warnings_apart(tmp_path, capsys) -> None:
    data = f"folder:{image_folder(tmp_path / 'pics', 2)}"
    design = classifier(4)
    design.training = {"data": data}
    save_design(design, tmp_path / "d.json")
    assert main(["check", str(tmp_path / "d.json"), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)["training"]
    assert report["valid"] and report["errors"] == [] and report["warnings"][0]["key"] == "data"


def test_a_fifo_or_device_named_as_data_is_never_opened_to_read(tmp_path) -> None:
    """The cheap inspection runs on every keystroke of the form and before each start: a FIFO named
    as a csv list or an IDX label file, or csv:/dev/zero, must leave the classes unknown at once
    (opening the data says why), never block on the read."""
    import os
    import subprocess
    import sys

    os.mkfifo(tmp_path / "list.csv")
    (tmp_path / "idx").mkdir()
    os.mkfifo(tmp_path / "idx" / "train-labels-idx1-ubyte")
    specs = [f"csv:{tmp_path / 'list.csv'}", f"idx:{tmp_path / 'idx'}", "csv:/dev/zero"]
    probe = "import sys; from cnnstudio.training.datacheck import inspect; print([inspect(s).classes for s in sys.argv[1:]])"
    done = subprocess.run([sys.executable, "-c", probe, *specs], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == "[None, None, None]", done.stderr


def test_an_empty_class_folder_is_not_a_class_as_the_folder_source_counts(tmp_path) -> None:
    root = image_folder(tmp_path / "data", 2)
    (root / "empty").mkdir()
    assert inspect(f"folder:{root}").classes == ("class0", "class1")
    design = classifier(2)
    assert not errors(training_problems({"data": f"folder:{root}"}, design))  # 2 classes, 2 outputs: fits


def test_check_names_what_stands_where_the_data_file_should_be(tmp_path) -> None:
    import os

    os.mkfifo(tmp_path / "list.csv")
    said = [p.message for p in training_problems({"data": f"csv:{tmp_path / 'list.csv'}"}, classifier(3))]
    assert any("which is a pipe (FIFO), not a file" in message for message in said), said
    said = [p.message for p in training_problems({"data": f"csv:{tmp_path / 'gone.csv'}"}, classifier(3))]
    assert any("which does not exist" in message for message in said), said


def test_a_folder_too_large_to_look_through_leaves_its_classes_unknown(tmp_path, monkeypatch) -> None:
    """Typing ``folder:/`` in the form checks on each keystroke: the walk stops after a budget of
    entries (the classes unknown, the run counts them) and skips what it may not read, so neither
    the root of the disk nor /proc is walked."""
    from cnnstudio.training import datacheck

    monkeypatch.setattr(datacheck, "WALKED", 50)
    root = tmp_path / "big"
    for name in "abcde":
        (root / name / "deep").mkdir(parents=True)
        for index in range(40):
            (root / name / "deep" / f"{index}.txt").write_text("not an image")
    walked: list[str] = []
    real_walk = datacheck.os.walk
    monkeypatch.setattr(datacheck.os, "walk", lambda *a, **k: (walked.append(p) or (p, d, f) for p, d, f in real_walk(*a, **k)))
    assert inspect(f"folder:{root}").classes is None and len(walked) == 4  # of 10: stopped in b
    small = image_folder(tmp_path / "small", 2)
    assert inspect(f"folder:{small}").classes == ("class0", "class1")  # within the budget: counted
    monkeypatch.setattr(datacheck, "WALKED", 20_000)
    assert inspect("folder:/").gives == "images"  # returns (no OSError from /proc), whatever the disk holds
