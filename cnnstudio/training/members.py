"""Several Inputs trained on each other's samples: a Siamese pair or a triplet (no torch, no Qt).

A metric-learning design with one Input forms its pairs and triplets inside each batch. A design
with one Input per member (two towers, shared through tied weights or separate, or three) says
so in its shape: it needs each sample to come with its mates, each member to its own Input, and
one embedding per Input. This module reads that from the design, for the defaults it implies
(:mod:`cnnstudio.training.defaults`), ``check`` and the engine alike, and says in a sentence what
does not fit; :mod:`cnnstudio.training.data.pairing` picks the mates.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx

from cnnstudio.core.design import Design
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import TrainingSettings

KINDS = {2: "pairs", 3: "triplets"}  # Inputs -> what each sample brings
LOSS = {2: "contrastive", 3: "triplet"}  # Inputs -> the loss that trains them
ROLES = {2: "a Siamese pair's embeddings", 3: "the embeddings of an anchor, a positive and a negative"}


def towers(design: Design, outputs: list[str]) -> list[str] | None:
    """``outputs`` in the order of the Inputs they embed, when each is fed by exactly one Input and
    each Input feeds exactly one of them; None otherwise (a merged head, or a missing tower)."""
    inputs = design.input_ids
    if len(inputs) < 2 or len(outputs) != len(inputs) or any(node not in design for node in outputs):
        return None
    fed_by = {node: [i for i in inputs if i in nx.ancestors(design.graph, node)] for node in outputs}
    if any(len(fed) != 1 for fed in fed_by.values()) or len({fed[0] for fed in fed_by.values()}) != len(inputs):
        return None
    owner = {fed[0]: node for node, fed in fed_by.items()}
    return [owner[i] for i in inputs]


def problems(settings: TrainingSettings, design: Design) -> list[tuple[str, str]]:
    """(key, sentence) for each way the metric task cannot train this design's several Inputs."""
    inputs = design.input_ids
    count = len(inputs)
    if settings.task != "metric" or count < 2:
        return []
    if count not in KINDS:
        return [("task", f"the metric task trains one Input (pairs and triplets formed inside each batch), "
                         f"2 Inputs (a Siamese pair) or 3 (anchor, positive, negative); this design has "
                         f"{count} Inputs ({', '.join(inputs)}), so set \"task\" to what it learns")]
    found = []
    loss = settings.task_options.loss
    if loss != LOSS[count]:
        other = next(n for n, name in LOSS.items() if name == loss)
        found.append(("loss", f"with {count} Inputs the metric task trains {KINDS[count]} with the {LOSS[count]} "
                              f"loss; 'loss' is {loss}, which trains {KINDS[other]} ({other} Inputs)"))
    outputs = settings.outputs or design.output_ids
    if towers(design, outputs) is None:
        fed = "; ".join(f"'{node}' by {_fed(design, node)}" for node in outputs if node in design)
        found.append(("outputs", f"with {count} Inputs the metric task needs one output per Input, each fed by "
                                 f"its own Input (that tower's embedding); the outputs are fed: {fed or 'none'}"))
    return found


def warnings(settings: TrainingSettings, design: Design) -> list[tuple[str, str]]:
    """(key, sentence) for a triplet whose towers share no weights: the negative's own tower can
    learn to sit apart from the other two whatever the sample, and the loss falls to zero while
    the embedding learns nothing (as Hoffer and Ailon's triplet network, the towers are one network)."""
    inputs = design.input_ids
    if settings.task != "metric" or len(inputs) != 3 or problems(settings, design):
        return []
    outputs = towers(design, settings.outputs or design.output_ids)
    if outputs is None or _shared(design, outputs):
        return []
    return [("task", "the 3 towers share no weights, so the negative's tower can learn to place every sample "
                     "apart from the other two and the loss falls without learning; tie their weights "
                     "(\"tied\" in the design) or use one Input, whose batches form the triplets")]


def count(settings: TrainingSettings, design: Design, warn: Callable[[str], None]) -> int:
    """The members of each sample the engine feeds: 1 (one sample to every Input), 2 or 3. Raises
    :class:`TrainingError` with the first problem; ``warn`` gets the warnings."""
    found = problems(settings, design)
    if found:
        raise TrainingError(found[0][1])
    for _, message in warnings(settings, design):
        warn(message)
    return len(design.input_ids) if settings.task == "metric" and len(design.input_ids) > 1 else 1


def _shared(design: Design, outputs: list[str]) -> bool:
    """Whether every tower ties some tensor to another tower's."""
    tower = {node: i for i, out in enumerate(outputs) for node in (nx.ancestors(design.graph, out) | {out})}
    linked = {tower[a] for (a, _), (b, _) in design.tied.items() if a in tower and b in tower and tower[a] != tower[b]}
    linked |= {tower[b] for (a, _), (b, _) in design.tied.items() if a in tower and b in tower and tower[a] != tower[b]}
    return linked == set(range(len(outputs)))


def _fed(design: Design, node: str) -> str:
    fed = [f"'{i}'" for i in design.input_ids if i in nx.ancestors(design.graph, node)]
    return " and ".join(fed) or "no Input"
