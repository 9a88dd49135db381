"""Moving trained weights between files and designs, safely.

Weights are matched by name: a compiled model's parameters are named ``<node id>.<tensor>``, so
a checkpoint loads into any design whose nodes have the same ids and shapes. Loading never runs
code from the file: safetensors, or ``torch.load(weights_only=True)`` with no fallback.
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


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors from a .safetensors file, a state dict, or a CNN Studio checkpoint (its "model")."""
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


def load_matching(model: nn.Module, state: dict[str, torch.Tensor]) -> WeightsReport:
    """Load every tensor whose name and shape match; report the rest instead of failing."""
    report = WeightsReport()
    own = model.state_dict()
    usable = {}
    for name, tensor in state.items():
        if name not in own:
            report.unexpected.append(name)
        elif own[name].shape != tensor.shape:
            report.mismatched.append((name, tuple(own[name].shape), tuple(tensor.shape)))
        else:
            usable[name] = tensor
            report.loaded.append(name)
    report.missing = [name for name in own if name not in state]
    model.load_state_dict(usable, strict=False)
    return report


def safetensors_bytes(model: nn.Module) -> bytes:
    """The model's weights as a .safetensors file's bytes (written to disk atomically by the caller)."""
    from safetensors.torch import save

    tensors = {name: t.detach().contiguous().cpu() for name, t in model.state_dict().items()}
    return save(tensors, metadata={"format": "cnnstudio-weights"})
