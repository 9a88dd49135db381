"""Issue 13: no input ends in "internal error", a traceback or an abort.

A corpus of hostile design files (tests/fault_corpus, from the hostile test pass) goes through
check, export and train; hypothesis then mutates a valid design anywhere (any JSON value in any
place, cut or corrupted bytes) and feeds it to check and export, and mutates its "training"
object for train. Exit statuses must be the documented ones: 0, 1 or 2."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from cnnstudio.cli import main
from fault_helpers import assert_clean_failure, cli

CORPUS = sorted((Path(__file__).parent / "fault_corpus").iterdir())
BASE = {"format": "cnnstudio-design", "version": 1, "name": "fuzz",
        "nodes": [{"id": "x", "type": "Input", "params": {"shape": [1, 8, 8]}},
                  {"id": "c", "type": "Conv2d", "params": {"out_channels": 2, "kernel_size": 3}},
                  {"id": "f", "type": "Flatten"},
                  {"id": "l", "type": "Linear", "params": {"out_features": 6}}],
        "edges": [["x", "c"], ["c", "f"], ["f", "l"]],
        "training": {"epochs": 1, "device": "cpu", "batch_size": 16, "data_options": {"count": 48}}}
DEEP = json.loads('{"a": ' * 200 + "1" + "}" * 200)  # (900 levels: the corpus; json in a test recurses)
FUZZ = settings(deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20)
           | st.sampled_from(["", "Conv2d", "x", "\u202e", "\udc80", "ﬁ", "same", "valid", "auto", "cuda", "mnist",
                              "idx:/dev/zero", "folder:/nowhere", "../../etc", "-1", "1e999"])
           | st.sampled_from([10**400, -(10**400), 1e300, 1e38, 0, -1, 2**63, [], {}]))  # what broke before
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                                           max_size=4), max_leaves=8)


def _places(data: object, path: tuple = ()) -> list[tuple]:
    """Every place in the JSON tree a value sits, as a path of keys and indexes."""
    found = [path]
    if isinstance(data, dict):
        for key, value in data.items():
            found += _places(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            found += _places(value, (*path, index))
    return found


def _replaced(data: dict, path: tuple, value: object) -> object:
    if not path:
        return value
    copied = copy.deepcopy(data)
    target = copied
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return copied


def _run(argv: list[str], capsys: pytest.CaptureFixture) -> None:
    code = main(argv)
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert code in (0, 1, 2), (argv, code, text[-2000:])
    assert "internal error" not in text and "Traceback" not in text, text[-2000:]


def _write(text: str | bytes, folder: Path) -> Path:
    path = folder / "design.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    return path


# -- the corpus ------------------------------------------------------------------------------------


@pytest.mark.faults
@pytest.mark.parametrize("path", CORPUS, ids=[p.name for p in CORPUS])
def test_corpus_through_every_command(path: Path, tmp_path: Path, capsys) -> None:
    _run(["check", str(path)], capsys)
    _run(["check", str(path), "--json"], capsys)
    _run(["export", str(path), "-f", "code", "-o", str(tmp_path / "m.py")], capsys)
    _run(["export", str(path), "-f", "safetensors", "-o", str(tmp_path / "m.safetensors")], capsys)
    _run(["train", str(path), "--out", str(tmp_path / "run")], capsys)


@pytest.mark.faults
@pytest.mark.parametrize("name", ["ligature-id.json", "truncated.json", "huge-linear.json"])
def test_corpus_in_a_fresh_process_never_aborts(name: str, tmp_path: Path) -> None:
    """In a subprocess, so an abort (exit 134) or a crash shows as such."""
    path = Path(__file__).parent / "fault_corpus" / name
    for args in (["check", str(path)], ["export", str(path), "-f", "torchscript", "-o", str(tmp_path / "m.pt")]):
        result = cli(*args)
        assert result.returncode in (0, 1, 2), result.stderr[-2000:]
        if result.returncode:
            assert_clean_failure(result)


# -- hypothesis ------------------------------------------------------------------------------------


@pytest.mark.faults
@settings(FUZZ, max_examples=300)
@given(st.data())
def test_any_value_anywhere_checks_cleanly(data: st.DataObject) -> None:
    place = data.draw(st.sampled_from(_places(BASE)))
    mutated = _replaced(BASE, place, data.draw(values))
    with tempfile.TemporaryDirectory() as folder:
        try:
            text = json.dumps(mutated)
        except ValueError:  # an integer too long for json to write: write its digits by hand
            text = json.dumps(mutated, default=str)
        _run_quiet(["check", str(_write(text, Path(folder)))])


@pytest.mark.faults
@settings(FUZZ, max_examples=150)
@given(st.binary(max_size=64), st.integers(min_value=0, max_value=400))
def test_corrupted_bytes_check_cleanly(noise: bytes, at: int) -> None:
    raw = json.dumps(BASE).encode()
    with tempfile.TemporaryDirectory() as folder:
        _run_quiet(["check", str(_write(raw[:at] + noise + raw[at + len(noise):], Path(folder)))])


@pytest.mark.faults
@settings(FUZZ, max_examples=25)
@given(st.data())
def test_any_value_anywhere_exports_cleanly(data: st.DataObject) -> None:
    place = data.draw(st.sampled_from([p for p in _places(BASE) if p[:1] != ("training",)]))
    mutated = _replaced(BASE, place, data.draw(values))
    with tempfile.TemporaryDirectory() as folder:
        path = _write(json.dumps(mutated, default=str), Path(folder))
        _run_quiet(["export", str(path), "-f", data.draw(st.sampled_from(["code", "safetensors", "torchscript"])),
                    "-o", str(Path(folder) / "out" / "m")])


@pytest.mark.faults
@settings(FUZZ, max_examples=40)
@given(st.sampled_from(["lr", "epochs", "batch_size", "weight_decay", "momentum", "grad_clip", "classes", "seed",
                        "val_split", "schedule", "optimizer", "data", "task", "outputs", "augmentation",
                        "data_options", "device", "init_weights", "tensorboard", "step_size", "gamma"]), values)
@example("lr", 10**400)  # the hostile pass's findings, always tried first
@example("epochs", 10**400)
@example("weight_decay", 1e300)
@example("classes", [])
@example("data_options", DEEP)
@example("init_weights", "/dev/zero")
def test_any_training_value_trains_or_says_why(key: str, value: object) -> None:
    training = {**BASE["training"], key: value}
    if key == "epochs" and isinstance(value, int) and not isinstance(value, bool) and 1 <= value:
        training["epochs"] = 1  # the fuzz is about the values, not about waiting
    if key == "data_options" and isinstance(value, dict):
        training["data_options"] = {**value, "count": 48}
    with tempfile.TemporaryDirectory() as folder:
        path = _write(json.dumps({**BASE, "training": training}, default=str), Path(folder))
        _run_quiet(["train", str(path), "--out", str(Path(folder) / "run")])


def _run_quiet(argv: list[str]) -> None:
    """``main(argv)`` with its output captured here (hypothesis runs many examples in one test)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    text = out.getvalue() + err.getvalue()
    assert code in (0, 1, 2), (argv, code, text[-2000:])
    assert "internal error" not in text and "Traceback" not in text, text[-2000:]
