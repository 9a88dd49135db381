"""The layer catalogue: one :class:`LayerType` per layer, registered by name.

A layer type holds everything about that layer in one place: its parameters, its shape rule
(``infer``), and how it builds a torch module (``build``). Shape rules are pure Python so the
studio can validate a design without importing torch; ``build`` imports torch when called.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cnnstudio.core.display import shorten
from cnnstudio.core.params import Param, ParamError

if TYPE_CHECKING:
    from torch import nn

Shape = tuple[int, ...]

CATEGORIES = (
    "input",
    "convolution",
    "pooling",
    "dense",
    "activation",
    "normalization",
    "merge",
    "blocks",
)


@dataclass(frozen=True)
class Fix:
    """A parameter change that resolves a problem; the studio applies it in one click."""

    node: str
    params: Mapping[str, Any]
    label: str


class ShapeError(Exception):
    """Raised by a shape rule: the message says what is wrong and what to change."""

    def __init__(self, message: str, fix_params: Mapping[str, Any] | None = None, fix_label: str = ""):
        super().__init__(message)
        self.message = message
        self.fix_params = fix_params
        self.fix_label = fix_label


@dataclass(frozen=True)
class Note:
    """A warning from a shape rule (the design still compiles), optionally with a fix."""

    message: str
    fix_params: Mapping[str, Any] | None = None
    fix_label: str = ""
    informational: bool = False  # a fact worth showing beside the formulas, not a warning (no fix)


@dataclass
class Inference:
    """What a shape rule computes for one node, per sample (batch excluded)."""

    shape: Shape
    params: int = 0
    macs: int = 0
    formulas: list[str] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)


@dataclass(frozen=True)
class Ctx:
    """The inputs of a shape rule: input shapes in order, the node's parameters, input node ids."""

    shapes: Sequence[Shape]
    p: Mapping[str, Any]
    sources: Sequence[str] = ()

    @property
    def shape(self) -> Shape:
        return self.shapes[0]


@dataclass(frozen=True)
class TensorArg:
    """A tensor argument of a :class:`Call`: the ``index``-th input of the node."""

    index: int


@dataclass(frozen=True)
class Call:
    """One step of a traced torch model, as the importer offers it to a layer type's ``reverse``.

    ``name`` is the module's class path (``torch.nn.modules.conv.Conv2d``), the function's
    (``torch.flatten``, ``operator.add``, ``torch.nn.functional.relu``) or the tensor method's
    (``Tensor.flatten``). ``module`` is the module instance for module calls. Tensors among
    ``args``/``kwargs`` are :class:`TensorArg` markers (inputs) or :class:`Owned` markers (weights
    the model reads, as torch.export passes them); ``shapes`` are the inputs' per-sample shapes.
    """

    name: str
    args: tuple[Any, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    shapes: Sequence[Shape] = ()
    module: Any = None
    owned: Mapping[str, Shape] = field(default_factory=dict)  # shapes of the Owned tensors, by key

    def owned_shape(self, value: Any) -> Shape | None:
        """The shape of an :class:`Owned` argument, or None for anything else."""
        return tuple(self.owned[value.key]) if isinstance(value, Owned) and value.key in self.owned else None

    def is_module(self, class_name: str, package: str = "torch.nn.modules") -> Any:
        """The module if it is exactly ``class_name`` from ``package`` (not a subclass), else None."""
        module_type = type(self.module)
        if self.module is not None and module_type.__name__ == class_name and module_type.__module__.startswith(package):
            return self.module
        return None

    def argument(self, position: int, name: str, default: Any = None) -> Any:
        """A call argument given by position or by keyword."""
        if len(self.args) > position:
            return self.args[position]
        return self.kwargs.get(name, default)

    def tensors_in_order(self, *values: Any) -> bool:
        """True when ``values`` are the node's inputs 0, 1, ... each once, in order."""
        return list(values) == [TensorArg(i) for i in range(len(self.shapes))]


@dataclass(frozen=True)
class Owned:
    """A tensor argument of a :class:`Call` read from the model (a weight), not from an input."""

    key: str


@dataclass(frozen=True)
class Reversed:
    """What a reverse returns for a call that passes the weights itself (torch.export's
    ``aten.conv2d(x, weight, bias, ...)``): the parameters, and which owned tensor is which of the
    built module's tensors (``{"weight": Owned("conv1_weight")}``)."""

    params: dict[str, Any]
    weights: dict[str, Owned]


Reverse = Callable[[Call], "dict[str, Any] | Reversed | None"]


@dataclass(frozen=True)
class LayerType:
    name: str
    category: str
    help: str
    params: tuple[Param, ...]
    infer: Callable[[Ctx], Inference]
    build: Callable[[Ctx], "nn.Module"] | None  # None for Input: it becomes a model argument
    min_inputs: int = 1
    max_inputs: int | None = 1  # None: any number
    # The reverse of build, for the importer: the parameters of this layer that compute what the
    # call computes, or None when the call is not this layer. The importer checks the result
    # (same weights by name and shape, same output shape), so a reverse may be optimistic.
    reverse: Reverse | None = None
    opaque: bool = False  # runs code from outside the catalogue (imported models); the studio marks it

    def param(self, name: str) -> Param:
        for spec in self.params:
            if spec.name == name:
                return spec
        raise KeyError(name)

    def defaults(self) -> dict[str, Any]:
        return {spec.name: spec.default for spec in self.params}

    def coerce_params(self, raw: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validated parameters with defaults filled in; unknown names are errors."""
        raw = dict(raw or {})
        known = {spec.name for spec in self.params}
        for name in raw:
            if name not in known:
                hint = difflib.get_close_matches(name, known, n=1)
                allowed = ", ".join(sorted(known)) or "none"
                extra = f"; did you mean '{hint[0]}'?" if hint else f" (it takes: {allowed})"
                raise ParamError(f"{self.name} has no parameter '{name}'{extra}")
        return {spec.name: spec.coerce(raw.get(spec.name, spec.default)) for spec in self.params}

    @property
    def is_merge(self) -> bool:
        return self.max_inputs is None


class UnknownLayerType(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


_REGISTRY: dict[str, LayerType] = {}


def register(*layer_types: LayerType) -> None:
    for layer_type in layer_types:
        if layer_type.category not in CATEGORIES:
            raise ValueError(f"unknown category {layer_type.category!r} for {layer_type.name}")
        if layer_type.name in _REGISTRY:
            raise ValueError(f"layer type {layer_type.name} registered twice")
        _REGISTRY[layer_type.name] = layer_type


def get(name: str) -> LayerType:
    _load_layers()
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = difflib.get_close_matches(name, _REGISTRY, n=1, cutoff=0.5)
        extra = f"; did you mean '{hint[0]}'?" if hint else ""
        raise UnknownLayerType(f"unknown layer type '{shorten(name)}'{extra}") from None


def all_types() -> list[LayerType]:
    """Every layer type, in catalogue order (by category, then definition order)."""
    _load_layers()
    return sorted(_REGISTRY.values(), key=lambda t: CATEGORIES.index(t.category))


def _load_layers() -> None:
    # Importing the package registers every layer type (once).
    import cnnstudio.core.layers  # noqa: F401
