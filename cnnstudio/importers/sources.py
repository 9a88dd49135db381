"""Where an imported model comes from: a SOURCE string to a torch module and its input shape.

``torchvision:NAME``, ``timm:NAME``, ``module:PACKAGE.MODULE:CALLABLE``, ``FILE.onnx`` (through
onnx2torch) and ``FILE.pt2`` (a saved torch.export program). Weights come from a state-dict file,
or ``DEFAULT`` for the library's pretrained weights (a clear error offline). timm and onnx2torch
are optional extras, imported only for their sources.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path

from torch import nn

from cnnstudio.core.weights import WeightsError, read_state_dict
from cnnstudio.importers.graph import ImportFailed

Shape = tuple[int, ...]
DEFAULT = "DEFAULT"
IMAGE = (3, 224, 224)
TORCHVISION_INPUTS = {"inception_v3": (3, 299, 299), "quantized_inception_v3": (3, 299, 299)}
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


def load_into(module: nn.Module, path: str) -> str:
    """Load a state-dict file into the source model (before conversion); an error if nothing matches."""
    state = read_state_dict(path)
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
    return Loaded(module, [TORCHVISION_INPUTS.get(name, IMAGE)], name, aux_loss_weights=auxiliary_loss_weights(module))


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
    try:
        model = onnx.load(str(path))
    except (OSError, ValueError, onnx.onnx_cpp2py_export.checker.ValidationError) as error:
        raise ImportFailed(f"{path}: cannot read the ONNX file ({error})") from None
    try:
        module = convert(_for_onnx2torch(model))
    except Exception as error:  # onnx2torch names the operator it lacks
        raise ImportFailed(f"{path}: onnx2torch cannot convert it: {type(error).__name__}: {error}") from None
    initializers = {i.name for i in model.graph.initializer}
    shapes = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = [d.dim_value if d.HasField("dim_value") else None for d in value.type.tensor_type.shape.dim]
        shapes.append(tuple(dims[1:]) if None not in dims[1:] else None)
    return Loaded(module, None if None in shapes else shapes, path.stem)


ONNX2TORCH_OPSET = 17  # the newest opset whose operators onnx2torch 1.5 converts


def _for_onnx2torch(model):
    """The model at an opset onnx2torch reads. torch's exporter writes Reshape with allowzero=1,
    which onnx2torch refuses; with no empty axes (a batch of at least one sample) 0 and 1 agree."""
    import onnx.version_converter

    for node in model.graph.node:
        if node.op_type == "Reshape":
            for attribute in node.attribute:
                if attribute.name == "allowzero":
                    attribute.i = 0
    opset = max((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), default=ONNX2TORCH_OPSET)
    return onnx.version_converter.convert_version(model, ONNX2TORCH_OPSET) if opset > ONNX2TORCH_OPSET else model


def _exported(path: Path) -> Loaded:
    import torch

    try:
        program = torch.export.load(str(path))
    except Exception as error:  # a file that is not a torch.export archive
        raise ImportFailed(f"{path}: not a torch.export program ({type(error).__name__}: {error})") from None
    shapes = [tuple(spec.arg.name and program.graph_module.graph.find_nodes(op="placeholder", target=spec.arg.name)[0]
                    .meta["val"].shape[1:])
              for spec in program.graph_signature.input_specs if spec.kind.name == "USER_INPUT"]
    return Loaded(program.module(), [tuple(int(v) for v in s) for s in shapes], path.stem)
