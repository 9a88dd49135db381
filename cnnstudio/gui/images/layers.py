"""Which layers of a design Style Transfer proposes (Qt-free).

Gatys et al. take the style from one layer of each block of VGG (conv1_1 ... conv5_1) and the
content from a deep one (conv4_2). A design that has those ids gets them; any other design gets
the same idea on its own convolutions: up to five spread evenly from the first to the last, and
the content at about two thirds of the depth. Only layers whose output is a feature map count.
``Figure 21`` thus gets conv1 to conv3, where VGG's names would fail.
"""

from __future__ import annotations

from dataclasses import dataclass

import networkx as nx

from cnnstudio.core.analysis import Analysis
from cnnstudio.core.design import Design

PAPER_CONTENT = ("conv4_2",)  # style.PAPER_CONTENT / PAPER_STYLE, without importing torch with the window
PAPER_STYLE = ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
STYLE_LAYERS = 5
CONTENT_DEPTH = 0.7  # conv4_2 is VGG-16's tenth convolution of thirteen


@dataclass(frozen=True)
class Proposal:
    content: tuple[str, ...]
    style: tuple[str, ...]


def feature_convolutions(design: Design, analysis: Analysis) -> list[str]:
    """The design's 2D convolutions whose output is an image of features ([C, H, W], H and W > 1),
    shallow to deep: a 1x1 map has no texture to take a style from."""
    order = nx.topological_sort(design.graph) if nx.is_directed_acyclic_graph(design.graph) else design.graph
    found = []
    for node_id in order:
        info = analysis.nodes.get(node_id)
        shape = info.shape if info else None
        if design.node(node_id).layer_type.category == "convolution" and shape and len(shape) == 3 and min(shape[1:]) > 1:
            found.append(node_id)
    return found


def propose_layers(design: Design, analysis: Analysis) -> Proposal:
    """The content and style layers to offer for ``design`` (empty when it has no convolutions)."""
    if all(node_id in design for node_id in (*PAPER_CONTENT, *PAPER_STYLE)):
        return Proposal(PAPER_CONTENT, PAPER_STYLE)
    convs = feature_convolutions(design, analysis)
    if not convs:
        return Proposal((), ())
    count = min(STYLE_LAYERS, len(convs))
    spread = [round(i * (len(convs) - 1) / (count - 1)) for i in range(count)] if count > 1 else [0]
    style = tuple(dict.fromkeys(convs[i] for i in spread))
    return Proposal((convs[round(CONTENT_DEPTH * (len(convs) - 1))],), style)
