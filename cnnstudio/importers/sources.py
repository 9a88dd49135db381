"""Where an imported model comes from: a SOURCE string to a torch module and its input shape.

``torchvision:NAME``, ``timm:NAME``, ``module:PACKAGE.MODULE:CALLABLE``, ``FILE.onnx`` (through
onnx2torch) and ``FILE.pt2`` (a saved torch.export program, read only when it holds nothing to
unpickle, compile or evaluate, and only when every call of its graph is one a design may make). Weights come from a state-dict file,
or ``DEFAULT`` for the library's pretrained weights (a clear error offline). timm and onnx2torch
are optional extras, imported only for their sources.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import inspect
import io
import json
import logging
import math
import re
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from torch import Tensor, nn

from cnnstudio.core.weights import WeightsError, read_state_dict
from cnnstudio.importers.graph import ImportFailed

Shape = tuple[int, ...]
DEFAULT = "DEFAULT"
IMAGE = (3, 224, 224)
TORCHVISION_INPUTS = {"inception_v3": (3, 299, 299), "quantized_inception_v3": (3, 299, 299)}
VIDEO = (3, 16, 224, 224)  # channels, frames, height, width: the clips torchvision's video models take (MViT only these)
# Auxiliary classifiers that run only while training, found by their class (so the quantizable
# builds, whose heads subclass these, keep them too), with the weight of each one's loss:
# GoogLeNet's paper weighs its two by 0.3; Inception v3's one is weighed 0.4, as in TF-slim.
AUX_HEADS = {"torchvision.models.googlenet.InceptionAux": 0.3, "torchvision.models.inception.InceptionAux": 0.4}


def auxiliary_loss_weights(module: nn.Module) -> list[float] | None:
    """The loss weight of each auxiliary head of ``module``, in order; None when it has none."""
    import torchvision  # noqa: F401 - the heads' classes

    classes = {importlib.import_module(path.rpartition(".")[0]).__dict__[path.rpartition(".")[2]]: weight
               for path, weight in AUX_HEADS.items()}
    weights = [next(w for c, w in classes.items() if isinstance(m, c)) for m in module.modules()
               if isinstance(m, tuple(classes))]
    return weights or None


@dataclass
class Loaded:
    module: nn.Module
    shapes: list[Shape] | None  # None: the source does not know; --input must say
    name: str
    weights_report: str = ""  # what loaded, when weights were given
    aux_loss_weights: list[float] | None = None  # its auxiliary classifiers' loss weights, when it has some
    trace_advice: str = ""  # what to do when torch.fx cannot trace it, for this kind of source
    source_check: str = ""  # how the module was checked against the source file, when it was


def torchvision_names() -> list[str]:
    """Every model torchvision builds: classification first, then segmentation and the rest."""
    import torchvision

    return sorted(torchvision.models.list_models(), key=lambda n: (n not in classification_names(), n))


def classification_names() -> set[str]:
    import torchvision

    return set(torchvision.models.list_models(module=torchvision.models))


def timm_names() -> list[str]:
    """timm's model names, or none when timm is not installed."""
    try:
        import timm
    except ImportError:
        return []
    return timm.list_models()


def _unknown(kind: str, name: str, names: list[str]) -> ImportFailed:
    hint = difflib.get_close_matches(name, names, n=3)
    extra = f"; did you mean {', '.join(hint)}?" if hint else ""
    return ImportFailed(f"{kind} has no model '{name}'{extra}")


def load_source(source: str, weights: str | None = None) -> Loaded:
    if source.startswith("torchvision:"):
        loaded = _torchvision(source.removeprefix("torchvision:"), weights == DEFAULT)
    elif source.startswith("timm:"):
        loaded = _timm(source.removeprefix("timm:"), weights == DEFAULT)
    elif source.startswith("module:"):
        loaded = _module(source.removeprefix("module:"))
    elif source.lower().endswith(".onnx"):
        loaded = _onnx(Path(source))
    elif source.lower().endswith(".pt2"):
        loaded = _exported(Path(source))
    else:
        raise ImportFailed(
            f"cannot tell what '{source}' is: give torchvision:NAME, timm:NAME, module:PACKAGE.MODULE:CALLABLE, "
            "a .onnx file or a .pt2 file"
        )
    if weights == DEFAULT and not source.startswith(("torchvision:", "timm:")):
        raise ImportFailed("DEFAULT (pretrained) weights exist for torchvision:NAME and timm:NAME only")
    if weights and weights != DEFAULT:
        loaded.weights_report = load_into(loaded.module, weights)
    return loaded


