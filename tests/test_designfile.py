"""Design files: every malformed input raises DesignFileError naming the place; saving is atomic."""

from __future__ import annotations

import copy
import errno
import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.core.analysis import analyze
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import (
    DesignFileError,
    dumps,
    from_dict,
    load_design,
    loads,
    save_design,
    to_dict,
)
from corehelpers import FIGURE21

MINIMAL = (
    '{"format": "cnnstudio-design", "version": 1, "name": "Figure 21", '
    '"nodes": [{"id": "x", "type": "Input", "params": {"shape": [1, 28, 28]}}, '
    '{"id": "c1", "type": "Conv2d", "params": {"out_channels": 6, "kernel_size": 5, "padding": "valid"}}, '
    '{"id": "r1", "type": "ReLU"}], '
    '"edges": [["x", "c1"], ["c1", "r1"]]}'
)


def doc() -> dict:
    return json.loads(MINIMAL)


def test_minimal_form_from_the_issue_loads():
    design = loads(MINIMAL)
    assert design.name == "Figure 21"
    assert [n.id for n in design.nodes] == ["x", "c1", "r1"]
    assert design.node("c1").params["kernel_size"] == 5
    assert design.node("c1").params["stride"] == 1  # defaults filled in
    analysis = analyze(design)
    assert analysis.valid
    assert analysis.nodes["r1"].shape == (6, 24, 24)


def test_template_loads_and_is_valid():
    analysis = analyze(load_design(FIGURE21))
    assert analysis.valid
    assert analysis.output_shapes() == [(10,)]


def _mutated(change) -> str:
    data = doc()
    change(data)
    return json.dumps(data)


def _set(path, value):
    def change(data):
        target = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


