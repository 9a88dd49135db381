"""Moving trained weights between files and designs, safely.

Weights are matched by node id: a tensor named ``<node id>.<tensor>`` (any id: dots, spaces,
unicode) loads into the node with that id when the shapes agree, so a weights file loads into any
design whose nodes have the same ids and shapes. The compiled model's own names (node ids made
into Python identifiers, as in checkpoints) are accepted too. Loading never runs code from the
file: safetensors, or ``torch.load(weights_only=True)`` with no fallback. ``torchvision:NAME``
names torchvision's pretrained weights for NAME (downloaded once into the torch cache).
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn


class WeightsError(ValueError):
    """A weights file that cannot be read; the message says why."""


@dataclass
class WeightsReport:
    """What matched and what did not when loading weights into a model."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # in the model, not in the file
    unexpected: list[str] = field(default_factory=list)  # in the file, not in the model
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = field(default_factory=list)

    def summary(self) -> str:
        lines = [f"loaded {len(self.loaded)} tensor(s)"]
        if self.mismatched:
            lines.append("shapes differ (not loaded): " + ", ".join(
                f"{name} (model {list(want)}, file {list(got)})" for name, want, got in self.mismatched
            ))
        if self.missing:
            lines.append("not in the file (kept as they were): " + ", ".join(self.missing))
        if self.unexpected:
            lines.append("in the file but not in the design: " + ", ".join(self.unexpected))
        return "\n".join(lines)


def _is_safetensors(path: Path) -> bool:
    """safetensors files start with an 8-byte header length, then the JSON header's '{'."""
    with open(path, "rb") as handle:
        return handle.read(9)[8:] == b"{"


PRETRAINED = "torchvision:"


def pretrained_state_dict(name: str) -> dict[str, torch.Tensor]:
    """torchvision's default pretrained weights of model ``name``; a clear error when offline."""
    import torchvision

    try:
        weights = torchvision.models.get_model_weights(name).DEFAULT
    except (ValueError, KeyError):
        raise WeightsError(f"torchvision has no pretrained weights for '{name}'") from None
    try:
        return weights.get_state_dict(progress=False)
    except (OSError, RuntimeError) as error:  # urllib's URLError is an OSError
        raise WeightsError(
            f"the pretrained weights of {name} could not be downloaded ({error}). They are downloaded once into "
            "the torch cache and need an internet connection; without one, start from random weights."
        ) from None


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors file, a state dict, or a CNN Studio checkpoint (its "model"),
    or torchvision's pretrained weights for ``torchvision:NAME``."""
    if isinstance(path, str) and path.startswith(PRETRAINED):
        return pretrained_state_dict(path.removeprefix(PRETRAINED))
    path = Path(path)
    if path.exists() and not path.is_file():  # a device or a pipe would be read forever
        raise WeightsError(f"{path}: not a weights file (a folder, device or pipe)")
    try:
        if _is_safetensors(path):
            from safetensors.torch import load_file

            data = load_file(path)
        else:
            data = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such file") from None
    except pickle.UnpicklingError:
        raise WeightsError(
            f"{path}: holds Python objects besides tensors, so it was not opened: loading it could run "
            "code. Save the weights as a state dict or as .safetensors."
        ) from None
    except Exception:  # torch.load and safetensors raise many types for files that are not theirs
        raise WeightsError(f"{path}: not a PyTorch or safetensors weights file, or it is damaged") from None
    if isinstance(data, dict) and isinstance(data.get("model"), dict):
        data = data["model"]
    if not isinstance(data, dict) or not all(isinstance(v, torch.Tensor) for v in data.values()):
        raise WeightsError(f"{path}: holds no tensors by name (expected a state dict or a checkpoint)")
    return data


def node_id_names(model: nn.Module) -> dict[str, str]:
    """Each tensor of a compiled design by node id (``<node id>.<tensor>``) -> its state-dict name."""
    node_names: dict[str, str] = getattr(model, "node_names", {})  # module name -> node id
    names = {}
    for name in model.state_dict():
        module, dot, rest = name.partition(".")
        names[f"{node_names.get(module, module)}{dot}{rest}"] = name
    return names


def load_matching(model: nn.Module, state: dict[str, torch.Tensor], source: str = "the file") -> WeightsReport:
    """Load every tensor whose node id (or module name) and shape match; report the rest.

    Tensors are reported by node id. A non-empty file of which nothing matches is an error
    (a :class:`WeightsError` listing both sides), never a silent success.
    """
    report = WeightsReport()
    own = model.state_dict()
    by_id = node_id_names(model)
    by_name = {name: node_id for node_id, name in by_id.items()}
    usable, seen = {}, set()  # seen: the model's tensors the file names, loaded or not
    for key, tensor in state.items():
        name = by_id.get(key, key if key in own else None)
        if name is None:
            report.unexpected.append(key)
            continue
        if name in seen:  # named twice (by node id and by module name): the first one counts
            continue
        seen.add(name)
        if own[name].shape != tensor.shape:
            report.mismatched.append((by_name[name], tuple(own[name].shape), tuple(tensor.shape)))
        else:
            usable[name] = tensor
            report.loaded.append(by_name[name])
    # each of the model's tensors is in exactly one list: loaded, shapes differ, or not in the file
    report.missing = [by_name[name] for name in own if name not in seen]
    if state and not report.loaded:
        raise WeightsError(f"none of the {len(state)} tensor(s) of {source} matches a node of this design by id and "
                           f"shape, so nothing was loaded:\n" + report.summary() + "\n" + _expected(by_id, own))
    model.load_state_dict(usable, strict=False)
    return report


def _expected(by_id: dict[str, str], own: dict[str, torch.Tensor], most: int = 20) -> str:
    names = [f"{node_id} {list(own[name].shape)}" for node_id, name in by_id.items()]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return "the design expects: " + ", ".join(names[:most]) + more


def load_weights_file(model: nn.Module, path: str | Path) -> WeightsReport:
    """Read a weights file (or ``torchvision:NAME``) and load it into a compiled design."""
    return load_matching(model, read_state_dict(path), str(path))


def state_by_node_id(model: nn.Module) -> dict[str, torch.Tensor]:
    """The model's tensors keyed by node id, as weights files are written."""
    own = model.state_dict()
    return {node_id: own[name] for node_id, name in node_id_names(model).items()}


def tensors_bytes(tensors: dict[str, torch.Tensor]) -> bytes:
    """Tensors as a .safetensors file's bytes (written to disk atomically by the caller)."""
    from safetensors.torch import save

    clean, seen = {}, set()
    for name, tensor in tensors.items():  # a tied tensor (one Parameter, two names) is written under each name
        tensor = tensor.detach().contiguous().cpu()
        clean[name] = tensor.clone() if tensor.data_ptr() in seen else tensor
        seen.add(tensor.data_ptr())
    return save(clean, metadata={"format": "cnnstudio-weights"})


def safetensors_bytes(model: nn.Module) -> bytes:
    """The model's weights as a .safetensors file's bytes, keyed by node id."""
    return tensors_bytes(state_by_node_id(model))


def save_tensors(tensors: dict[str, torch.Tensor], path: Path) -> None:
    """Write tensors as a .safetensors file, atomically."""
    from cnnstudio.core.atomic import atomic_write_bytes

    atomic_write_bytes(Path(path), tensors_bytes(tensors))


def save_safetensors(model: nn.Module, path: Path) -> None:
    """The model's weights as a .safetensors file keyed by node id, written atomically."""
    save_tensors(state_by_node_id(model), path)
