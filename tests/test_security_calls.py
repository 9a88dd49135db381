"""No spelling of a call in a design file runs anything but a tensor operation (issue 19).

The corpus (``security_corpus.py``) is generated from the installed torch, torchvision and timm:
every outside module they import reached by attribute chains, dunder chains, getattr spellings,
unicode and whitespace variants, and every torch callable that is not a tensor operation. Each
case goes through ``analyze`` (all of them), and a sample of each family through ``build_model``
and ``cnnstudio export`` (code and torch.export); a file the payload would write must never
appear and torch's global settings must not change. Hypothesis then builds JSON call trees.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import inspect
import json
import random
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import cnnstudio
import security_corpus as corpus
from cnnstudio.cli import main
from cnnstudio.core import calls
from cnnstudio.core.analysis import analyze
from cnnstudio.core.compiler import CompileError
from cnnstudio.core.designfile import save_design
from cnnstudio.export.opaque_code import expression_source

pytestmark = pytest.mark.security
MARKER = "/tmp/cnnstudio-security-marker-19"  # fixed: the corpus is generated once, at import


@pytest.fixture(autouse=True)
def no_marker() -> None:
    """The marker is absent before each test and must still be absent after it."""
    for path in Path("/tmp").glob("cnnstudio-security-marker-19*"):
        path.unlink() if path.is_file() else path.rmdir()
    yield
    assert not list(Path("/tmp").glob("cnnstudio-security-marker-19*")), "a payload ran"


FUNCTION_CASES = corpus.function_cases(MARKER)
CLASS_CASES = corpus.classes(MARKER, random.Random(corpus.SEED))


def _function_design(call: Any) -> cnnstudio.Design:
    design = cnnstudio.Design("evil")
    design.add_node("Input", {"shape": [3, 4, 4]}, "x")
    design.add_node("Function", {"call": call}, "f")
    design.connect("x", "f")
    return design


def _module_design(cls: str, arguments: dict[str, Any]) -> cnnstudio.Design:
    design = cnnstudio.Design("evil")
    design.add_node("Input", {"shape": [3, 4, 4]}, "x")
    design.add_node("Module", {"class": cls, "arguments": arguments}, "f")
    design.connect("x", "f")
    return design


def _named(call: Any) -> str:
    return call.get("function", "") if isinstance(call, dict) and isinstance(call.get("function"), str) else ""


def test_every_sink_payload_really_writes_its_marker(tmp_path: Path) -> None:
    """The corpus is not vacuous: called directly, each payload writes the marker."""
    for sink in corpus.WRITERS:
        marker = tmp_path / f"{sink.module}.{sink.name}"
        function = getattr(importlib.import_module(sink.module), sink.name)
        result = function(*sink.args(str(marker)))
        if hasattr(result, "close"):
            result.close()
        assert list(tmp_path.glob(f"{marker.name}*")), sink


def test_the_corpus_covers_every_family() -> None:
    names = [_named(c) for c in FUNCTION_CASES]
    for word in ("os.system", "subprocess", "builtins", "torch.save", "torch.hub", "torch.jit", "torch.ops.load_library",
                 "torch.set_", "torch.manual_seed", "torch.utils", "torch._C", "__globals__", "__builtins__", "getattr",
                 "torch.ops.aten", "torchvision.", "timm."):
        assert any(word in n for n in names), word
    assert any("\uff53" in n or "\u0430" in n for n in names) and any(n.strip() != n for n in names)
    assert len(FUNCTION_CASES) > 500


def test_every_case_is_an_error_on_its_node_and_runs_nothing() -> None:
    state = corpus.torch_state()
    for call in FUNCTION_CASES:
        errors = [i.message for i in analyze(_function_design(call)).errors if i.node == "f"]
        assert errors and errors[0].startswith("Function: "), call
        if _refused(name := _named(call)):  # the sentence names the call
            assert name[:40] in errors[0] or repr(name)[1:40] in errors[0], (name, errors[0])
    for cls, arguments in CLASS_CASES:
        errors = [i.message for i in analyze(_module_design(cls, arguments)).errors if i.node == "f"]
        assert errors and errors[0].startswith("Module: "), cls
    assert corpus.torch_state() == state


def _refused(name: str) -> bool:
    try:
        calls.resolve_function(name)
    except calls.CallError:
        return True
    return False


def _sample() -> list[Any]:
    """A few cases of every family, and every writer by its plain name and through a chain."""
    rng = random.Random(corpus.SEED)
    writers = [c for c in FUNCTION_CASES if any(_named(c).endswith(f"{s.module}.{s.name}") or
                                                _named(c).endswith(f".{s.module.rpartition('.')[2]}.{s.name}")
                                                for s in corpus.WRITERS)]
    return list({json.dumps(c): c for c in rng.sample(writers, min(25, len(writers))) +
                 rng.sample(FUNCTION_CASES, 25)}.values())


@pytest.mark.parametrize("index", range(50))
def test_a_sample_through_build_model_and_export(index: int, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    sample = _sample()
    call = sample[index % len(sample)]
    design = _function_design(call)
    with pytest.raises(CompileError, match="f: "):
        cnnstudio.build_model(design)
    save_design(design, tmp_path / "evil.json")
    for fmt in ("code", "export"):
        out = tmp_path / f"out.{fmt}"
        assert main(["export", str(tmp_path / "evil.json"), "-f", fmt, "--random-weights", "-o", str(out)]) == 1
        err = capsys.readouterr().err
        assert "Traceback" not in err and "f:" in err, err
        assert not out.exists()


@pytest.mark.parametrize(("cls", "arguments"), CLASS_CASES[-17:])
def test_module_classes_and_arguments_outside_the_list(cls: str, arguments: dict, tmp_path: Path) -> None:
    design = _module_design(cls, arguments)
    with pytest.raises(CompileError, match="f: "):
        cnnstudio.build_model(design)
    save_design(design, tmp_path / "evil.json")
    assert main(["export", str(tmp_path / "evil.json"), "-f", "code", "--random-weights", "-o", str(tmp_path / "m.py")]) == 1
    assert not (tmp_path / "m.py").exists()


def test_a_class_argument_is_a_module_class_on_the_list_and_exports_as_its_name(tmp_path: Path) -> None:
    arguments = {"in_channels": 3, "out_channels": 4, "kernel_size": 3, "norm_layer": {"class": "torch.nn.BatchNorm2d"},
                 "activation_layer": {"class": "torch.nn.ReLU"}}
    design = _module_design("torchvision.ops.misc.Conv2dNormActivation", arguments)
    assert not analyze(design).errors
    model = cnnstudio.build_model(design)
    assert isinstance(model.f[1], torch.nn.BatchNorm2d) and isinstance(model.f[2], torch.nn.ReLU)
    save_design(design, tmp_path / "ok.json")
    assert main(["export", str(tmp_path / "ok.json"), "-f", "code", "--random-weights", "-o", str(tmp_path / "ok.py")]) == 0
    assert "norm_layer=torch.nn.BatchNorm2d, activation_layer=torch.nn.ReLU" in (tmp_path / "ok.py").read_text()


def test_what_importers_write_is_on_the_list() -> None:
    """The functions importers write today resolve: timm's and torchvision's window functions too."""
    for name in ("timm.models.swin_transformer.window_reverse", "timm.models.maxxvit.grid_reverse",
                 "torchvision.models.swin_transformer._get_relative_position_bias", "torch.nn.functional.gelu",
                 "operator.getitem", "math.sqrt", "torch.ops.aten.conv2d.default", "torch.ops.aten.sym_size.int"):
        if name.startswith("timm.") and "timm" not in sys.modules and not importlib.util.find_spec("timm"):
            continue
        assert calls.is_allowed_function(calls.resolve_function(name)), name


# -- hypothesis: generated call trees ----------------------------------------------------------
NAMES = sorted({_named(c) for c in FUNCTION_CASES if _named(c)})
GOOD = ["torch.permute", "torch.add", "torch.nn.functional.relu", "operator.getitem", "operator.add", "math.sqrt",
        "torch.ops.aten.mul.Tensor", "torch.flatten", "torch.cat"]
names = st.sampled_from(GOOD + NAMES) | st.text(max_size=30)
keys = st.sampled_from(["input", "tensor", "tuple", "slice", "ellipsis", "float", "dtype", "memory_format", "attribute",
                        "of", "function", "method", "module", "args", "kwargs", "class"]) | st.text(max_size=8)
leaves = (st.none() | st.booleans() | st.integers(-3, 3) | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=12)
          | st.builds(lambda i: {"input": i}, st.integers(-1, 2) | st.text(max_size=3))
          | st.builds(lambda t: {"tensor": t}, st.sampled_from(["w", "x;1", "__class__"]))
          | st.builds(lambda d: {"dtype": d}, st.sampled_from(["float32", "int64", "save", "__class__"]))
          | st.builds(lambda m: {"memory_format": m}, st.sampled_from(["contiguous_format", "channels_last", "save",
                                                                      "__class__", "strided"]))
          | st.builds(lambda f: {"float": f}, st.sampled_from(["inf", "nan", "1e3", "x", "__import__('os')"])))


def _extend(children):
    return (st.lists(children, max_size=3)
            | st.builds(lambda v: {"tuple": v}, st.lists(children, max_size=3))
            | st.builds(lambda v: {"slice": v}, st.lists(children, max_size=4))
            | st.builds(lambda a, v: {"attribute": a, "of": v}, st.sampled_from(sorted(calls.ATTRIBUTES) + ["__dict__", "data"]), children)
            | st.builds(lambda n, a, k: {"function": n, "args": a, "kwargs": k}, names, st.lists(children, max_size=3),
                        st.dictionaries(st.sampled_from(["dim", "dims", "x; y", "__class__", "ｄim"]), children, max_size=2))
            | st.builds(lambda m, a: {"method": m, "args": a},
                        st.sampled_from(["view", "flatten", "add", "__add__", "apply_", "register_hook", "__reduce_ex__",
                                         "numpy", "storage", "__class__", "__getattribute__"]) | st.text(max_size=8),
                        st.lists(children, max_size=3))
            | st.dictionaries(keys, children, max_size=3))


expressions = st.recursive(leaves, _extend, max_leaves=12)
SOURCE_NAMES = {"torch", "operator", "math", "torchvision", "timm", "owned", "parts", "float", "slice"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(expressions)
@example({"ellipsis": {"function": "operator.__builtins__.exec", "args": [], "kwargs": {}}})  # found in CI: was accepted
def test_generated_call_trees_are_refused_or_only_tensor_operations(expression: Any) -> None:
    state = corpus.torch_state()
    try:
        calls.check(expression, {"w": {}}, {})
    except calls.CallError:
        accepted = False
    else:
        accepted = True
    errors = analyze(_function_design(expression)).errors  # never raises: a bad call is the node's error
    if not accepted:
        assert any(i.node == "f" for i in errors)
        return
    _assert_only_allowed(expression)
    tree = ast.parse(expression_source(expression), mode="eval")  # the code export writes nothing else
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            assert node.id in SOURCE_NAMES or re.fullmatch(r"x\d+", node.id), node.id
    assert corpus.torch_state() == state


def _assert_only_allowed(e: Any) -> None:
    if isinstance(e, list):
        for v in e:
            _assert_only_allowed(v)
    elif isinstance(e, dict):
        if "function" in e:
            assert calls.is_allowed_function(calls.resolve_function(e["function"]))
        if "method" in e:
            assert e["method"] in calls.tensor_methods() and e["method"] not in calls.REFUSED_METHODS
        for v in e.values():
            _assert_only_allowed(v)


NAMES_THAT_ARE_CODE = [f'x"""\nimport os; os.mkdir({MARKER!r})\n"""', 'x\\', f'x"""\rimport os; os.mkdir({MARKER!r})  #',
                       f"x'''\u2028import os; os.mkdir({MARKER!r})", 'R\u00e9seau "quoted" \\n', f'"""{{os.mkdir({MARKER!r})}}']