def _dims(tensor: Tensor) -> str:
    return "x".join(map(str, tensor.shape)) or "a scalar"


def load_into(module: nn.Module, path: str) -> str:
    """Load a state-dict file into the source model (before conversion); an error if nothing matches."""
    state = read_state_dict(path)
    own = module.state_dict()
    wrong = [f"{name} is {_dims(tensor)} in the file but {_dims(own[name])} in the model"
             for name, tensor in state.items() if name in own and tensor.shape != own[name].shape]
    if wrong:
        more = f" (and {len(wrong) - 20} more)" if len(wrong) > 20 else ""
        raise WeightsError(f"{path} does not fit the model, so nothing was loaded: {'; '.join(wrong[:20])}{more}")
    result = module.load_state_dict(state, strict=False)
    loaded = len(state) - len(result.unexpected_keys)
    if state and not loaded:
        raise WeightsError(
            f"none of the {len(state)} tensor(s) of {path} is a weight of the model, so nothing was loaded; "
            f"the file has: {', '.join(list(state)[:10])}; the model has: {', '.join(list(module.state_dict())[:10])}"
        )
    lines = [f"loaded {loaded} tensor(s) from {path}"]
    if result.missing_keys:
        lines.append("not in the file (left random): " + ", ".join(result.missing_keys))
    if result.unexpected_keys:
        lines.append("in the file but not in the model: " + ", ".join(result.unexpected_keys))
    return "\n".join(lines)


def _torchvision(name: str, pretrained: bool) -> Loaded:
    import torchvision

    if name not in torchvision.models.list_models():
        raise _unknown("torchvision", name, torchvision.models.list_models())
    if pretrained:  # torchvision sets what its weights expect (GoogLeNet's input transform, say)
        try:
            module = _with_aux_heads(name, weights="DEFAULT")
        except (OSError, RuntimeError) as error:  # urllib's URLError is an OSError
            raise WeightsError(
                f"the pretrained weights of {name} could not be downloaded ({error}). They are downloaded once "
                "into the torch cache and need an internet connection."
            ) from None
    else:
        options = {}
        if "weights_backbone" in inspect.signature(torchvision.models.get_model_builder(name)).parameters:
            options["weights_backbone"] = None  # segmentation models would download their backbone's
        module = _with_aux_heads(name, weights=None, **options)
    video = name in torchvision.models.list_models(module=torchvision.models.video)
    shape = TORCHVISION_INPUTS.get(name, VIDEO if video else IMAGE)
    return Loaded(module, [shape], name, aux_loss_weights=auxiliary_loss_weights(module))


def _with_aux_heads(name: str, **options) -> nn.Module:
    """torchvision's model, with its auxiliary classifiers if it has an ``aux_logits`` switch."""
    import torchvision

    try:
        return torchvision.models.get_model(name, aux_logits=True, init_weights=False, **options)
    except TypeError:  # no such switch: a model without auxiliary heads
        return torchvision.models.get_model(name, **options)


def _timm(name: str, pretrained: bool) -> Loaded:
    try:
        import timm
    except ImportError:
        raise ImportFailed("timm:NAME needs timm: pip install 'cnnstudio[timm]'") from None
    if name not in timm.list_models():
        raise _unknown("timm", name, timm.list_models())
    try:
        module = timm.create_model(name, pretrained=pretrained)
    except (OSError, RuntimeError) as error:
        raise WeightsError(
            f"the pretrained weights of {name} could not be downloaded ({error}); they need an internet connection"
        ) from None
    size = tuple(module.pretrained_cfg.get("input_size", IMAGE))
    return Loaded(module, [size], name)


def _module(reference: str) -> Loaded:
    path, _, attribute = reference.partition(":")
    if not path or not attribute:
        raise ImportFailed(f"module:{reference}: write module:PACKAGE.MODULE:CALLABLE, e.g. module:mynets.small:Net")
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")  # the current folder, as `python -m` does
    try:
        namespace = importlib.import_module(path)
    except ImportError as error:
        raise ImportFailed(f"module:{reference}: cannot import {path} ({error})") from None
    factory = getattr(namespace, attribute, None)
    if not callable(factory):
        raise ImportFailed(f"module:{reference}: {path} has no class or function '{attribute}'")
    try:
        module = factory()
    except TypeError as error:
        raise ImportFailed(f"module:{reference}: {attribute}() needs arguments ({error}); give a factory that takes none") from None
    if not isinstance(module, nn.Module):
        raise ImportFailed(f"module:{reference}: {attribute}() returned a {type(module).__name__}, not a torch nn.Module")
    return Loaded(module, None, attribute)


