"""Generated hostile input for a sweep: ``--param`` KEYs and SPECs built from the design's own names
and from junk, storage URLs and sweep names. Each is a sentence naming what was wrong, or accepted
and then safe: every value Optuna can draw from an accepted ``--param`` makes a design and settings
a trial can train, and a sweep's runs never land in another sweep's folders."""

from __future__ import annotations

import json
import math
from pathlib import Path

import optuna
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design
from cnnstudio.core.params import FloatParam, IntParam, SizeParam
from cnnstudio.sweeps import storage as stores
from cnnstudio.sweeps.space import SweepError, apply, parse_param, setting_type
from cnnstudio.sweeps.worker import SweepSpec, open_study
from cnnstudio.training.defaults import default_settings
from cnnstudio.training.settings import COMMON_KEYS
from test_sweep_cli import TINY
from test_sweep_space import grouped
from training_helpers import classifier

optuna.logging.set_verbosity(optuna.logging.WARNING)
DESIGN = grouped()
REAL_KEYS = [*(f"training.{k}" for k in COMMON_KEYS), "training.augment.hflip", "training.augment.shift",
             *(f"nodes.{n.id}.{p.name}" for n in DESIGN.nodes for p in n.layer_type.params), "groups.block.repeat"]
NUMERIC = [k for k in REAL_KEYS if k.startswith("groups") or (
    setting_type(k.split(".", 1)[1]) in (int, float, int | None, float | None) if k.startswith("training") else
    isinstance(DESIGN.node(k.split(".")[1]).layer_type.param(k.split(".")[2]), (IntParam, FloatParam, SizeParam)))]
JUNK = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
NAME_PART = st.one_of(st.sampled_from([n.id for n in DESIGN.nodes] + ["block", "repeat", "lr", "augment", "", " ", ".."]), JUNK)
KEYS = st.one_of(
    st.sampled_from(REAL_KEYS), st.sampled_from(REAL_KEYS), st.sampled_from(REAL_KEYS),  # mostly keys that exist
    st.builds(lambda head, parts: ".".join([head, *parts]),
              st.sampled_from(["training", "nodes", "groups", "Training", " nodes", "", "node"]),
              st.lists(NAME_PART, max_size=3)),
)
SANE = st.one_of(st.integers(-3, 70).map(str), st.floats(-2, 70).map(lambda f: f"{f:.3g}"),
                 st.sampled_from(["0", "1", "0.5", "1e-4", "0.001", "3"]))
NUMBER = st.one_of(
    SANE, SANE, SANE,
    st.integers(-(10**30), 10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", " ", "1e400", "-1e400", "1e-400", "-0", "0x10", "1_000", "\u0661", "nan", "inf", "--1",
                     "1.", ".5", "True", "3 ", "\t2"]),
)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-5, 70) | st.floats(allow_nan=False) | st.text(max_size=5),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=2),
                    max_leaves=5)
CHOICE = st.one_of(st.integers(-2, 70).map(str), st.sampled_from(["sgd", "adam", "same", "valid", "true", "null", "0.5"]),
                   JSON.map(json.dumps),
                   st.sampled_from(["[3,", "\"", "[[]]", "{}", "NaN", "Infinity", "3,", ",", " ", "[3,5]", "[0,0]"]), JUNK)
RANGE = st.builds(lambda kind, low, high, tail: f"{kind}:{low}:{high}{tail}", st.sampled_from(["float", "int"]),
                  NUMBER, NUMBER, st.one_of(st.just(""), st.just(":log"), st.integers(-1, 9).map(lambda n: f":{n}"),
                                            st.sampled_from([":LOG", ":1:2", ":", ":1.5"]), NUMBER.map(lambda n: f":{n}")))
PLAUSIBLE = st.builds(  # real keys with ordered ranges of everyday numbers: many are accepted, so drawn from
    lambda key, kind, pair, tail: f"{key}={kind}:{min(pair)}:{max(pair)}{tail if kind == 'int' or tail != ':2' else ''}",
    st.sampled_from(NUMERIC), st.sampled_from(["float", "int"]),
    st.one_of(st.tuples(st.integers(-1, 70), st.integers(-1, 70)),
              st.tuples(st.floats(-0.5, 2).map(lambda f: round(f, 4)), st.floats(-0.5, 2).map(lambda f: round(f, 4)))),
    st.sampled_from(["", "", ":log", ":2"]))
SPECS = st.one_of(
    RANGE, RANGE, RANGE,
    st.builds(lambda parts: "choice:" + ",".join(parts), st.lists(CHOICE, min_size=1, max_size=4)),
    st.builds(lambda parts: "choice:" + ",".join(parts), st.lists(CHOICE, min_size=1, max_size=4)),
    st.builds(lambda kind, rest: f"{kind}:{rest}", st.sampled_from(["float", "int", "choice", "range", "", "Float"]), JUNK),
    JUNK,
)