@pytest.mark.parametrize("name", NAMES_THAT_ARE_CODE)
def test_a_design_name_never_becomes_code_in_the_exported_source(name: str, tmp_path: Path) -> None:
    design = cnnstudio.Design(name)
    design.add_node("Input", {"shape": [4]}, "x")
    design.add_node("Linear", {"out_features": 2}, "fc")
    design.connect("x", "fc")
    save_design(design, tmp_path / "named.json")
    assert main(["export", str(tmp_path / "named.json"), "-f", "code", "--random-weights", "-o", str(tmp_path / "named.py")]) == 0
    spec = importlib.util.spec_from_file_location("exported_named", tmp_path / "named.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # defines the model, runs nothing else
    assert module.__doc__.startswith(name) and not Path(MARKER).exists()


def _leaf_of_this_module(x: torch.Tensor) -> torch.Tensor:
    """A function its module marks as a tracing leaf: an importer sees it as one call."""
    return x * 2


torch.fx.wrap("_leaf_of_this_module")


class CallsItsOwnLeaf(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _leaf_of_this_module(x) + 1


def test_an_importer_never_writes_a_call_the_checker_would_refuse() -> None:
    """torch.fx sees the leaf as one call, which a design may not make, so that route refuses it;
    torch.export (the fallback) reads through the function, so no design names it."""
    import json

    from cnnstudio.importers import import_model

    imported = import_model("module:test_security_calls:CallsItsOwnLeaf", [(3, 4, 4)])
    assert "may not call 'test_security_calls._leaf_of_this_module'" in imported.fallback_reasons[0]
    assert imported.tracer == "torch.export" and imported.verification.exact
    assert "_leaf_of_this_module" not in json.dumps([node.params for node in imported.design.nodes])


BENIGN_ARGUMENTS = {"pretrained_window_size", "pretrained_window_sizes", "grad_checkpointing", "use_checkpoint",
                    "init_weights", "bbox_reg_weights", "num_paths"}


def test_no_module_class_a_design_may_build_takes_a_file_a_url_or_pretrained_weights() -> None:
    """A Module node's arguments are plain JSON, so a constructor could only reach a file, the
    network or a checkpoint through an argument such as these: none of the allowed classes has one."""
    found = []
    for cls in corpus._subclasses(torch.nn.Module):
        if not cls.__module__.startswith(calls.MODULE_HOMES):
            continue
        try:
            parameters = inspect.signature(cls.__init__).parameters
        except (TypeError, ValueError):
            continue
        found += [f"{cls.__module__}.{cls.__qualname__}({name})" for name in parameters
                  if re.search(r"pretrain|checkpoint|file|url|weights|download|hub|(?<!drop_)path", name)
                  and "drop_path" not in name and name not in BENIGN_ARGUMENTS]
    assert not found