def _onnx(path: Path) -> Loaded:
    try:
        import onnx
        from onnx2torch import convert
    except ImportError:
        raise ImportFailed("FILE.onnx needs onnx2torch: pip install 'cnnstudio[onnx]'") from None
    from cnnstudio.importers import onnx_ops

    try:
        model = onnx.load(str(path))
    except (OSError, ValueError, onnx.onnx_cpp2py_export.checker.ValidationError) as error:
        raise ImportFailed(f"{path}: cannot read the ONNX file ({error})") from None
    onnx_ops.register()
    try:
        module = convert(_for_onnx2torch(model))
    except onnx_ops.Unsupported as error:
        raise ImportFailed(f"{path}: cannot be converted to PyTorch: {error}") from None
    except NotImplementedError as error:  # onnx2torch names the operator and version it lacks
        raise ImportFailed(f"{path}: onnx2torch cannot convert it: {_onnx2torch_words(str(error))}") from None
    except Exception as error:
        raise ImportFailed(f"{path}: onnx2torch cannot convert it: {type(error).__name__}: {error}") from None
    initializers = {i.name for i in model.graph.initializer}
    shapes = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
        shapes.append(tuple(dims[1:]) if None not in dims[1:] else None)
    known = None if None in shapes else shapes
    checked = _against_onnxruntime(path, model, module, known)
    return Loaded(module, known, path.stem, trace_advice=ONNX_TRACE_ADVICE, source_check=checked)


ONNX_TRACE_ADVICE = ("an ONNX file that computes its shapes while it runs (Shape, Gather, Concat feeding a Reshape "
                     "or Pad) cannot be traced: export it again with torch.onnx.export(..., dynamo=True), which "
                     "writes those shapes as constants, or simplify it with onnxsim")


def _onnx2torch_words(message: str) -> str:
    """onnx2torch's 'Converter is not implemented (OperationDescription(...))' as a sentence."""
    found = re.search(r"operation_type='(\w+)', version=(\d+)", message)
    return f"it has no conversion for the operator {found[1]} of opset {found[2]}" if found else message


def _for_onnx2torch(model):
    """The model as onnx2torch reads it. torch's exporter writes Reshape with allowzero=1, which
    onnx2torch refuses; with no empty axes (a batch of at least one sample) 0 and 1 agree.
    onnx2torch keeps an initializer under its own name only while no node or input has that name
    (it fails with a KeyError otherwise), so initializers are given names nothing else has."""
    for node in model.graph.node:
        if node.op_type == "Reshape":
            for attribute in node.attribute:
                if attribute.name == "allowzero":
                    attribute.i = 0
    graph = model.graph
    initializers = {i.name for i in graph.initializer}
    for value in [v for v in graph.input if v.name in initializers]:  # an old IR's inputs with defaults
        graph.input.remove(value)
    taken = {n.name for n in graph.node} | {v.name for v in graph.input} | {o for n in graph.node for o in n.output}
    renamed: dict[str, str] = {}
    for index, initializer in enumerate(graph.initializer):
        new = f"initializer_{index}"
        while new in taken:
            new += "_"
        renamed[initializer.name], initializer.name = new, new
    for node in graph.node:
        node.input[:] = [renamed.get(name, name) for name in node.input]
    for value in graph.output:
        value.name = renamed.get(value.name, value.name)
    return model


def _against_onnxruntime(path: Path, model, module: nn.Module, shapes: list[Shape] | None) -> str:
    """Run the converted module and onnxruntime on the same probe and compare every output: the
    design is verified against the module, so the module must be the ONNX file. Returns what was
    checked ("" when onnxruntime is not installed or the input shapes are not known)."""
    try:
        import onnxruntime
    except ImportError:
        return ""
    if not shapes:
        return ""
    import numpy as np
    import torch

    from cnnstudio.importers.routes import MAX_SAMPLE
    from cnnstudio.importers.verify import _differs, _relative, probe_inputs

    if sum(2 * math.prod(shape) for shape in shapes) > MAX_SAMPLE:  # the import's own shape pass says why
        return f"not checked against onnxruntime (its inputs, {' and '.join('x'.join(map(str, s)) for s in shapes)}, are too large to run)"
    inputs = probe_inputs(shapes, 2)
    names = [v.name for v in model.graph.input if v.name not in {i.name for i in model.graph.initializer}]
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        expected = session.run(None, {n: x.numpy() for n, x in zip(names, inputs)})
    except Exception as error:  # onnxruntime refuses the file or the probe: nothing to compare with
        return f"not checked against onnxruntime ({type(error).__name__}: {str(error).splitlines()[0][:120]})"
    with torch.no_grad():
        got = module.eval()(*inputs)
    got = list(got) if isinstance(got, (tuple, list)) else [got]
    for name, mine, want in zip([o.name for o in model.graph.output], got, expected):
        error, scale = _relative(mine, torch.from_numpy(np.asarray(want)))
        if _differs(error, scale):
            raise ImportFailed(f"{path}: its conversion to PyTorch (onnx2torch) computes something else than the "
                               f"ONNX file run by onnxruntime: output '{name}' differs by {error:.3g} on values up "
                               f"to {scale:.3g}, so it was not imported")
    return f"the PyTorch conversion computes what onnxruntime computes for the file ({len(expected)} output(s))"