# (name, text, words the message must contain)
BAD_TEXTS = [
    ("not json", "this is not a design", ["not valid JSON", "line 1, column 1"]),
    ("empty", "", ["truncated"]),
    ("truncated", MINIMAL[:100], ["truncated"]),
    ("truncated in a string", MINIMAL[: MINIMAL.index("Figure") + 3], ["truncated"]),
    ("trailing garbage", MINIMAL + " }", ["line 1"]),
    ("nul bytes", "{\x00\x00\x01}", ["not a text file"]),
    ("array", "[1, 2]", ["JSON object"]),
    ("wrong format", _mutated(_set(["format"], "keras-model")), ['"format"', "cnnstudio-design", "keras-model"]),
    ("no format", _mutated(lambda d: d.pop("format")), ['"format"']),
    ("future version", _mutated(_set(["version"], 4)), ["newer", "version 4"]),
    ("version as text", _mutated(_set(["version"], "1")), ['"version"']),
    ("version zero", _mutated(_set(["version"], 0)), ['"version"']),
    ("huge int", MINIMAL.replace('"version": 1', '"version": 1' + "0" * 5000), ["not valid JSON"]),
    ("name not text", _mutated(_set(["name"], 5)), ['"name"']),
    ("nodes not list", _mutated(_set(["nodes"], {"x": 1})), ['"nodes"']),
    ("edges not list", _mutated(_set(["edges"], "x->c1")), ['"edges"']),
    ("training not object", _mutated(_set(["training"], [1])), ['"training"']),
    ("node not object", _mutated(_set(["nodes", 1], "Conv2d")), ["nodes[1]"]),
    ("node without id", _mutated(lambda d: d["nodes"][1].pop("id")), ["nodes[1]", '"id"']),
    ("node with blank id", _mutated(_set(["nodes", 1, "id"], " ")), ["nodes[1]", '"id"']),
    ("node without type", _mutated(lambda d: d["nodes"][1].pop("type")), ["nodes[1] ('c1')", '"type"']),
    ("unknown type", _mutated(_set(["nodes", 1, "type"], "Conv2D")), ["nodes[1] ('c1')", "Conv2D", "did you mean 'Conv2d'"]),
    ("unknown type far off", _mutated(_set(["nodes", 1, "type"], "LSTM")), ["nodes[1] ('c1')", "unknown layer type"]),
    ("param wrong type", _mutated(_set(["nodes", 1, "params", "kernel_size"], "5")), ["nodes[1] ('c1')", "'kernel_size'", "'5'"]),
    ("param bool for int", _mutated(_set(["nodes", 1, "params", "out_channels"], True)), ["nodes[1] ('c1')", "'out_channels'"]),
    ("param out of range", _mutated(_set(["nodes", 1, "params", "out_channels"], 0)), ["nodes[1] ('c1')", "'out_channels'", "from 1"]),
    ("size list wrong length", _mutated(_set(["nodes", 1, "params", "kernel_size"], [3, 3, 3])), ["nodes[1] ('c1')", "list of 2"]),
    ("bad padding word", _mutated(_set(["nodes", 1, "params", "padding"], "full")), ["nodes[1] ('c1')", '"same"']),
    ("bad shape", _mutated(_set(["nodes", 0, "params", "shape"], [1, 0, 28])), ["nodes[0] ('x')", "'shape'"]),
    ("huge float", MINIMAL.replace('"r1", "type": "ReLU"', '"r1", "type": "Dropout", "params": {"p": 1' + "0" * 400 + "}"), ["nodes[2] ('r1')", "'p'"]),
    ("nan float", MINIMAL.replace('"r1", "type": "ReLU"', '"r1", "type": "Dropout", "params": {"p": NaN}'), ["nodes[2] ('r1')", "'p'"]),
    ("unknown param", _mutated(_set(["nodes", 1, "params", "kernal_size"], 3)), ["nodes[1] ('c1')", "'kernal_size'", "did you mean 'kernel_size'"]),
    ("unknown param far off", _mutated(_set(["nodes", 2, "params"], {"zzz": 1})), ["nodes[2] ('r1')", "'zzz'"]),
    ("params not object", _mutated(_set(["nodes", 1, "params"], [5])), ["nodes[1] ('c1')", '"params"']),
    ("duplicate id", _mutated(_set(["nodes", 2, "id"], "c1")), ["nodes[2] ('c1')", "unique"]),
    ("dangling edge", _mutated(lambda d: d["edges"].append(["c1", "zz"])), ["edges[2]", "'zz'"]),
    ("edge not pair", _mutated(lambda d: d["edges"].append(["x"])), ["edges[2]", "pair"]),
    ("edge of numbers", _mutated(lambda d: d["edges"].append([1, 2])), ["edges[2]"]),
    ("self edge", _mutated(lambda d: d["edges"].append(["r1", "r1"])), ["edges[2]", "'r1'"]),
    ("duplicate edge", _mutated(lambda d: d["edges"].append(["x", "c1"])), ["edges[2]", "already connected"]),
    ("pos one number", _mutated(_set(["nodes", 1, "pos"], [1])), ["nodes[1] ('c1')", '"pos"']),
    ("pos text", _mutated(_set(["nodes", 1, "pos"], "0,0")), ["nodes[1] ('c1')", '"pos"']),
    ("pos bools", _mutated(_set(["nodes", 1, "pos"], [True, False])), ["nodes[1] ('c1')", '"pos"']),
    ("pos nan", MINIMAL.replace('"type": "ReLU"', '"type": "ReLU", "pos": [NaN, 0]'), ["nodes[2] ('r1')", '"pos"']),
    ("pos infinite", MINIMAL.replace('"type": "ReLU"', '"type": "ReLU", "pos": [0, -Infinity]'), ["nodes[2] ('r1')", '"pos"']),
    ("frozen not bool", _mutated(_set(["nodes", 1, "frozen"], "yes")), ["nodes[1] ('c1')", '"frozen"']),
    ("label not text", _mutated(_set(["nodes", 1, "label"], 3)), ["nodes[1] ('c1')", '"label"']),
    ("outputs not list", _mutated(_set(["outputs"], "r1")), ['"outputs"']),
    ("outputs unknown", _mutated(_set(["outputs"], ["r1", "q"])), ['"outputs"', "'q'"]),
    ("deeply nested", "[" * 100_000 + "]" * 100_000, ["nested too deeply"]),
    (
        "deeply nested param",
        MINIMAL.replace("[1, 28, 28]", "[" * 5000 + "]" * 5000),
        ["nested too deeply"],
    ),
    ("nested param", MINIMAL.replace("[1, 28, 28]", "[" * 50 + "1" + "]" * 50), ["nodes[0] ('x')", "'shape'"]),
]


