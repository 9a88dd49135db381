"""Steps of an exported program whose values are the same for every input: made from sizes and
literals only (Swin's shifted-window mask: zeros the size of the padded grid, a count written into
each of nine slices). They read the input only for its dtype and device, so they formally depend on
it; written into a design as calls they nest deeper than a design allows (each write reads the
tensor before it three times). Such a step can be held as the tensor it computes instead.

Only aten calls are taken (their tags say which ones draw random numbers), none that writes into a
tensor, and none larger than LARGEST; nothing that reads a weight, a buffer or the batch size is, so
training and another batch size see what the model does.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import fx

# Calls that read a tensor only for its dtype and device (their first argument).
MAKERS = {torch.ops.aten.new_zeros.default, torch.ops.aten.new_ones.default, torch.ops.aten.new_empty.default,
          torch.ops.aten.new_full.default}
METADATA = ("device", "dtype")
LARGEST = 1 << 22  # elements: a mask or a grid of positions, not a tensor a file could make memory run out with


def fixed_nodes(graph_module: fx.GraphModule) -> set[fx.Node]:
    """The nodes whose value no input changes, by their values or their batch size."""
    held = {name for name, _ in graph_module.named_parameters(remove_duplicate=False)}
    held |= {name for name, _ in graph_module.named_buffers(remove_duplicate=False)}
    fixed: set[fx.Node] = set()
    for node in graph_module.graph.nodes:
        if node.op == "get_attr":
            if node.target not in held and isinstance(operator.attrgetter(node.target)(graph_module), torch.Tensor):
                fixed.add(node)  # a constant torch.export lifted out of the code (a Python number made a tensor)
        elif node.op == "call_function" and _fixed_call(node, fixed):
            fixed.add(node)
    return fixed


def _fixed_call(node: fx.Node, fixed: set[fx.Node]) -> bool:
    target = node.target
    if target is getattr:
        return node.args[1] in METADATA
    if not isinstance(target, torch._ops.OpOverload) or torch.Tag.nondeterministic_seeded in target.tags \
            or target._schema.is_mutable:  # random numbers, or a write into a tensor another step may read
        return False
    value = node.meta.get("value")
    if not isinstance(value, torch.Tensor) or value.numel() > LARGEST:
        return False
    read = node.all_input_nodes
    if target in MAKERS:
        read = [n for n in read if n is not node.args[0]]
    return all(n in fixed for n in read)


def value_of(node: fx.Node, graph_module: fx.GraphModule, fixed: set[fx.Node], known: dict[fx.Node, Any]) -> Any:
    """The real value of a fixed node (``known`` keeps each value asked for once)."""
    if node not in known:
        known[node] = _evaluate(node, graph_module, fixed)
    return known[node]


def _evaluate(node: fx.Node, graph_module: fx.GraphModule, fixed: set[fx.Node]) -> Any:
    """Run the fixed steps ``node`` is made of, copied into a graph of their own, with fx's
    interpreter: in order, without recursion (a chain of any length), each value let go once no
    later step reads it. A tensor read only for its dtype is an empty one of that dtype."""
    needed, stack = set(), [node]
    while stack:
        current = stack.pop()
        if current not in needed:
            needed.add(current)
            stack.extend(a for a in current.all_input_nodes if a in fixed)
    graph, env, samples = fx.Graph(), {}, []
    for arg in dict.fromkeys(a for n in needed for a in n.all_input_nodes if a not in fixed):
        env[arg] = graph.placeholder(f"dtype_of_{len(samples)}")
        samples.append(torch.empty(0, dtype=arg.meta["value"].dtype))
    for current in graph_module.graph.nodes:
        if current in needed:
            env[current] = graph.node_copy(current, env.__getitem__)
    graph.output(env[node])
    with torch.no_grad():
        return fx.Interpreter(fx.GraphModule(graph_module, graph)).run(*samples)
