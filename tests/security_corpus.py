"""Escape attempts for the calls a design may make, generated from the installed packages.

Each case is a Function ``call`` (or a Module ``class`` and ``arguments``) that, if it ran, would
leave a mark: a file at the marker path (every ``SINKS`` payload really writes it: see
``test_every_sink_payload_really_writes_its_marker``) or a change of torch's global state
(``torch_state``). The families:

- ``chains``: every module outside torch, torchvision and timm that their modules import
  (``os``, ``sys``, ``subprocess``, ``numpy``...), reached by the attribute chain from the module
  that imports it (``torchvision.ops.boxes.torch.os.system``), then a payload;
- ``dunders``: ``__globals__``, ``__builtins__``, ``__class__.__init__``, ``__self__``, loaders;
- ``spellings``: getattr and friends, and unicode, whitespace and punctuation variants of sinks;
- ``torch_names``: every torch callable that is not a tensor operation (``torch.save``,
  ``torch.hub.load``, ``torch.ops.load_library``, ``torch.jit.script``, ``torch.set_*``,
  ``torch.manual_seed``, ``torch.utils.*``, ``torch._C.*``...), by its name and through another
  module's ``torch``; aten's operators that are not tensor computations;
- ``classes``: module classes outside the allowed packages, classes that compile code, and
  constructor arguments that are calls.

Large families are sampled with a fixed seed; each keeps at least one case per target.
"""

from __future__ import annotations

import random
import sys
import types
import unicodedata
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torchvision  # noqa: F401 - its modules are part of the corpus

try:
    import timm  # noqa: F401
except ImportError:  # the corpus covers what is installed
    timm = None

SEED = 19
ROOTS = ("torch", "torchvision", "timm")


@dataclass(frozen=True)
class Sink:
    """A function that writes ``marker`` when called with ``args(marker)``."""

    module: str
    name: str
    args: Callable[[str], list[Any]]


SINKS = (
    Sink("os", "system", lambda m: [f"touch {m}"]),
    Sink("os", "mkdir", lambda m: [m]),
    Sink("os", "makedirs", lambda m: [m]),
    Sink("subprocess", "run", lambda m: [["touch", m]]),
    Sink("subprocess", "call", lambda m: [["touch", m]]),
    Sink("subprocess", "check_call", lambda m: [["touch", m]]),
    Sink("subprocess", "getoutput", lambda m: [f"touch {m}"]),
    Sink("builtins", "open", lambda m: [m, "w"]),
    Sink("builtins", "exec", lambda m: [f"open({m!r}, 'w').close()"]),
    Sink("builtins", "eval", lambda m: [f"__import__('os').mkdir({m!r})"]),
    Sink("io", "open", lambda m: [m, "w"]),
    Sink("codecs", "open", lambda m: [m, "w"]),
    Sink("shutil", "copyfile", lambda m: ["/dev/null", m]),
    Sink("pathlib", "Path", lambda m: [m]),  # not a writer by itself: a chain start (Path(m).touch)
    Sink("torch", "save", lambda m: [[1, 2], m]),
    Sink("torch.serialization", "save", lambda m: [[1, 2], m]),
    Sink("numpy", "save", lambda m: [m, [1]]),
    Sink("numpy", "savetxt", lambda m: [m, [1]]),
)
WRITERS = tuple(s for s in SINKS if s.name != "Path")
SINK_MODULES = {s.module for s in SINKS}


def torch_state() -> tuple:
    """torch's process-wide settings a call might change."""
    return (torch.get_default_dtype(), torch.get_num_threads(), torch.is_grad_enabled(),
            torch.are_deterministic_algorithms_enabled(), torch.random.initial_seed(),
            bytes(torch.random.get_rng_state().numpy()), str(torch.get_default_device()))


def _loaded_modules() -> dict[str, types.ModuleType]:
    return {name: module for name, module in sorted(sys.modules.items())
            if name.split(".")[0] in ROOTS and isinstance(module, types.ModuleType)}


