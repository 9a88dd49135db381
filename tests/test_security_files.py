"""Issue 19, part B: files, folders and run folders from someone else are data. Outputs replace only
regular files; inputs that must be files are read only from regular files, with a bound (a FIFO or
/dev/zero never hangs a command); a damaged run is listed as such and never stops the others; run
folders are made exclusively; groups cost linear time; every fault ends in a sentence."""

from __future__ import annotations

import copy
import json
import os
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cnnstudio import cli
from cnnstudio.cli import main
from cnnstudio.core import groups as grouping
from cnnstudio.core.atomic import WriteFailed, atomic_write_bytes
from cnnstudio.core.designfile import DesignFileError, loads, save_design, to_dict
from cnnstudio.core.groups import Group
from cnnstudio.runs import list_runs, pick_run, runs_dir, store
from cnnstudio.training.errors import TrainingError
from fault_helpers import cli_environment
from training_helpers import classifier

pytestmark = pytest.mark.security
SLOW = pytest.mark.faults  # real processes (CLI subprocesses, parallel trains): `-m "not faults"` skips them
HANG_S = 60  # a hang is a failure; each case ends in a sentence long before this


def _tiny(folder: Path, name: str = "tiny", **training: object) -> Path:
    design = classifier()
    generated = {} if "data" in training else {"data_options": {"count": 48}}
    design.training = {"epochs": 1, "batch_size": 16, "device": "cpu", **generated, **training}
    path = folder / f"{name}.json"
    save_design(design, path)
    return path


def _cli(*args: str, timeout: float = HANG_S, **kwargs: object) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cnnstudio", *args], capture_output=True, text=True,
                          timeout=timeout, env=cli_environment(), **kwargs)


# -- outputs: only ever a regular file -------------------------------------------------------------


def _special(kind: str, path: Path) -> None:
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        server.close()
    elif kind == "folder":
        path.mkdir()
    elif kind == "device":
        try:
            os.mknod(path, 0o644 | stat.S_IFCHR, os.makedev(1, 3))  # /dev/null's numbers
        except PermissionError:
            pytest.skip("making a device needs root")


SPECIAL = ("fifo", "socket", "folder", "device")


def _mode(path: Path) -> int:
    return stat.S_IFMT(os.lstat(path).st_mode)


def _output_commands() -> list[str]:
    """Every command that takes -o, read from the parser itself (a new one is covered too)."""
    found = []
    for name in cli.COMMANDS:
        parser = cli._parser(name)
        sub = next(a for a in parser._actions if a.dest == "command").choices[name]
        if any("-o" in action.option_strings for action in sub._actions):
            found.append(name)
    return found


def _minimal_args(command: str, design: Path, output: Path, tmp_path: Path) -> list[str]:
    image = tmp_path / "a.png"
    from PIL import Image

    Image.new("L", (8, 8)).save(image)
    return {
        "export": ["export", str(design), "--random-weights", "-o", str(output)],
        "import": ["import", "torchvision:resnet18", "-o", str(output)],
        "visualize": ["visualize", str(design), "--layer", "conv2d1", "--random-weights", "-o", str(output)],
        "stylize": ["stylize", str(design), "--content", str(image), "--style", str(image), "--random-weights",
                    "-o", str(output)],
    }[command]