@pytest.mark.parametrize(("text", "words"), [(t, w) for _, t, w in BAD_TEXTS], ids=[n for n, _, _ in BAD_TEXTS])
def test_malformed_text_raises_design_file_error(text, words):
    with pytest.raises(DesignFileError) as caught:
        loads(text, source="bad.json")
    message = str(caught.value)
    assert message.startswith("bad.json: ")
    for word in words:
        assert word in message, message
    assert "\n" not in message and len(message) < 400


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ["not a text file"]),  # binary with NULs
        (b'{"format": "cnnstudio-design", "name": "caf\xe9"}', ["not a text file"]),  # Latin-1, not UTF-8
        (b"\xff\xfe{\x00}\x00", ["not a text file"]),  # UTF-16
        (MINIMAL.encode()[:-30], ["truncated"]),
    ],
)
def test_malformed_bytes_in_a_file(tmp_path, content, words):
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(DesignFileError) as caught:
        load_design(path)
    assert str(caught.value).startswith(str(path))
    for word in words:
        assert word in str(caught.value)


def test_utf8_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "notepad.json"
    path.write_bytes(b"\xef\xbb\xbf" + MINIMAL.encode())
    assert load_design(path).name == "Figure 21"


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(DesignFileError, match="no such file"):
        load_design(tmp_path / "nope.json")
    with pytest.raises(DesignFileError, match="folder"):
        load_design(tmp_path)
    with pytest.raises(DesignFileError):
        load_design("bad\x00name.json")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs file permissions")
def test_unreadable_file(tmp_path):
    path = tmp_path / "secret.json"
    path.write_text(MINIMAL)
    path.chmod(0)
    with pytest.raises(DesignFileError, match="cannot be read"):
        load_design(path)


def test_every_truncation_of_the_template_is_a_design_file_error():
    text = FIGURE21.read_text()
    for cut in range(0, len(text) - 3, 7):
        with pytest.raises(DesignFileError):
            loads(text[:cut])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*prefix, index))


TEMPLATE = json.loads(FIGURE21.read_text())
GROUPED = {**TEMPLATE, "version": 2, "groups": [
    {"id": "stem", "name": "Stem", "parent": None, "nodes": ["conv1", "relu1"], "collapsed": True},
    {"id": "inner", "name": "Inner", "parent": "stem", "nodes": ["conv2"], "collapsed": False},
]}


@pytest.mark.parametrize("document", [TEMPLATE, GROUPED], ids=["template", "with groups"])
@settings(max_examples=150, deadline=None, database=None)
@given(draw=st.data(), value=JSON, delete=st.booleans())
def test_any_replaced_value_loads_or_raises_design_file_error(document, draw, value, delete):
    """Replacing (or deleting) any value of a valid file never gives another exception."""
    path = draw.draw(st.sampled_from(list(_paths(document))[1:]))
    data = copy.deepcopy(document)
    target = data
    for key in path[:-1]:
        target = target[key]
    if delete:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    try:
        design = from_dict(data, "fuzz.json")
    except DesignFileError as error:
        assert str(error).startswith("fuzz.json: ")
    else:
        analyze(design)  # a loaded design can always be analysed
        assert to_dict(loads(dumps(design))) == to_dict(design)


@settings(max_examples=150, deadline=None, database=None)
@given(st.integers(0, len(MINIMAL)), st.integers(0, 20), st.text(max_size=6))
def test_any_edited_text_loads_or_raises_design_file_error(start, length, insert):
    """Cutting and pasting anywhere in a file never gives another exception."""
    text = MINIMAL[:start] + insert + MINIMAL[start + length :]
    try:
        loads(text, "edited.json")
    except DesignFileError as error:
        assert str(error).startswith("edited.json: ")