def _call(name: str, args: list[Any]) -> dict[str, Any]:
    return {"function": name, "args": args}


def chains(marker: str, rng: random.Random) -> list[dict[str, Any]]:
    """Every outside module an allowed package imports, reached through the module importing it."""
    reach: dict[str, list[str]] = {}  # outside module name -> chains that reach it
    for name, module in _loaded_modules().items():
        for attribute, value in list(vars(module).items()):
            if isinstance(value, types.ModuleType) and value.__name__.split(".")[0] not in ROOTS:
                reach.setdefault(value.__name__, []).append(f"{name}.{attribute}")
    cases = []
    for target, paths in sorted(reach.items()):
        path = rng.choice(paths)
        sinks = [s for s in WRITERS if s.module == target]
        if sinks:
            cases += [_call(f"{path}.{s.name}", s.args(marker)) for s in sinks]
        else:  # reach a writer from there: os through the module, or its first callable
            module = sys.modules.get(target)
            inner = [a for a, v in vars(module).items() if isinstance(v, types.ModuleType) and v.__name__ in SINK_MODULES] \
                if module else []
            if inner:
                hop = rng.choice(inner)
                for sink in (s for s in WRITERS if s.module == vars(module)[hop].__name__):
                    cases.append(_call(f"{path}.{hop}.{sink.name}", sink.args(marker)))
            else:
                callables = sorted(a for a, v in vars(module).items() if callable(v) and not a.startswith("__")) if module else []
                cases.append(_call(f"{path}.{rng.choice(callables) if callables else 'system'}", [marker]))
    return cases


ALLOWED_SAMPLES = ("torch.permute", "torch.nn.functional.relu", "operator.add", "math.sqrt",
                   "torchvision.ops.stochastic_depth.stochastic_depth", "timm.models.swin_transformer.window_reverse",
                   "torch.ops.aten.add.Tensor")
DUNDER_TAILS = ("__globals__.os.system", "__class__.__init__.__globals__.os.system", "__builtins__.open",
                "__self__.save", "__module__", "__dict__.os.system", "__call__", "__getattribute__",
                "__reduce_ex__", "__init_subclass__", "__subclasses__", "__loader__.load_module", "__spec__.loader.exec_module",
                "__closure__", "__code__.co_consts", "__wrapped__.__globals__.os.system")


def dunders(marker: str) -> list[dict[str, Any]]:
    cases = [_call(f"{base}.{tail}", [f"touch {marker}"]) for base in ALLOWED_SAMPLES for tail in DUNDER_TAILS]
    for root in ("torch", "torchvision", "timm", "operator", "math", "torch.nn.functional", "timm.layers", "torchvision.ops"):
        for tail in ("__builtins__.open", "__builtins__.exec", "__loader__.load_module", "__dict__.os.system",
                     "__spec__.loader.load_module", "sys.modules.os.system", "__class__.__getattribute__"):
            cases.append(_call(f"{root}.{tail}", [marker, "w"]))
    # attributes and methods that lead out of a tensor
    for attribute in ("__class__", "__dict__", "__globals__", "__module__", "grad_fn", "data", "_cdata", "storage"):
        cases.append({"attribute": attribute, "of": {"input": 0}})
    for method in ("__reduce_ex__", "__setstate__", "__class__", "__getattribute__", "apply_", "map_", "register_hook",
                   "backward", "storage", "untyped_storage", "share_memory_", "numpy", "tolist", "__format__"):
        cases.append({"method": method, "args": [{"input": 0}, 2]})
    return cases


