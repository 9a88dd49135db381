"""Property test: for random valid designs, inferred shapes equal a real forward pass (issue 7).

Designs grow one node at a time from one or two Inputs: convolutions (every padding mode),
transposed convolutions, pooling, activations, normalisation, upsampling, Add/Concat merges of
compatible branches, flatten + linear heads. A node analysis rejects is dropped again, so every
example is valid; the test then checks each node against torch (shape and parameter count).
"""

from __future__ import annotations

from hypothesis import HealthCheck, assume, given, note, settings
from hypothesis import strategies as st

from cnnstudio.core.analysis import analyze
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import dumps
from corehelpers import check_against_torch

SPATIAL = {1: (6, 24), 2: (4, 12), 3: (3, 6)}


def _size(draw, dims: int, low: int, high: int):
    """One int for all axes, or a list with one per axis."""
    if dims > 1 and draw(st.booleans()):
        return [draw(st.integers(low, high)) for _ in range(dims)]
    return draw(st.integers(low, high))


def _layer(draw, dims: int, channels: int) -> tuple[str, dict]:
    kind = draw(
        st.sampled_from(
            ["conv", "conv", "conv", "transpose", "pool", "pool", "adaptive", "act", "norm", "upsample", "head"]
        )
    )
    if kind == "conv":
        padding = draw(
            st.sampled_from(["valid", "same", "causal", 0, 1, 2] if dims == 1 else ["valid", "same", 0, 1, 2])
        )
        groups = draw(st.sampled_from([1, 1, channels]))
        return f"Conv{dims}d", {
            "out_channels": groups * draw(st.integers(1, 3)),
            "kernel_size": _size(draw, dims, 1, 4),
            "stride": _size(draw, dims, 1, 3),
            "padding": padding,
            "dilation": _size(draw, dims, 1, 2),
            "groups": groups,
            "bias": draw(st.booleans()),
        }
    if kind == "transpose":
        return f"ConvTranspose{dims}d", {
            "out_channels": draw(st.integers(1, 4)),
            "kernel_size": draw(st.integers(1, 3)),
            "stride": draw(st.integers(1, 2)),
            "padding": draw(st.integers(0, 1)),
            "output_padding": draw(st.integers(0, 1)),
        }
    if kind == "pool":
        flavour = draw(st.sampled_from(["Max", "Avg", "Min"] if dims == 2 else ["Max", "Avg"]))
        params = {
            "kernel_size": _size(draw, dims, 1, 3),
            "stride": draw(st.one_of(st.none(), st.integers(1, 3))),
            "padding": draw(st.integers(0, 2)),
            "ceil_mode": draw(st.booleans()),
        }
        if flavour == "Max":
            params["dilation"] = draw(st.integers(1, 2))
        return f"{flavour}Pool{dims}d", params
    if kind == "adaptive":
        return f"Adaptive{draw(st.sampled_from(['Avg', 'Max']))}Pool{dims}d", {"output_size": _size(draw, dims, 1, 3)}
    if kind == "act":
        return draw(st.sampled_from(["ReLU", "Tanh", "Sigmoid", "LeakyReLU", "Identity", "Dropout"])), {}
    if kind == "norm":
        return f"BatchNorm{dims}d", {"affine": draw(st.booleans())}
    if kind == "upsample":
        return "Upsample", {"scale_factor": draw(st.sampled_from([0.5, 1.5, 2.0])), "mode": "nearest"}
    return "Flatten", {}


@st.composite
def valid_designs(draw) -> Design:
    dims = draw(st.sampled_from([1, 2, 3]))
    low, high = SPATIAL[dims]
    design = Design("random")
    for index in range(draw(st.integers(1, 2))):
        shape = [draw(st.integers(1, 3)), *(draw(st.integers(low, high)) for _ in range(dims))]
        design.add_node("Input", {"shape": shape}, f"in{index}")
    for _ in range(draw(st.integers(1, 12))):
        analysis = analyze(design)
        shapes = {n: analysis.nodes[n].shape for n in design.graph if analysis.nodes[n].shape is not None}
        candidates = sorted(shapes)
        source = draw(st.sampled_from(candidates))
        shape = shapes[source]
        if draw(st.integers(0, 4)) == 0:  # a merge of branches that fit together
            merge = draw(st.sampled_from(["Add", "Concat"]))
            fits = [
                n
                for n in candidates
                if n != source
                and (shapes[n] == shape if merge == "Add" else len(shapes[n]) == len(shape) and shapes[n][1:] == shape[1:])
            ]
            if not fits:
                continue
            others = draw(st.lists(st.sampled_from(fits), min_size=1, max_size=2, unique=True))
            node = design.add_node(merge).id
            for src in [source, *others]:
                design.connect(src, node)
        elif len(shape) == 1:  # a dense head
            node = design.add_node("Linear", {"out_features": draw(st.integers(1, 6))}).id
            design.connect(source, node)
        else:
            type_name, params = _layer(draw, len(shape) - 1, shape[0])
            node = design.add_node(type_name, params).id
            design.connect(source, node)
        if analyze(design).nodes[node].shape is None:
            design.remove_node(node)  # analysis rejects it: keep only valid designs
    sinks = [n for n in design.graph if not design.graph.succ[n]]
    if draw(st.booleans()) and len(sinks) > 1:
        design.output_order = draw(st.permutations(sinks))
    return design


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(valid_designs())
def test_inferred_shapes_match_forward_pass(design):
    analysis = analyze(design)
    assume(analysis.valid)
    note(dumps(design))  # shown for a failing example
    check_against_torch(design)