# -- round trip ---------------------------------------------------------------------------------


def _rich_design() -> Design:
    design = Design("Round trip")
    design.add_node("Input", {"shape": [3, 16, 16]}, "img", pos=(0.0, 10.5))
    design.add_node("Input", {"shape": [3, 16, 16]}, "aux", pos=(0.0, 200.0))
    design.add_node("Conv2d", {"out_channels": 4, "kernel_size": [3, 5], "padding": "same"}, "a", frozen=True)
    design.add_node("Conv2d", {"out_channels": 2, "kernel_size": 1}, "b", label="1x1 projection")
    design.add_node("Conv2d", {"out_channels": 3, "kernel_size": 3, "padding": 1}, "c")
    design.add_node("Concat", {}, "cat", pos=(400.0, -20.3))
    design.add_node("Flatten", {}, "flat")
    design.add_node("Linear", {"out_features": 5}, "head")
    design.connect("img", "a")
    design.connect("aux", "b")
    design.connect("img", "c")
    # Merge input order differs from node and connection order: c, a, b.
    design.connect("a", "cat")
    design.connect("c", "cat", 0)
    design.connect("b", "cat")
    design.connect("cat", "flat")
    design.connect("flat", "head")
    design.output_order = ["head", "cat"]
    design.training = {"task": "classification", "epochs": 3, "lr": 0.01, "augment": {"flip": True}}
    design.add_group("branches", ["a", "c"], name="Branches", collapsed=False)
    design.add_group("mix", ["cat"], parent="branches")
    design.add_group("head block", ["flat", "head"], name="Head")
    return design


def test_save_and_load_round_trip(tmp_path):
    design = _rich_design()
    path = tmp_path / "design.json"
    save_design(design, path)
    loaded = load_design(path)
    assert to_dict(loaded) == to_dict(design)
    assert loaded.inputs_of("cat") == ["c", "a", "b"]
    assert loaded.node("a").frozen and not loaded.node("b").frozen
    assert loaded.node("b").label == "1x1 projection"
    assert loaded.node("img").pos == (0.0, 10.5) and loaded.node("cat").pos == (400.0, -20.3)
    assert loaded.node("a").params["kernel_size"] == (3, 5)
    assert loaded.output_order == ["head", "cat"]
    assert loaded.output_ids == ["head", "cat"]
    assert loaded.training == design.training
    assert loaded.name == "Round trip"
    assert loaded.groups == design.groups
    assert loaded.group_of("cat") == "mix" and loaded.groups["mix"].parent == "branches"
    assert not loaded.groups["branches"].collapsed and loaded.groups["mix"].collapsed
    assert path.read_text() == dumps(design)  # saving again gives the same bytes
    save_design(loaded, path)
    assert path.read_text() == dumps(design)
    assert analyze(loaded).nodes["cat"].shape == (9, 16, 16)


def test_saved_file_has_one_node_and_one_edge_per_line():
    text = dumps(_rich_design())
    assert '    {"id": "cat", "type": "Concat"' in text
    assert '    ["c", "cat"],\n    ["a", "cat"],\n    ["b", "cat"],' in text
    assert json.loads(text)["format"] == "cnnstudio-design"


def test_template_round_trips_unchanged():
    original = json.loads(FIGURE21.read_text())
    assert original["version"] == 1
    assert to_dict(loads(FIGURE21.read_text())) == {**original, "version": 2}  # migrated on load


def test_version_1_file_migrates_to_version_2_without_groups():
    data = doc()
    data["groups"] = [{"id": "g", "nodes": ["c1"]}]  # not part of version 1: dropped, not trusted
    design = from_dict(data)
    assert design.groups == {}
    assert to_dict(design)["version"] == 2
    assert "groups" not in to_dict(design)  # a design without groups writes no "groups" key


def test_groups_are_written_one_per_line():
    text = dumps(_rich_design())
    assert (
        '  "groups": [\n'
        '    {"id": "branches", "name": "Branches", "parent": null, "nodes": ["a", "c"], "collapsed": false},\n'
    ) in text