def _exported(path: Path) -> Loaded:
    import torch

    from cnnstudio.core.calls import is_allowed_function

    if not path.is_file():
        raise ImportFailed(f"{path}: no such file" if not path.exists() else f"{path}: not a file")
    try:
        with _quiet():
            check_archive(path)
            program = torch.export.load(str(path))
    except ImportFailed:
        raise
    except Exception as error:  # a damaged archive: torch's own words, one line
        raise ImportFailed(f"{path}: not a torch.export program ({type(error).__name__}: "
                           f"{(str(error).strip().splitlines() or [''])[0][:200]})") from None
    for graph_module in program.graph_module.modules():
        for node in getattr(getattr(graph_module, "graph", None), "nodes", ()):
            if node.op == "call_function" and not is_allowed_function(node.target):
                raise ImportFailed(f"{path}: its graph calls {node.target}, which a design may not call")
    shapes = [tuple(spec.arg.name and program.graph_module.graph.find_nodes(op="placeholder", target=spec.arg.name)[0]
                    .meta["val"].shape[1:])
              for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    from cnnstudio.importers.routes import program_module

    return Loaded(program_module(program), [tuple(int(v) for v in s) for s in shapes], path.stem)


# The names torch.export's reader accepts in a shape expression (sympy evaluates that text as Python).
SHAPE_FUNCTIONS = frozenset(
    "FloorDiv ModularIndexing Where PythonMod Mod CleanDiv CeilToInt FloorToInt CeilDiv LShift RShift PowByNatural "
    "FloatPow FloatTrueDiv IntTrueDiv IsNonOverlappingAndDenseIndicator TruncToFloat TruncToInt RoundToInt RoundDecimal "
    "ToFloat Identity Max Min Abs sqrt Symbol Integer Rational Float Add Mul Pow".split()
)
SHAPE_ASSUMPTIONS = frozenset("positive negative nonnegative nonpositive integer real finite zero nonzero".split())
_SHAPE_SYMBOL = re.compile(r"[a-z]+[0-9]+")
_SHAPE_TEXT = re.compile(r"[a-z]+[0-9]+|[0-9.eE+-]+")  # a symbol's or a number's name, as srepr writes them
_SHAPE_NODES = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Load, ast.operator,
                ast.unaryop, ast.boolop, ast.cmpop)
# Names torch writes into the Python code it generates for the program (a placeholder's name is a
# parameter of ``forward``): each must be a plain dotted name, and no text may break a line.
ARCHIVE_NAME_KEYS = frozenset("name parameter_name buffer_name tensor_constant_name custom_obj_name target fqn".split())
ARCHIVE_NAME_TABLES = frozenset(
    "tensor_values sym_int_values sym_bool_values sym_float_values custom_obj_values range_constraints".split())
_ARCHIVE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_]+)*")
_LINE_BREAKS = frozenset("\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029\x00")
MAX_ARCHIVE_JSON = 256 * 2**20  # bytes of one JSON part of an archive read into memory