def _variants(name: str) -> list[str]:
    fullwidth = "".join(chr(ord(c) + 0xFEE0) if c.isalpha() else c for c in name)
    cyrillic = name.replace("a", "\u0430").replace("o", "\u043e").replace("e", "\u0435")
    return [fullwidth, cyrillic, unicodedata.normalize("NFD", name.replace("e", "\u00e9")), f" {name}", f"{name} ",
            f"{name}\n", name.replace(".", " ."), name.replace(".", ".\t"), name.replace(".", "\u200b."),
            name.replace(".", ".."), f".{name}", f"{name}.", name.replace(".", "/"), name.replace(".", ":"),
            f"{name}()", f"{name}#", name.upper(), name.replace(".", "\u2024"), name.replace(".", "\uff0e"),
            f"{name}\x00", "\u202e" + name]


def spellings(marker: str) -> list[dict[str, Any]]:
    cases = []
    for sink in WRITERS:
        for variant in _variants(f"{sink.module}.{sink.name}"):
            cases.append(_call(variant, sink.args(marker)))
    for getter in ("builtins.getattr", "operator.attrgetter", "operator.methodcaller", "functools.reduce",
                   "operator.call", "builtins.__import__", "importlib.import_module"):
        cases.append(_call(getter, [_call("torch.permute", [{"input": 0}, [0]]), "save"]))
        cases.append(_call(getter, ["os"]))
    # a getattr on a value: operator.getitem of a module's namespace is not reachable, names are not values
    cases.append(_call("operator.getitem", [{"attribute": "__dict__", "of": {"input": 0}}, "os"]))
    cases.append({"method": "view", "args": [f"touch {marker}"], "kwargs": {"x; import os": 1}})
    cases.append({"function": "torch.permute", "args": [{"input": 0}, [0]], "kwargs": {"dims)#": 1}})
    cases.append({"tensor": f"x;open({marker!r},'w')"})
    cases.append({"module": "__class__"})
    cases.append({"input": f"0;open({marker!r},'w')"})
    cases.append({"function": "torch.permute", "args": [{"input": 0}, [0]], "function2": "os.system"})
    cases.append({"function": ["torch", "save"], "args": [[1], marker]})
    cases.append({"function": {"function": "os.system"}, "args": [marker]})
    return cases


SIDE_EFFECT_WORDS = ("save", "load", "hub", "jit", "compile", "set_", "seed", "library", "classes", "utils", "script",
                     "trace", "export", "cuda", "backends", "distributed", "multiprocessing", "serialization", "package",
                     "onnx", "profiler", "autograd", "_C", "file", "open", "ops", "_dynamo", "_inductor", "fx", "storage")