def _grouped(change=lambda d: None) -> str:
    """MINIMAL as a version-2 file with two nested groups, then ``change``d."""
    data = doc()
    data["version"] = 2
    data["groups"] = [
        {"id": "outer", "name": "Outer", "parent": None, "nodes": ["c1"], "collapsed": True},
        {"id": "inner", "name": "Inner", "parent": "outer", "nodes": ["r1"], "collapsed": False},
    ]
    change(data)
    return json.dumps(data)


def test_version_2_groups_load():
    design = loads(_grouped())
    assert design.group_of("r1") == "inner" and design.group_of("x") is None
    assert design.groups["inner"].name == "Inner" and not design.groups["inner"].collapsed


def _group_entry(index, **values):
    return lambda d: d["groups"][index].update(values)


BAD_GROUPS = [
    ("groups not list", _grouped(_set(["groups"], {"g": 1})), ['"groups"']),
    ("group not object", _grouped(_set(["groups", 1], "inner")), ["groups[1]"]),
    ("group without id", _grouped(lambda d: d["groups"][1].pop("id")), ["groups[1]", '"id"']),
    ("group name blank", _grouped(_group_entry(1, name="")), ["groups[1] ('inner')", '"name"']),
    ("group nodes not list", _grouped(_group_entry(1, nodes="r1")), ["groups[1] ('inner')", '"nodes"']),
    ("group parent number", _grouped(_group_entry(1, parent=3)), ["groups[1] ('inner')", '"parent"']),
    ("group collapsed text", _grouped(_group_entry(1, collapsed="no")), ["groups[1] ('inner')", '"collapsed"']),
    ("group duplicate id", _grouped(_group_entry(1, id="outer")), ["groups[1] ('outer')", "unique"]),
    ("group unknown node", _grouped(_group_entry(1, nodes=["r1", "zz"])), ["groups[1] ('inner')", "'zz'", "not a node"]),
    ("node in two groups", _grouped(_group_entry(1, nodes=["c1"])), ["groups[1] ('inner')", "'c1'", "already in group 'outer'"]),
    ("node twice in a group", _grouped(_group_entry(1, nodes=["r1", "r1"])), ["groups[1] ('inner')", "twice"]),
    ("unknown parent", _grouped(_group_entry(1, parent="nope")), ["groups[1] ('inner')", "parent 'nope'", "not a group"]),
    ("own parent", _grouped(_group_entry(0, parent="outer")), ["groups[0] ('outer')", "loop", "outer -> outer"]),
    ("parent loop", _grouped(_group_entry(0, parent="inner")), ["groups[0] ('outer')", "loop", "outer -> inner -> outer"]),
]


@pytest.mark.parametrize(("text", "words"), [(t, w) for _, t, w in BAD_GROUPS], ids=[n for n, _, _ in BAD_GROUPS])
def test_malformed_groups_raise_design_file_error(text, words):
    test_malformed_text_raises_design_file_error(text, words)


# -- atomic save --------------------------------------------------------------------------------


@pytest.mark.parametrize("failing", ["replace", "fsync"])
def test_failed_save_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch, failing):
    path = tmp_path / "design.json"
    save_design(_rich_design(), path)
    before = path.read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, failing, no_space)
    changed = _rich_design()
    changed.name = "Changed"
    with pytest.raises(DesignFileError) as caught:
        save_design(changed, path)
    monkeypatch.undo()
    message = str(caught.value)
    assert message.startswith("design.json not saved: the disk holding ")
    assert "is full" in message and "needed" in message and "unchanged" in message
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["design.json"]


def test_save_into_a_missing_folder_is_a_design_file_error(tmp_path):
    with pytest.raises(DesignFileError):
        save_design(_rich_design(), tmp_path / "missing" / "design.json")


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_save_keeps_permissions_of_the_file_it_replaces(tmp_path):
    path = tmp_path / "design.json"
    save_design(_rich_design(), path)
    path.chmod(0o640)
    save_design(_rich_design(), path)
    assert path.stat().st_mode & 0o777 == 0o640