def check_archive(path: Path) -> None:
    """Refuse a .pt2 that ``torch.export.load`` would unpickle (``use_pickle`` weights or constants,
    Python or TorchScript objects, the old pickled format, sample inputs that are more than tensors),
    load native code from (AOTInductor) or evaluate (shape expressions are Python text for sympy)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
            roots = [n.removesuffix("archive_version") for n in names if n.endswith("archive_version")]
            if len(roots) != 1:
                raise ImportFailed(f"{path}: not a torch.export program of this torch's format (older archives are "
                                   "read with pickle, which could run code; save it again with torch.export.save)")
            for name in names:
                _check_part(path, archive, name, name.removeprefix(roots[0]) if name.startswith(roots[0]) else name)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise ImportFailed(f"{path}: not a torch.export program (not a readable zip archive: {error})") from None


def _check_part(path: Path, archive, name: str, part: str) -> None:
    refuse = "so it was not opened: loading it could run code"
    if part.startswith("data/aotinductor/"):
        raise ImportFailed(f"{path}: holds AOTInductor compiled code (a native library), {refuse}")
    if part.startswith(("data/weights/", "data/constants/")) and part.endswith(".pt"):
        raise ImportFailed(f"{path}: holds its weights as a pickle (an old archive), {refuse}")
    if part.startswith("data/sample_inputs/"):
        import torch

        saved_on: set[str] = set()  # the devices its tensors were saved from, read onto the CPU
        try:
            torch.load(io.BytesIO(archive.read(name)), weights_only=True,
                       map_location=lambda storage, location: saved_on.add(location) or storage)
        except Exception:
            raise ImportFailed(f"{path}: its sample inputs hold Python objects besides tensors, {refuse}") from None
        gpu = sorted(device for device in saved_on if device.startswith("cuda"))
        if gpu and not torch.cuda.is_available():
            raise ImportFailed(f"{path}: was exported from a model on a GPU ({gpu[0]}), and torch.export loads it only "
                               "where there is one; export it again after model.cpu(), or import it on a machine "
                               "with a GPU")
    elif part.endswith("_config.json") and part.startswith(("data/weights/", "data/constants/")):
        for key, entry in (_json_part(path, archive, name).get("config") or {}).items():
            if not isinstance(entry, dict) or entry.get("use_pickle") is not False:
                raise ImportFailed(f"{path}: its tensor '{str(key)[:80]}' is stored as a pickle, {refuse}")
            if part.startswith("data/constants/") and not str(entry.get("path_name", "")).startswith("tensor_"):
                raise ImportFailed(f"{path}: its constant '{str(key)[:80]}' is a Python or TorchScript object, {refuse}")
    elif part.startswith("models/") and part.endswith(".json"):
        for key, text in _strings(_json_part(path, archive, name)):
            if key == "expr_str" and not _plain_shape_expression(text):
                raise ImportFailed(f"{path}: a shape expression is not arithmetic on sizes ({text[:80]!r}), {refuse}")
            if (key in ARCHIVE_NAME_KEYS and text and not _ARCHIVE_NAME.fullmatch(text)) or \
                    any(c in _LINE_BREAKS for c in text) or ("\n" in text and key != "stack_trace"):
                raise ImportFailed(f"{path}: the name or text {text[:80]!r} is not a plain name (torch writes names "
                                   f"into Python code it runs), {refuse}")


def _json_part(path: Path, archive, name: str) -> dict:
    if archive.getinfo(name).file_size > MAX_ARCHIVE_JSON:
        raise ImportFailed(f"{path}: its part {name} is larger than {MAX_ARCHIVE_JSON >> 20} MB")
    try:
        data = json.loads(archive.read(name))
    except (ValueError, RecursionError):
        raise ImportFailed(f"{path}: its part {name} is not valid JSON") from None
    if not isinstance(data, dict):
        raise ImportFailed(f"{path}: its part {name} is not a JSON object")
    return data


def _strings(data) -> list[tuple[str, str]]:
    """Every (key, text) of a serialized program, names used as keys as ("name", key) (walked
    without recursion: the JSON may be deep)."""
    found, stack = [], [("", data)]
    while stack:
        key, item = stack.pop()
        if isinstance(item, dict):
            if key in ARCHIVE_NAME_TABLES:
                found += [("name", str(k)) for k in item]
            stack += list(item.items())
        elif isinstance(item, list):
            stack += [(key, v) for v in item]
        elif isinstance(item, str):
            found.append((key, item))
    return found


def _plain_shape_expression(text: str) -> bool:
    """Arithmetic on size symbols (s0, u1), numbers and torch's shape functions, as sympy's
    ``srepr`` writes them (``Symbol('s0', positive=True)``), nothing else."""
    if len(text) > 10_000:
        return False
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            if not (_SHAPE_SYMBOL.fullmatch(node.id) or node.id in SHAPE_FUNCTIONS):
                return False
        elif isinstance(node, ast.Constant):
            if type(node.value) not in (int, float, bool) and not (
                    isinstance(node.value, str) and _SHAPE_TEXT.fullmatch(node.value)):
                return False
        elif isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                return False
        elif isinstance(node, ast.keyword):
            if node.arg not in SHAPE_ASSUMPTIONS or not isinstance(node.value, ast.Constant) or type(node.value.value) is not bool:
                return False
        elif not isinstance(node, _SHAPE_NODES):
            return False
    return True


@contextmanager
def _quiet():
    """torch.export.load logs tracebacks and warns for damaged archives; the user gets one sentence."""
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)