def one_line_naming(error: SweepError, text: str) -> None:
    message = str(error)
    shown = text if text.isprintable() else json.dumps(text)
    assert message.startswith(f"--param {shown}: ") and "\n" not in message and "Traceback" not in message


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(PLAUSIBLE, st.builds(lambda key, sep, spec: f"{key}{sep}{spec}", KEYS,
                                            st.sampled_from(["=", "=", " = ", "==", ""]), SPECS)))
def test_a_param_is_refused_in_a_sentence_or_every_value_drawn_from_it_trains(text: str) -> None:
    try:
        dimension = parse_param(text, DESIGN)
    except SweepError as error:
        one_line_naming(error, text)
        return
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(3):  # what Optuna really draws from it, not only the bounds the checks looked at
        value = dimension.suggest(study.ask())
        if dimension.kind == "choice":
            assert any(json.dumps(value) == json.dumps(c) for c in dimension.choices)
        else:
            assert dimension.low <= value <= dimension.high and math.isfinite(value)
        design = apply(DESIGN, {dimension.key: value})
        default_settings(design)  # the settings a trial would train with


@pytest.mark.parametrize("width", ["int:1:65536", "int:1:64", "choice:1,2,3"])
@pytest.mark.parametrize("second", ["training.batch_size=int:1:65536", "training.epochs=int:1:100",
                                    "training.optimizer=choice:sgd,adam"])
def test_a_grid_too_large_to_try_is_a_sentence_not_a_hang(width: str, second: str) -> None:
    dimensions = [parse_param(f"nodes.conv2d1.out_channels={width}", DESIGN), parse_param(second, DESIGN)]
    points = math.prod(len(d.grid()) if d.kind == "choice" else len(range(int(d.low), int(d.high) + 1, d.step))
                       for d in dimensions)
    spec = SweepSpec("grid", dimensions, sampler="grid")
    if points <= 10_000:
        assert isinstance(open_study(optuna.storages.InMemoryStorage(), DESIGN, spec).sampler, optuna.samplers.GridSampler)
        return
    with pytest.raises(SweepError, match=f"the grid has {points:,} points"):
        open_study(optuna.storages.InMemoryStorage(), DESIGN, spec)


SCHEMES = ["postgresql", "postgresql+psycopg2", "postgresql+psycopg", "mysql", "mysql+pymysql", "sqlite", "oracle",
           "nosuchdb", "http", "", "sqlite+pysqlite"]


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scheme=st.sampled_from(SCHEMES), password=st.text("abcXYZ019!%$#", min_size=2, max_size=8).map(lambda p: f"Pw-{p}"),
       port=st.sampled_from(["1", "9", "65535", "99999", "x", "", "-1"]),
       path=st.sampled_from(["/sweeps", "", "/", "//no/such/folder/s.db", "/?x=%", "/\u00e9"]),
       junk=st.one_of(st.just(""), JUNK))
@example(scheme="", password="Pw-00", port="1", path="/sweeps", junk="\n")  # found in CI: the URL's newline was shown
def test_an_unreachable_or_malformed_storage_is_one_sentence_without_the_password(
        scheme: str, password: str, port: str, path: str, junk: str, tmp_path: Path) -> None:
    url = f"{scheme}://sweeper:{password}@127.0.0.1{':' if port else ''}{port}{path}{junk}"
    assume("sqlite" not in scheme or path.startswith("//no/"))  # a SQLite file that can be made is reachable
    try:
        stores.open_storage(stores.where(url, tmp_path))
    except SweepError as error:
        message = str(error)
        assert message.startswith("the storage ") and "\n" not in message and password not in message
        return
    pytest.fail(f"{url} was opened")


@pytest.mark.parametrize("names", [("lr rate", "lr-rate"), ("LR", "lr"), ("lr+optimizer", "lr-optimizer")])
def test_sweeps_whose_names_make_one_folder_name_keep_their_runs_apart(
        names: tuple[str, str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    design = classifier(classes=6, size=8)
    design.training = dict(TINY)
    design_file = tmp_path / "tiny.json"
    save_design(design, design_file)
    for name in names:
        assert main(["sweep", str(design_file), "--param", "training.lr=float:0.001:0.1", "--trials", "1",
                     "--sweep", name]) == 0
    capsys.readouterr()
    assert main(["sweeps", str(design_file), "--json"]) == 0
    runs = {s["name"]: s["trials"][0]["run"] for s in json.loads(capsys.readouterr().out)["sweeps"]}
    assert set(runs) == set(names) and len(set(runs.values())) == 2
    for name, run in runs.items():
        assert json.loads((Path(run) / "run.json").read_text())["sweep"] == {"name": name, "trial": 0, "pruned": False}