@pytest.mark.parametrize("kind", SPECIAL)
def test_every_command_with_o_refuses_a_device_fifo_socket_or_folder_before_writing(
        kind: str, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    commands = _output_commands()
    assert {"export", "import", "visualize", "stylize"} <= set(commands)
    design = _tiny(tmp_path)
    for command in commands:
        target = tmp_path / f"out-{command}.png"
        _special(kind, target)
        before = _mode(target)
        assert main(_minimal_args(command, design, target, tmp_path)) == 1, command
        err = capsys.readouterr().err
        assert err.startswith(f"cnnstudio {command}: {target}") and "Traceback" not in err, err
        assert ("folder" if kind == "folder" else "not a regular file") in err
        assert _mode(target) == before  # still what it was: nothing replaced it
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file


@pytest.mark.parametrize("kind", SPECIAL)
def test_the_atomic_writer_replaces_only_regular_files(kind: str, tmp_path: Path) -> None:
    target = tmp_path / "target"
    _special(kind, target)
    before = _mode(target)
    for through_link in (False, True):
        path = target
        if through_link:
            path = tmp_path / "link"
            path.symlink_to(target)
        with pytest.raises(WriteFailed) as caught:
            atomic_write_bytes(path, b"data")
        assert str(target) in str(caught.value) and _mode(target) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "target"]
    regular = tmp_path / "file"
    atomic_write_bytes(regular, b"old")
    atomic_write_bytes(regular, b"new")  # a regular file is still replaced
    assert regular.read_bytes() == b"new"


