"""Proof that an imported design computes what its model computes, before anything is written.

The source model (as torch.fx traced it) and the design compiled with the imported weights run
side by side in evaluation mode on seeded probe inputs at two batch sizes; every output is
compared within a tolerance relative to its scale. Random weights hide mistakes (a batch norm
whose gamma is 1 and running statistics 0 and 1 is almost the identity; timm zero-initialises the
last gamma of each residual block), so normalisation parameters and statistics, and every
parameter that holds one value throughout, are set to seeded random values for the check and put
back afterwards (the design's weights share their storage with the model, so both see the same).

Every node is also checked on its own: fed the model's own values of its inputs, its output must
be the model's value at that node. That names the first node that differs (the earliest in the
design's order), and it is how opaque ``Module`` nodes are accepted one by one.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import fx, nn

from cnnstudio.core.design import Design
from cnnstudio.importers.graph import Interpreter

BATCHES = (1, 2)  # 2 is the traced batch: a size written into the design as a number shows at 1
RTOL, ATOL = 1e-4, 1e-6  # |difference| <= RTOL * scale + ATOL, scale = the reference's largest magnitude
LOCAL_ATOL = 1e-6  # a node on its own inputs: each value within RTOL of itself + LOCAL_ATOL * scale + ATOL too
SEED = 20240


@dataclass(frozen=True)
class NodeDifference:
    node: str
    error: float  # largest absolute difference (inf: shapes or values that cannot be compared)
    scale: float  # the reference value's largest magnitude

    def __str__(self) -> str:
        if math.isinf(self.error):
            return f"{self.node} (its value has another shape or type)"
        return f"{self.node} (differs by {self.error:.3g} on values up to {self.scale:.3g})"


@dataclass
class Verification:
    """The outcome: ``exact`` when every output agrees at every probe batch."""

    exact: bool
    error: float  # the largest output difference relative to that output's scale
    seconds: float
    differing: list[NodeDifference] = field(default_factory=list)  # nodes wrong on their own inputs, in order
    problem: str = ""  # a difference not tied to a node (the trace itself, a weight that did not load)
    parameters: int = 0  # of the built design, a tied tensor counted once

    def sentence(self) -> str:
        batches = " and ".join(map(str, BATCHES))
        if self.exact:
            return (f"verified: the design computes the model's outputs (batches of {batches}; largest relative "
                    f"difference {self.error:.1e}) in {self.seconds:.1f} s")
        if self.differing:
            first = self.differing[0]
            more = f", and {len(self.differing) - 1} more node(s) after it" if len(self.differing) > 1 else ""
            return (f"not exact: the design's outputs differ from the model's by {self.error:.3g} (relative); the first "
                    f"node that computes something else is {first}{more}")
        return f"not exact: {self.problem or f'the outputs differ by {self.error:.3g} (relative)'}"


def _relative(got: Any, want: Any) -> tuple[float, float]:
    """(largest absolute difference, scale) of two values; inf when they cannot be compared."""
    if isinstance(want, torch.Tensor):
        if not isinstance(got, torch.Tensor) or got.shape != want.shape:
            return math.inf, 0.0
        if not want.is_floating_point():
            return (0.0 if torch.equal(got, want) else math.inf), 0.0
        if torch.equal(got, want):  # the usual case, and cheap
            return 0.0, want.abs().max().item() if want.numel() else 0.0
        both_finite = torch.isfinite(want) & torch.isfinite(got)
        agree = (both_finite | (got == want) | (torch.isnan(got) & torch.isnan(want))).all().item()
        if not agree:
            return math.inf, 0.0
        if not both_finite.any():
            return 0.0, 0.0
        want64, got64 = want[both_finite].double(), got[both_finite].double()
        return (got64 - want64).abs().max().item(), want64.abs().max().item()
    if isinstance(want, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(want):
            return math.inf, 0.0
        pairs = [_relative(g, w) for g, w in zip(got, want)]
        return max((p[0] for p in pairs), default=0.0), max((p[1] for p in pairs), default=0.0)
    return (0.0 if got == want else math.inf), 0.0


def _differs(error: float, scale: float) -> bool:
    return not error <= RTOL * scale + ATOL


LOUDER = 100.0  # an opaque module is also run on its inputs times this


def _differs_louder(original: nn.Module, rebuilt: nn.Module, inputs: list[Any]) -> bool:
    """Whether an opaque module's rebuild differs from it on its inputs made ``LOUDER``: a
    difference the model's own values never reach (timm's MobileNetV1: a rebuilt
    ``BatchNormAct2d`` with ReLU where the model has ReLU6 differs only above 6)."""
    louder = [v * LOUDER if isinstance(v, torch.Tensor) and v.is_floating_point() else v for v in inputs]
    try:
        want = original(*[_clone(v) for v in louder])
    except Exception:  # the module refuses such values: nothing more to learn
        return False
    got = rebuilt(*[_clone(v) for v in louder])
    return _differs(*_relative(got, want)) or _differs_somewhere(got, want, 0.0)


def _differs_somewhere(got: Any, want: Any, scale: float) -> bool:
    """Whether some value differs beyond RTOL of itself + LOCAL_ATOL * ``scale`` + ATOL: a node's
    check on its own inputs, where random weights can make a few values thousands of times larger
    than the rest, and a mistake in the small ones (a ReLU where the model has none, seen in timm's
    RepVGG) would hide under a tolerance of the largest. ``scale`` 0: each value on its own."""
    if isinstance(want, (tuple, list)) and isinstance(got, (tuple, list)):
        return any(_differs_somewhere(g, w, scale) for g, w in zip(got, want))
    if not (isinstance(want, torch.Tensor) and isinstance(got, torch.Tensor) and want.is_floating_point()
            and got.shape == want.shape):
        return False  # compared by _relative
    both = torch.isfinite(want) & torch.isfinite(got)
    difference = (got[both].double() - want[both].double()).abs()
    return bool((difference > RTOL * want[both].double().abs() + LOCAL_ATOL * scale + ATOL).any())


# -- realistic weights ----------------------------------------------------------------------
def _is_norm(module: nn.Module) -> bool:
    return "norm" in type(module).__name__.lower() or hasattr(module, "running_mean")


@contextmanager
def perturbed(model: nn.Module, seed: int = SEED) -> Iterator[None]:
    """Seeded random values for normalisation weights and statistics and for every parameter that
    holds a single value throughout (zero-initialised gammas, layer scales, fresh biases), put back
    on leaving."""
    generator = torch.Generator().manual_seed(seed)
    saved: list[tuple[torch.Tensor, torch.Tensor]] = []
    seen: set[int] = set()

    def uniform(tensor: torch.Tensor) -> torch.Tensor:
        return torch.rand(tensor.shape, generator=generator) + 0.5

    def normal(tensor: torch.Tensor) -> torch.Tensor:
        return torch.randn(tensor.shape, generator=generator) * 0.1

    def change(tensor: torch.Tensor, name: str) -> None:
        if tensor is None or not tensor.is_floating_point() or id(tensor) in seen or tensor.numel() == 0:
            return
        seen.add(id(tensor))
        saved.append((tensor, tensor.detach().clone()))
        spread = uniform if name.endswith(("weight", "var", "gamma", "scale")) else normal
        with torch.no_grad():
            tensor.copy_(spread(tensor).to(tensor.dtype))

    for module in model.modules():
        if _is_norm(module):
            for name in ("weight", "bias", "running_mean", "running_var"):
                change(getattr(module, name, None), name)
        for name, parameter in module.named_parameters(recurse=False):
            first = parameter.detach().flatten()[:2]  # two values that differ: not constant, nothing more to read
            if parameter.numel() > 1 and first[0] == first[1] and bool((parameter == first[0]).all()):
                change(parameter, name)
    try:
        yield
    finally:
        with torch.no_grad():
            for tensor, value in saved:
                tensor.copy_(value)


def probe_inputs(shapes: list[tuple[int, ...]], batch: int, seed: int = SEED) -> list[torch.Tensor]:
    """Normalised-image-like values: a standard normal, seeded."""
    generator = torch.Generator().manual_seed(seed + batch)
    return [torch.randn((batch, *shape), generator=generator) for shape in shapes]


# -- running ---------------------------------------------------------------------------------
class _Recorder(Interpreter):
    """Runs a graph and keeps the values of the nodes asked for (cloned: later in-place calls
    must not change them)."""

    def __init__(self, graph_module: fx.GraphModule, keep: set[fx.Node]):
        super().__init__(graph_module)
        self.keep, self.values = keep, {}

    def run_node(self, n: fx.Node) -> Any:
        result = super().run_node(n)
        if n in self.keep:
            self.values[n] = _clone(result)
        return result


def _clone(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.clone()
    if isinstance(value, (tuple, list)):
        return type(value)(_clone(v) for v in value) if not hasattr(value, "_fields") else value
    return value


def build_rebuilt(design: Design, weights: dict[str, torch.Tensor]) -> tuple[fx.GraphModule, list[str]]:
    """The design compiled with the imported weights, in evaluation mode, and the tensors of the
    design that no imported weight filled."""
    from cnnstudio.core.compiler import CompileError, build_model
    from cnnstudio.core.weights import load_matching
    from cnnstudio.importers.graph import ImportFailed

    try:
        model = build_model(design)
    except CompileError as error:  # never written: its own check refuses it
        raise ImportFailed(f"the design it makes fails its own check: {str(error).splitlines()[-1]}") from None
    report = load_matching(model, weights, "the import")
    return model.eval(), report.missing + report.unexpected + [m[0] for m in report.mismatched]


SMALL_SIDE = 32  # the side of the batch-2 probe's images, when the model runs at that size


def verify(design: Design, weights: dict[str, torch.Tensor], graph_module: fx.GraphModule,
           fx_nodes: dict[str, fx.Node], shapes: list[tuple[int, ...]], original: nn.Module | None = None,
           folds: dict[str, int] | None = None) -> Verification:
    """Compare the design (with ``weights``) against ``graph_module``, the traced model, whose node
    ``fx_nodes[id]`` computes design node ``id``. ``original``: the model itself, to check that the
    trace is the model too (left out when the trace ran the model's training-only branches).
    ``folds``: nodes whose edge is the model's value with its first axis (k * batch) unflattened.

    Cheap where it can be without checking less: the batch of 1 runs at the import's size, and
    the batch of 2 (the size a trace writes into a design) at the model's smallest size near
    ``SMALL_SIDE`` when both run there, else at the import's size too; where the design's outputs
    are what the model returns, the model runs once per batch in place of the trace interpreted
    node by node, and the opaque modules are checked on the values of that batch-1 run. Only when
    an output differs does every node run on its own inputs, to name the first that differs."""
    from cnnstudio.importers.graph import is_exported

    start = time.perf_counter()
    if not is_exported(graph_module):  # torch.export's modules refuse eval(): they are in evaluation mode
        graph_module.eval()
    with torch.no_grad(), perturbed(graph_module):
        rebuilt, unloaded = build_rebuilt(design, weights)
        if unloaded:
            return Verification(False, math.inf, time.perf_counter() - start,
                                problem=f"the imported weights do not fill the design: {', '.join(unloaded[:5])}")
        outputs = [fx_nodes[node_id] for node_id in design.output_ids]
        returned = _returned_nodes(graph_module)
        direct = original is not None and original is not graph_module and all(o in returned for o in outputs)
        modules = {node.id for node in design.nodes if node.type == "Module"}
        folds = folds or {}
        worst, wrong, differing = 0.0, False, []
        for batch, probe_shapes in ((BATCHES[0], shapes), (BATCHES[1], _small(shapes))):
            inputs = probe_inputs(probe_shapes, batch)
            try:
                try:
                    if batch == BATCHES[0] and (modules or not direct):  # one interpreted run: values and module checks
                        differing, want = _interpreted(design, rebuilt, graph_module, fx_nodes, inputs, modules,
                                                       outputs, folds)
                    else:
                        want = _model_outputs(original if direct else None, graph_module, returned, outputs, inputs)
                    got = rebuilt(*inputs)
                except Exception:
                    if probe_shapes == shapes:
                        raise
                    probe_shapes = shapes  # the model or the design does not run at the small size
                    inputs = probe_inputs(shapes, batch)
                    want = _model_outputs(original if direct else None, graph_module, returned, outputs, inputs)
                    got = rebuilt(*inputs)
            except Exception as error:  # noqa: BLE001 - a graph with its traced batch written in, say
                lines = str(error).strip().splitlines() or [""]
                return Verification(False, math.inf, time.perf_counter() - start,
                                    problem=f"at a batch of {batch} the model's graph or the design fails "
                                            f"({type(error).__name__}: {lines[0][:200]})")
            error = _compare(got, want, design.output_ids)
            if _differs(*error) and probe_shapes != shapes:  # a size the design may have as a number: the real one
                inputs = probe_inputs(shapes, batch)
                want = _model_outputs(original if direct else None, graph_module, returned, outputs, inputs)
                error = _compare(rebuilt(*inputs), want, design.output_ids)
            wrong = wrong or _differs(*error)
            worst = max(worst, error[0] / max(error[1], ATOL))
        problem = ""
        if original is not None and original is not graph_module and (wrong or not direct):
            problem = _trace_problem(original, graph_module, shapes)
        if wrong and not problem:  # name the first node that differs, each node on the model's own inputs
            differing = local_differences(design, rebuilt, graph_module, fx_nodes, shapes, folds=folds)
    parameters = sum(p.numel() for p in rebuilt.parameters())
    return Verification(not (wrong or problem or differing), worst, time.perf_counter() - start, differing, problem,
                        parameters)


def _small(shapes: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Each image or video input with its height and width cut to ``SMALL_SIDE`` (sequences kept)."""
    return [(*shape[:-2], *(min(side, SMALL_SIDE) for side in shape[-2:])) if len(shape) >= 3 else shape
            for shape in shapes]


def _returned_nodes(graph_module: fx.GraphModule) -> list[Any]:
    """What the graph returns, flattened as the model's own return value flattens."""
    from torch.utils._pytree import tree_leaves

    output = next(n for n in graph_module.graph.nodes if n.op == "output")
    return tree_leaves(output.args[0])


def _model_outputs(original: nn.Module | None, graph_module: fx.GraphModule, returned: list[Any],
                   outputs: list[fx.Node], inputs: list[torch.Tensor]) -> list[Any]:
    """The values of ``outputs``: from what ``original`` returns when given (and it returns what
    the trace does), else from the trace interpreted."""
    from torch.utils._pytree import tree_leaves

    if original is not None:
        leaves = tree_leaves(original(*inputs))
        if len(leaves) == len(returned):
            values = dict(zip(returned, leaves))
            return [values[o] for o in outputs]
    recorder = _Recorder(graph_module, set(outputs))
    recorder.run(*inputs)
    return [recorder.values[o] for o in outputs]


def _interpreted(design: Design, rebuilt: fx.GraphModule, graph_module: fx.GraphModule, fx_nodes: dict[str, fx.Node],
                 inputs: list[torch.Tensor], modules: set[str], outputs: list[fx.Node],
                 folds: dict[str, int]) -> tuple[list, list[Any]]:
    """One interpreted run of the trace: the opaque modules that differ on their own inputs, and
    the values of ``outputs``."""
    kept: dict[fx.Node, Any] = {}
    differing = local_differences(design, rebuilt, graph_module, fx_nodes, [], modules, inputs=inputs,
                                  keep=(set(outputs), kept), folds=folds) if modules else []
    if not modules:
        recorder = _Recorder(graph_module, set(outputs))
        recorder.run(*inputs)
        kept = recorder.values
    return differing, [kept[o] for o in outputs]


def _compare(got: Any, want: list[Any], output_ids: list[str]) -> tuple[float, float]:
    """The largest difference of the design's outputs from the model's, relative to the largest scale."""
    got = list(got) if isinstance(got, tuple) else [got]
    pairs = [_relative(mine, theirs) for mine, theirs in zip(got, want)]
    if len(got) != len(output_ids):
        return math.inf, 0.0
    worst = max(pairs, key=lambda p: p[0] / max(p[1], ATOL), default=(0.0, 0.0))
    return worst if all(not _differs(*p) for p in pairs) else next(p for p in pairs if _differs(*p))


def _trace_problem(original: nn.Module, graph_module: fx.GraphModule, shapes: list[tuple[int, ...]]) -> str:
    """Why the trace is not the model, or "" when it computes the model's values at each batch (a
    stateful forward shows at the second)."""
    for batch in BATCHES:
        inputs = probe_inputs(shapes, batch)
        try:
            error, scale = _relative(_leaves(original(*inputs)), _leaves(graph_module(*inputs)))
        except Exception as failure:  # noqa: BLE001 - a graph with its traced batch written in, say
            lines = str(failure).strip().splitlines() or [""]
            return (f"at a batch of {batch} the model's graph or the design fails "
                    f"({type(failure).__name__}: {lines[0][:200]})")
        if _differs(error, scale):
            return (f"the trace of the model computes something else than the model at a batch of {batch} "
                    f"(by {error:.3g}): its forward depends on the input in a way a trace cannot keep")
    return ""


def _leaves(value: Any) -> list[Any]:
    from torch.utils._pytree import tree_leaves

    return [v for v in tree_leaves(value) if isinstance(v, torch.Tensor)]


def local_differences(design: Design, rebuilt: fx.GraphModule, graph_module: fx.GraphModule,
                      fx_nodes: dict[str, fx.Node], shapes: list[tuple[int, ...]], only: set[str] | None = None,
                      batch: int = BATCHES[0], inputs: list[torch.Tensor] | None = None,
                      keep: tuple[set[fx.Node], dict[fx.Node, Any]] | None = None,
                      folds: dict[str, int] | None = None) -> list[NodeDifference]:
    """Each node of the design (or those in ``only``) run on the model's own values of its inputs,
    against the model's value at that node: the nodes that compute something else, in the design's order.
    ``inputs``: the probe (else seeded ones of ``shapes``); ``keep``: fx nodes whose values to put
    in the dictionary given with them (so this run also gives the outputs' values); ``folds``: as
    :func:`verify`'s."""
    names = {node_id: name for name, node_id in rebuilt.node_names.items()}
    checked = set(fx_nodes) if only is None else only
    by_fx = {fx_nodes[node_id]: node_id for node_id in checked | {s for n in checked for s in design.inputs_of(n)}}
    graph = design.graph
    pending = {node_id: sum(1 for n in graph.succ[node_id] if n in checked) for node_id in by_fx.values()}
    values: dict[str, Any] = {}
    found: list[NodeDifference] = []

    class Local(Interpreter):
        def run_node(self, n: fx.Node) -> Any:
            result = super().run_node(n)
            if keep is not None and n in keep[0]:
                keep[1][n] = _clone(result)
            node_id = by_fx.get(n)
            if node_id is None:
                return result
            value = result.unflatten(0, (-1, folds[node_id])) if node_id in (folds or {}) else result
            sources = design.inputs_of(node_id)
            if sources and node_id in checked:
                mine = getattr(rebuilt, names[node_id])(*[_clone(values[s]) for s in sources])
                error, scale = _relative(mine, value)
                # an opaque module is rebuilt as the same code: each value must agree on its own
                strict = 0.0 if design.node(node_id).type == "Module" else scale
                if _differs(error, scale) or _differs_somewhere(mine, value, strict) or (
                        n.op == "call_module" and not strict and _differs_louder(
                            self.module.get_submodule(n.target), getattr(rebuilt, names[node_id]),
                            [values[s] for s in sources])):
                    found.append(NodeDifference(node_id, error, scale))
                for source in set(sources):
                    pending[source] -= 1
                    if not pending[source]:
                        del values[source]
            if pending[node_id]:
                values[node_id] = _clone(value)
            return result

    Local(graph_module).run(*(inputs if inputs is not None else probe_inputs(shapes, batch)))
    order = {node_id: index for index, node_id in enumerate(design.graph)}
    return sorted(found, key=lambda d: order[d.node])
