"""Compiled models that share their generated code: one :class:`Structure` per layout of layers.

A ``torch.fx.GraphModule`` generates and compiles the Python source of its ``forward`` and holds a
graph built node by node; on a small design that costs twice the layers themselves. Two models
whose layers have the same names, connections and outputs have the same code, so the code is made
once per structure and every model of that structure is an instance of its class. A model that
recompiles first moves to a class of its own (every GraphModule has one, since ``recompile`` sets
``forward`` on the class), so it never changes another model; each model gets its own copy of the
graph, made the first time it is read. Parameters do not take part: changing a
kernel size rebuilds the layers, not the code.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from torch import fx, nn

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A small thread-safe least-recently-used map (models are built on worker threads too)."""

    def __init__(self, size: int) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


class _PrivateGraph:
    """The ``_graph`` attribute of a :class:`CompiledDesign`: the structure's graph, copied into
    the model the first time anything (``model.graph``, ``recompile``) reads it."""

    def __get__(self, model: CompiledDesign | None, owner: type) -> Any:
        if model is None:
            return self
        graph = model.__dict__.get("_graph")
        if graph is None:
            graph = copy.deepcopy(model.structure_graph)
            graph.owning_module = model
            model.__dict__["_graph"] = graph
        return graph

    def __set__(self, model: CompiledDesign, graph: fx.Graph) -> None:
        model.__dict__["_graph"] = graph


class CompiledDesign(fx.GraphModule):
    """A GraphModule whose ``forward`` and graph come from its structure's class."""

    _graph = _PrivateGraph()
    structure_graph: fx.Graph  # set on each structure's class; never owned by a model

    def recompile(self) -> Any:
        if "structure_graph" in vars(type(self)):  # still on the shared class
            self.__class__ = type(type(self).__name__, (type(self),), {"__module__": __name__})
        return super().recompile()

    # torch's copy and pickle read the graph from the instance's __dict__: make it first.
    def __deepcopy__(self, memo: dict[int, Any]) -> fx.GraphModule:
        self._graph  # noqa: B018 (materialises the private copy)
        return super().__deepcopy__(memo)

    def __reduce__(self) -> tuple[Any, ...]:
        self._graph  # noqa: B018
        return super().__reduce__()

    def __reduce_package__(self, exporter: Any) -> tuple[Any, ...]:
        self._graph  # noqa: B018
        return super().__reduce_package__(exporter)


@dataclass(frozen=True)
class Structure:
    """The code of every model whose layers have these names, connections and outputs."""

    model_class: type[CompiledDesign]
    shared: dict[str, Any]  # what GraphModule.__init__ set on the template (graph_module_fields): the code...
    fresh: dict[str, type]  # ... and its empty hook lists and dicts (``meta``), made anew for each model

    @classmethod
    def from_graph(cls, graph: fx.Graph, class_name: str) -> Structure:
        """Generate the code once, through a GraphModule on placeholder modules (which owns the
        graph from then on; models only copy it)."""
        targets = [node.target for node in graph.nodes if node.op == "call_module"]
        template = fx.GraphModule({target: nn.Module() for target in targets}, graph, class_name)
        model_class = type(class_name, (CompiledDesign,), {
            "forward": vars(type(template))["forward"], "structure_graph": graph, "__module__": __name__})
        fields = graph_module_fields(template)
        fresh = {name: type(value) for name, value in fields.items() if isinstance(value, (list, dict, set)) and not value}
        return cls(model_class, {name: value for name, value in fields.items() if name not in fresh}, fresh)

    def instantiate(self, modules: dict[str, nn.Module]) -> CompiledDesign:
        """A model of this structure with these submodules: what ``GraphModule.__init__`` sets,
        copied from the template, without generating the code again."""
        model = object.__new__(self.model_class)  # GraphModule.__new__ would make a class per model
        nn.Module.__init__(model)
        model.__dict__.update(self.shared)  # the line map too: recompile replaces it, never edits it
        model.__dict__.update({name: kind() for name, kind in self.fresh.items()})
        model._modules.update(modules)
        return model


_MODULE_FIELDS = frozenset(vars(nn.Module()))


def graph_module_fields(model: fx.GraphModule) -> dict[str, Any]:
    """The one place that knows GraphModule's private state: whatever its ``__init__`` set beyond
    ``nn.Module``'s own (the generated code, its line map, hooks, ``meta``: eleven fields in torch
    2.14), but the graph, which each model copies itself. Read from a real GraphModule, never
    listed by name, so a torch that adds or renames one is followed; tests/test_compiled.py fails
    loudly if a model made this way differs from ``GraphModule(root, graph)``."""
    return {name: value for name, value in vars(model).items() if name not in _MODULE_FIELDS and name != "_graph"}