def torch_names(marker: str, rng: random.Random, sample: int = 250) -> list[dict[str, Any]]:
    """torch's callables that are not tensor operations, named directly and through other modules."""
    from cnnstudio.core.calls import is_allowed_function

    refused: list[str] = []
    for name, module in _loaded_modules().items():
        if not name.startswith("torch"):
            continue
        for attribute, value in list(vars(module).items()):
            if callable(value) and not isinstance(value, types.ModuleType) and attribute.isidentifier():
                try:
                    allowed = is_allowed_function(value)
                except Exception:  # objects whose comparison raises are not allowed either
                    allowed = False
                if not allowed:
                    refused.append(f"{name}.{attribute}")
    side = sorted(n for n in refused if any(w in n for w in SIDE_EFFECT_WORDS))
    must = ["torch.save", "torch.load", "torch.hub.load", "torch.hub.download_url_to_file", "torch.ops.load_library",
            "torch.jit.script", "torch.jit.save", "torch.jit.load", "torch.compile", "torch.set_default_dtype",
            "torch.set_num_threads", "torch.set_grad_enabled", "torch.manual_seed", "torch.seed",
            "torch.use_deterministic_algorithms", "torch.set_default_device", "torch.from_file",
            "torch.utils.cpp_extension.load_inline", "torch.classes.load_library", "torch._C._set_grad_enabled",
            "torch.serialization.load", "torch.package.PackageImporter", "torch.ops.aten.save", "torch.ops.aten.from_file",
            "torch.ops.aten._print", "torch.ops.aten.manual_seed", "torch.ops.aten.warn", "torch.ops.aten.save.default",
            "torch.ops.prims.add", "torch.ops.higher_order.cond", "torch.ops.torchvision.nms", "torch.ops.aten",
            "torch.ops.aten.add.Tensor.default", "torch.ops.aten.__getattr__"]
    names = must + rng.sample(side, min(sample, len(side))) + rng.sample(refused, min(sample // 2, len(refused)))
    arguments = {"torch.set_default_dtype": [{"dtype": "float64"}], "torch.set_num_threads": [1],
                 "torch.set_grad_enabled": [False], "torch.manual_seed": [1234], "torch.use_deterministic_algorithms": [True],
                 "torch.set_default_device": ["meta"], "torch._C._set_grad_enabled": [False],
                 "torch.ops.aten.manual_seed": [1234]}
    cases = [_call(n, arguments.get(n, [[1, 2], marker])) for n in dict.fromkeys(names)]
    throughs = [f"{m}.torch" for m, module in _loaded_modules().items() if vars(module).get("torch") is torch]
    for n in must[:12]:  # the same by chain, through another module's `torch`
        cases.append(_call(f"{rng.choice(throughs)}{n.removeprefix('torch')}", arguments.get(n, [[1, 2], marker])))
    aten = sorted({s.name.split("::")[1] for s in torch._C._jit_get_all_schemas() if s.name.startswith("aten::")})
    from cnnstudio.core.calls import aten_allowed

    refused_aten = [n for n in aten if not aten_allowed(n)]
    cases += [_call(f"torch.ops.aten.{n}", [marker]) for n in rng.sample(refused_aten, min(60, len(refused_aten)))]
    return cases


def classes(marker: str, rng: random.Random) -> list[tuple[str, dict[str, Any]]]:
    """Module nodes: (class, arguments) that must be refused."""
    from torch import nn

    outside = sorted({f"{c.__module__}.{c.__qualname__}" for c in _subclasses(nn.Module)
                      if not c.__module__.startswith(("torch.nn.modules.", "torchvision.", "timm."))
                      and "<" not in c.__qualname__ and "." not in c.__qualname__})
    cases: list[tuple[str, dict[str, Any]]] = [(n, {}) for n in rng.sample(outside, min(60, len(outside)))]
    cases += [("torch.fx.GraphModule", {}), ("torch.jit.ScriptModule", {}), ("torch.jit.RecursiveScriptModule", {}),
              ("subprocess.Popen", {"args": ["touch", marker]}), ("pathlib.Path", {}), ("builtins.open", {"file": marker}),
              ("torch.nn.modules.conv.torch.jit.ScriptModule", {}), ("torchvision.models.resnet.torch.fx.GraphModule", {}),
              ("torch.nn.modules.conv.os.system", {}), ("torch.nn.Identity.__class__", {}),
              ("torch.nn.Identity", {"x": _call("os.system", [f"touch {marker}"])}),
              ("torch.nn.Identity", {"x": _call("torch.save", [[1], marker])}),
              ("torch.nn.Identity", {"x": {"class": "subprocess.Popen"}}),
              ("torch.nn.Identity", {"x": {"input": 0}}),
              ("torch.nn.Identity", {"x; import os": 1}),
              ("torch.nn.Ｉdentity", {}), ("torch.nn.Identity ", {})]
    return cases


def _subclasses(cls: type) -> list[type]:
    found, stack = [], [cls]
    while stack:
        for sub in stack.pop().__subclasses__():
            if sub not in found:
                found.append(sub)
                stack.append(sub)
    return found


def function_cases(marker: str) -> list[dict[str, Any]]:
    """Every Function call of the corpus, in a fixed order."""
    rng = random.Random(SEED)
    with warnings.catch_warnings():  # reading some of torch's deprecated names warns
        warnings.simplefilter("ignore")
        return chains(marker, rng) + dunders(marker) + spellings(marker) + torch_names(marker, rng)