def test_a_code_export_with_random_weights_removes_the_stale_weights_beside_it(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    design = _tiny(tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.pt").write_bytes(b"an older export's weights")
    assert main(["export", str(design), "--random-weights", "-o", str(tmp_path / "out" / "model.py")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.py"]
    assert "removed the old model.pt" in capsys.readouterr().out
    assert main(["export", str(design), "--random-weights", "-f", "code", "-o", str(tmp_path / "out" / "m.pt")]) == 0
    assert (tmp_path / "out" / "m.pt").read_text().startswith(("#", '"""', "import", "from"))  # never itself


# -- run folders: damaged runs are listed, skipped by latest and best -----------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A design with one real, completed run (its run.json is the model for every mutant)."""
    folder = tmp_path_factory.mktemp("trained")
    design = _tiny(folder)
    assert main(["train", str(design)]) == 0
    return design


def _copy_design(trained: Path, tmp_path: Path) -> tuple[Path, Path, Path]:
    """A copy of the trained design and its runs; (design, runs directory, the good run)."""
    shutil.copytree(trained.parent, tmp_path / "d")
    design = tmp_path / "d" / trained.name
    runs = runs_dir(design, "tiny")
    return design, runs, next(runs.iterdir())


def _hostile_values() -> list[object]:
    return [[1], {"x": 1}, "text", -1, 1.5, True, None, 10**30, float("nan"), float("inf"), "", [], {}]


def test_every_field_of_run_json_mutated_to_every_type_lists_or_is_damaged_never_an_error(
        trained: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    design, runs, good = _copy_design(trained, tmp_path)
    real = json.loads((good / "run.json").read_text())
    mutants = 0
    for key in real:
        for value in _hostile_values():
            mutant = runs / f"zz-{key}-{mutants}"
            shutil.copytree(good, mutant)
            data = copy.deepcopy(real)
            data[key] = value
            (mutant / "run.json").write_text(json.dumps(data))
            mutants += 1
    found = list_runs(runs)
    assert len(found) == mutants + 1
    for run in found:
        row = run.to_json()
        json.dumps(row)  # every row prints
        if run.damaged:
            assert row["status"] == "damaged" and row["detail"].startswith("run.json")
            key = run.folder.split("-")[1]
            assert f'"{key}"' in row["detail"], row["detail"]
        else:
            run.state, run.best_value(), run.resume_command("x")  # noqa: B018 - each must work
        if run.folder.startswith("zz-") and json.loads((run.path / "run.json").read_text(), parse_constant=str).get(
                run.folder.split("-")[1]) == [1]:
            assert run.damaged  # a list is wrong for every field
    assert not pick_run(runs, "latest").damaged and not pick_run(runs, "best").damaged
    capsys.readouterr()
    assert main(["runs", str(design), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == mutants + 1 and sum(row["status"] == "damaged" for row in rows) == sum(r.damaged for r in found)
    assert main(["runs", str(design)]) == 0
    assert "damaged, skipped by latest and best" in capsys.readouterr().out


def _damage(runs: Path, good: Path) -> dict[str, Path]:
    cases: dict[str, Path] = {}
    for name in ("fifo", "socket", "folder", "truncated", "garbage", "empty", "types", "huge", "list"):
        folder = runs / f"zz-{name}"
        shutil.copytree(good, folder)
        (folder / "run.json").unlink()
        cases[name] = folder
    text = (good / "run.json").read_text()
    os.mkfifo(cases["fifo"] / "run.json")
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(cases["socket"] / "run.json"))
    server.close()
    (cases["folder"] / "run.json").mkdir()
    (cases["truncated"] / "run.json").write_text(text[: len(text) // 2])
    (cases["garbage"] / "run.json").write_bytes(bytes(range(256)) * 4)
    (cases["empty"] / "run.json").write_bytes(b"")
    (cases["types"] / "run.json").write_text(text.replace('"started": ', '"started": [1], "x": ', 1))
    (cases["huge"] / "run.json").write_bytes(b" " * (5 * 2**20) + text.encode())
    (cases["list"] / "run.json").write_text("[1, 2]")
    return cases


@SLOW
def test_damaged_run_folders_never_hang_or_stop_runs_runs_json_or_export(trained: Path, tmp_path: Path) -> None:
    design, runs, good = _copy_design(trained, tmp_path)
    cases = _damage(runs, good)
    for extra in cases["types"], cases["fifo"]:  # metrics and checkpoints that are FIFOs too
        (extra / "metrics.jsonl").unlink()
        os.mkfifo(extra / "metrics.jsonl")
        for name in ("settings.json", "design.json"):
            (extra / name).unlink()
            os.mkfifo(extra / name)
    listed = _cli("runs", str(design))
    assert listed.returncode == 0, listed.stderr
    for name in cases:
        line = next(line for line in listed.stdout.splitlines() if line.startswith(f"zz-{name} "))
        assert "damaged" in line
    assert listed.stdout.count("damaged, skipped by latest and best: run.json") == len(cases)
    as_json = _cli("runs", str(design), "--json")
    rows = {row["folder"]: row for row in json.loads(as_json.stdout)}
    assert all(rows[f"zz-{name}"]["status"] == "damaged" for name in cases)
    assert "pipe" in rows["zz-fifo"]["detail"] and "socket" in rows["zz-socket"]["detail"]
    assert "folder" in rows["zz-folder"]["detail"] and "cut short" in rows["zz-truncated"]["detail"]
    assert "larger than" in rows["zz-huge"]["detail"] and '"started"' in rows["zz-types"]["detail"]
    assert rows[good.name]["status"] == "completed"
    exported = _cli("export", str(design), "-f", "safetensors", "-o", str(tmp_path / "w.safetensors"))
    assert exported.returncode == 0 and f"weights: run {good.name}, " in exported.stderr  # the one good run
    named = _cli("export", str(design), "--run", "zz-fifo", "-o", str(tmp_path / "w.py"))
    assert named.returncode == 1 and "the run zz-fifo is damaged: run.json: not a regular file" in named.stderr
    for which in ("latest", "best"):
        assert pick_run(runs, which).path == good


def test_commands_that_pick_weights_skip_damaged_runs(trained: Path, tmp_path: Path) -> None:
    from cnnstudio.commands.synthesis_options import weights_source
    from cnnstudio.core.designfile import load_design

    design, runs, good = _copy_design(trained, tmp_path)
    _damage(runs, good)
    assert weights_source(load_design(design), str(design), None) == str(good / "best.pt")
    shutil.rmtree(good)
    with pytest.raises(store.RunError, match="only damaged ones: zz-"):
        pick_run(runs, "latest")
    assert weights_source(load_design(design), str(design), None) is None  # visualize/stylize: then none


def test_a_damaged_run_can_be_deleted_but_not_renamed(trained: Path, tmp_path: Path) -> None:
    _, runs, good = _copy_design(trained, tmp_path)
    cases = _damage(runs, good)
    damaged = next(run for run in list_runs(runs) if run.path == cases["types"])
    with pytest.raises(store.RunError, match="damaged"):
        store.rename(damaged, "new name")
    store.delete(damaged)
    assert not cases["types"].exists()


def test_the_runs_panel_shows_a_damaged_run_with_its_reason(trained: Path, tmp_path: Path, qtbot) -> None:  # noqa: ANN001
    from cnnstudio.gui.training.runs_panel import RunsPanel

    _, runs, good = _copy_design(trained, tmp_path)
    _damage(runs, good)
    panel = RunsPanel()
    qtbot.addWidget(panel)
    panel.set_directory(runs)
    rows = {panel.tree.topLevelItem(i).text(0): panel.tree.topLevelItem(i) for i in range(panel.tree.topLevelItemCount())}
    assert rows["zz-types"].text(2).startswith("damaged: run.json")
    assert '"started"' in rows["zz-types"].toolTip(2)
    panel.select(["zz-fifo"])
    assert "damaged" in panel.summary.text() and "pipe" in panel.summary.text()
    assert not panel.buttons["load"].isEnabled() and panel.buttons["delete"].isEnabled()
    panel.select([good.name])
    assert panel.buttons["load"].isEnabled()


@SLOW
def test_three_simultaneous_trains_of_one_design_keep_every_run(tmp_path: Path) -> None:
    design = _tiny(tmp_path, "twin")
    starts = [subprocess.Popen([sys.executable, "-m", "cnnstudio", "train", str(design)], env=cli_environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in starts]
    assert [code for code, _ in results] == [0, 0, 0], results
    found = list_runs(runs_dir(design, "twin"))
    assert len(found) == 3 and all(run.manifest.status == "completed" and not run.damaged for run in found)
    assert all((run.path / "best.pt").is_file() and (run.path / "metrics.jsonl").is_file() for run in found)


def test_run_folders_are_made_exclusively_on_the_next_free_name(tmp_path: Path) -> None:
    from cnnstudio.runs.folders import run_folder

    made = [run_folder(tmp_path / "runs", {}, now=0.0) for _ in range(5)]
    assert len(set(made)) == 5 and all(folder.is_dir() for folder in made)
    assert [f.name.rpartition("-")[2] for f in made[1:]] == ["2", "3", "4", "5"]
    (tmp_path / "file").write_text("")
    with pytest.raises(WriteFailed, match="cannot be made"):
        run_folder(tmp_path / "file" / "runs", {})


@SLOW
def test_a_run_folder_deleted_mid_run_stops_the_run_and_is_not_made_again(tmp_path: Path) -> None:
    design = _tiny(tmp_path, "gone", epochs=10_000)
    process = subprocess.Popen([sys.executable, "-m", "cnnstudio", "train", str(design)], env=cli_environment(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    runs = tmp_path / "runs" / "gone"
    deadline = time.monotonic() + HANG_S
    while not list(runs.glob("*/last.pt")) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    folder = next(runs.iterdir())
    folder.rename(tmp_path / "moved")  # deleted at once, as far as the run can see (rmtree races its writes)
    shutil.rmtree(tmp_path / "moved", ignore_errors=True)
    code = process.wait(timeout=HANG_S)
    err = process.stderr.read()
    assert code == 1 and "no such folder" in err and "Traceback" not in err, err
    assert not folder.exists()


# -- inputs that must be files ---------------------------------------------------------------------


def _open_csv(table: str, folder: Path, shape: tuple[int, ...] = (1, 8, 8)):  # noqa: ANN202
    from cnnstudio.training.data.csvfile import open_csv
    from cnnstudio.training.data.registry import OpenRequest

    path = folder / "list.csv"
    path.write_text(table)
    return open_csv(str(path), OpenRequest(shape))


@pytest.mark.parametrize("values", range(1, 6))  # an empty line is no row
def test_csv_rows_with_the_wrong_number_of_values_are_a_sentence_naming_the_line(values: int, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    row = ",".join(["a.png", "0", "x", "y", "z"][:values])
    table = f"path,label\na.png,1\n{row}\n"
    if values == 2:
        assert len(_open_csv(table, tmp_path).source) == 2
        return
    with pytest.raises(TrainingError, match=r"line 3: .*first row names 2 column"):
        _open_csv(table, tmp_path)


@pytest.mark.parametrize("column", ["path", "mask"])
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder", "socket"])
def test_a_csv_naming_a_device_or_fifo_as_an_image_is_a_sentence_naming_the_row(
        kind: str, column: str, tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (8, 8)).save(tmp_path / "a.png")
    name = "/dev/zero" if kind == "dev-zero" else "special"
    if kind != "dev-zero":
        _special({"fifo": "fifo", "folder": "folder", "socket": "socket"}[kind], tmp_path / "special")
    paths = {"path": (name, "a.png"), "mask": ("a.png", name)}[column]
    table = f"path,label,mask\na.png,0,a.png\n{paths[0]},1,{paths[1]}\n"
    with pytest.raises(TrainingError, match=f"line 3: the {column} {name} is a"):
        _open_csv(table, tmp_path)


def test_a_csv_file_that_is_a_fifo_or_dev_zero_is_refused_at_once(tmp_path: Path) -> None:
    from cnnstudio.training.data.csvfile import open_csv
    from cnnstudio.training.data.registry import OpenRequest

    os.mkfifo(tmp_path / "list.csv")
    for path in (tmp_path / "list.csv", Path("/dev/zero")):
        with pytest.raises(TrainingError, match="not a regular file"):
            open_csv(str(path), OpenRequest((1, 8, 8)))


@SLOW
def test_train_on_a_csv_naming_a_fifo_ends_in_a_sentence(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("L", (16, 16)).save(tmp_path / "a.png")
    os.mkfifo(tmp_path / "pipe.png")
    (tmp_path / "list.csv").write_text("path,label\na.png,0\npipe.png,1\na.png,1\n")
    design = _tiny(tmp_path, data=f"csv:{tmp_path / 'list.csv'}")
    done = _cli("train", str(design))
    assert done.returncode == 1 and "line 3: the path pipe.png is a pipe (FIFO), not an image file" in done.stderr


def _idx(path: Path, dtype: int, shape: list[int], data: bytes) -> None:
    path.write_bytes(bytes([0, 0, dtype, len(shape)]) + b"".join(d.to_bytes(4, "big") for d in shape) + data)


@pytest.mark.parametrize(("labels", "dtype", "message"), [
    (torch.tensor([1.0, float("nan")]), 0x0D, "label 1 is nan"),
    (torch.tensor([0.0, float("inf")]), 0x0D, "label 1 is inf"),
    (torch.tensor([0.5, 1.0]), 0x0D, "label 0 is 0.5"),
    (torch.tensor([-1, 0], dtype=torch.int32), 0x0C, "label 0 is -1"),
    (torch.tensor([0, 2**31 - 1], dtype=torch.int32), 0x0C, "label 1 is 2147483647"),
])
def test_idx_labels_that_are_not_class_numbers_are_refused(labels: torch.Tensor, dtype: int, message: str,
                                                           tmp_path: Path) -> None:
    from cnnstudio.training.data.idx import read_pairs

    _idx(tmp_path / "train-images-idx3-ubyte", 0x08, [2, 4, 4], bytes(32))
    big_endian = labels.view(torch.uint8).view(-1, labels.element_size()).flip(1).contiguous().view(-1)
    _idx(tmp_path / "train-labels-idx1-ubyte", dtype, [2], bytes(big_endian.tolist()))
    with pytest.raises(TrainingError, match=message):
        read_pairs(str(tmp_path))


def test_idx_files_with_no_images_or_that_are_fifos_are_refused(tmp_path: Path) -> None:
    from cnnstudio.training.data.idx import read_pairs

    _idx(tmp_path / "train-images-idx3-ubyte", 0x08, [0, 4, 4], b"")
    _idx(tmp_path / "train-labels-idx1-ubyte", 0x08, [0], b"")
    with pytest.raises(TrainingError, match="holds 0 images"):
        read_pairs(str(tmp_path))
    (tmp_path / "train-images-idx3-ubyte").unlink()
    os.mkfifo(tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(TrainingError, match="not a regular file"):
        read_pairs(str(tmp_path))


def test_an_empty_class_folder_is_not_a_class_and_the_warning_says_so(tmp_path: Path) -> None:
    from PIL import Image

    from cnnstudio.training.data.folder import open_folder
    from cnnstudio.training.data.registry import OpenRequest

    for name in ("cats", "dogs"):
        (tmp_path / name).mkdir()
        Image.new("L", (8, 8)).save(tmp_path / name / "a.png")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("no images here")
    warnings: list[str] = []
    dataset = open_folder(str(tmp_path), OpenRequest((1, 8, 8), warn=warnings.append))
    assert dataset.source.classes == ["cats", "dogs"]
    assert len(warnings) == 1 and "empty/, notes/ hold no image" in warnings[0] and "not counted as a class" in warnings[0]


def test_images_are_opened_only_from_regular_files_and_bombs_are_refused(tmp_path: Path, recwarn) -> None:  # noqa: ANN001
    from PIL import Image

    from cnnstudio.training.data import images
    from cnnstudio.training.synthesis.images import read_image
    from cnnstudio.training.synthesis.network import SynthesisError

    os.mkfifo(tmp_path / "pipe.png")
    for path in (tmp_path / "pipe.png", Path("/dev/zero")):
        with pytest.raises(images.UNREADABLE):
            images.decode(path, (1, 8, 8))
        with pytest.raises(SynthesisError, match="not an image"):
            read_image(path)
    limit = Image.MAX_IMAGE_PIXELS
    Image.new("L", (200, 200)).save(tmp_path / "big.png")
    try:
        Image.MAX_IMAGE_PIXELS = 200 * 200 // 3  # between the limit and twice it: PIL only warns
        with pytest.raises(SynthesisError, match="more than the 13,333 pixels"):
            read_image(tmp_path / "big.png")
        Image.MAX_IMAGE_PIXELS = 200 * 200 // 2 - 1  # over twice the limit: PIL raises
        with pytest.raises(SynthesisError, match="scale it down"):
            read_image(tmp_path / "big.png")
        with pytest.raises(images.UNREADABLE):
            images.decode(tmp_path / "big.png", (1, 8, 8))
    finally:
        Image.MAX_IMAGE_PIXELS = limit
    assert not [w for w in recwarn if issubclass(w.category, Image.DecompressionBombWarning)]


@SLOW
def test_stylize_with_a_20000_pixel_square_content_image_is_a_sentence(tmp_path: Path) -> None:
    from PIL import Image

    Image.new("1", (20_000, 20_000)).save(tmp_path / "huge.png")
    Image.new("L", (8, 8)).save(tmp_path / "small.png")
    design = _tiny(tmp_path)
    done = _cli("stylize", str(design), "--content", str(tmp_path / "huge.png"), "--style", str(tmp_path / "small.png"),
                "--random-weights", "-o", str(tmp_path / "out.png"))
    assert done.returncode == 1 and "huge.png has more than the" in done.stderr
    assert "DecompressionBomb" not in done.stderr and "Traceback" not in done.stderr


def test_import_weights_with_matching_names_and_other_shapes_list_each_tensor_once(tmp_path: Path) -> None:
    from torch import nn

    from cnnstudio.core.weights import WeightsError
    from cnnstudio.importers.sources import load_into

    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4, 2))
    state = {**model.state_dict(), "0.weight": torch.zeros(8, 1, 3, 3), "0.bias": torch.zeros(8)}
    torch.save(state, tmp_path / "w.pt")
    with pytest.raises(WeightsError) as caught:
        load_into(model, str(tmp_path / "w.pt"))
    message = str(caught.value)
    assert "0.weight is 8x1x3x3 in the file but 4x1x3x3 in the model" in message
    assert message.count("0.weight") == 1 and message.count("0.bias") == 1 and "2.weight" not in message
    assert "size mismatch" not in message


@SLOW
def test_an_onnx_input_declared_2e9_by_2e9_is_a_sentence(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    pytest.importorskip("onnx2torch")
    from onnx import TensorProto, helper

    huge = [1, 1, 2_000_000_000, 2_000_000_000]
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, huge)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, huge)])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "big.onnx")
    done = _cli("import", str(tmp_path / "big.onnx"), "-o", str(tmp_path / "d.json"))
    assert done.returncode == 1 and "does not run on inputs 1x2000000000x2000000000" in done.stderr
    assert "internal error" not in done.stderr


@SLOW
def test_check_with_stdout_on_a_full_disk_says_so_on_stderr(tmp_path: Path) -> None:
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    design = _tiny(tmp_path)
    for args in (["check", str(design)], ["runs", str(design), "--json"]):
        with open("/dev/full", "w") as full:
            done = subprocess.run([sys.executable, "-m", "cnnstudio", *args], stdout=full, stderr=subprocess.PIPE,
                                  text=True, timeout=HANG_S, env=cli_environment())
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip() == "cnnstudio: the output could not be written: No space left on device"


# -- groups: linear ---------------------------------------------------------------------------------


class CountingGroups(dict):
    """A dict of groups that counts every lookup, so a test can compare the work of two sizes."""

    reads = 0

    def __getitem__(self, key: str) -> Group:
        CountingGroups.reads += 1
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        CountingGroups.reads += 1
        return super().__contains__(key)


def _nested(count: int, loop: bool = False) -> CountingGroups:
    parents = [f"g{i - 1}" if i else (f"g{count - 1}" if loop else None) for i in range(count)]
    return CountingGroups({f"g{i}": Group(f"g{i}", f"g{i}", ["n"] if i == count - 1 else [], parents[i])
                           for i in range(count)})


def _work(count: int, loop: bool = False) -> int:
    groups = _nested(count, loop)
    CountingGroups.reads = 0
    grouping.problems(groups, {"n"})
    grouping.tree(groups)
    grouping.descendants(groups, "g0")
    grouping.members(groups, "g0")
    grouping.ancestors(groups, f"g{count - 1}")
    grouping.shown_as(groups, f"g{count - 1}")
    return CountingGroups.reads


@pytest.mark.parametrize("loop", [False, True])
def test_group_checks_and_queries_cost_linear_work(loop: bool) -> None:
    small, large = _work(1_000, loop), _work(10_000, loop)
    assert large / small < 11  # linear: ten times the groups, ten times the lookups (quadratic: 100)
    assert _work(100_000, loop) / large < 11


def test_a_parent_loop_is_one_sentence_naming_the_groups_whatever_its_length() -> None:
    found = grouping.problems(_nested(50_000, loop=True), {"n"})
    assert len(found) == 1
    group, message = found[0]
    assert group == "g0" and message.startswith("its parents form a loop: g0 -> g49999 -> g49998")
    assert message.endswith("-> g1 -> g0 (50,000 groups)") and len(message) < 200
    short = grouping.problems({"a": Group("a", "a", [], "b"), "b": Group("b", "b", [], "a")}, set())
    assert short == [("a", "its parents form a loop: a -> b -> a")]


def _grouped_design(count: int, loop: bool = False) -> str:
    data = to_dict(classifier())
    parents = [f"g{i - 1}" if i else (f"g{count - 1}" if loop else None) for i in range(count)]
    data["groups"] = [{"id": f"g{i}", "nodes": [], "parent": parents[i]} for i in range(count)]
    return json.dumps(data)


@SLOW
def test_design_files_with_200000_nested_groups_or_a_50000_group_loop_load_or_are_refused() -> None:
    design = loads(_grouped_design(200_000))
    assert len(design.groups) == 200_000 and grouping.ancestors(design.groups, "g199999")[-1] == "g0"
    with pytest.raises(DesignFileError, match=r"groups\[0\] \('g0'\): its parents form a loop: g0 -> g49999"):
        loads(_grouped_design(50_000, loop=True))
