"""The settings a design gets for the keys its "training" object leaves out: data that fits its
Input and a task that fits its outputs (no torch, no Qt).

A fixed default (synthetic-shapes, classification) would report a valid 1D, 3D or video design
invalid for a setting nobody chose. So the defaults are read from the design itself, in one place
that the engine, ``cnnstudio check`` and the studio's form all use, and each one picked comes with
its reason, which the form shows and ``check`` names when the pick cannot fit. Several Inputs
that each feed their own output of one shape are the towers of a metric-learning network: two
train on pairs with the contrastive loss, three on triplets (:mod:`cnnstudio.training.members`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.design import Design
from cnnstudio.training import members
from cnnstudio.training.settings import TrainingSettings, parse_settings

# What an Input of each rank holds. A rank-4 Input with 3 channels is video, as torchvision's video
# models (r3d_18, mc3_18, r2plus1d_18, s3d, mvit, swin3d) take it: [3, T, H, W], RGB frames over time;
# other rank-4 Inputs are volumes [C, D, H, W] (CT, MRI, the Conv3d templates).
VIDEO_CHANNELS = 3
SOURCE_FOR = {"sequences": "synthetic-sequences", "images": "synthetic-shapes", "volumes": "synthetic-volumes",
              "video": "synthetic-video"}


def input_kind(shape: Any) -> str | None:
    """"sequences", "images", "volumes" or "video" for an Input's shape [C, ...]; None for other ranks."""
    if not isinstance(shape, (list, tuple)):
        return None
    if len(shape) == 4:
        return "video" if shape[0] == VIDEO_CHANNELS else "volumes"
    return {2: "sequences", 3: "images"}.get(len(shape))


@dataclass(frozen=True)
class Picked:
    """A key the design's "training" object leaves out, the value picked for it, and why."""

    key: str
    value: Any
    reason: str

    def __str__(self) -> str:
        return f"default: {self.value} ({self.reason})"


def picked_defaults(design: Design, written: Mapping[str, Any] | None = None,
                    analysis: Analysis | None = None) -> list[Picked]:
    """The defaults the design implies for the keys ``written`` (its "training" object with any
    command-line overrides) leaves out: ``task`` from the outputs, then ``data`` from the Input, and
    for metric learning on several Inputs the ``loss`` their count calls for.
    ``analysis``: the design's, when the caller has it (the studio, on every keystroke)."""
    written = written if isinstance(written, Mapping) else {}
    picks = []
    task = written.get("task")
    if "task" not in written:
        picks.append(_task(design, written.get("outputs"), analysis or analyze(design)))
        task = picks[-1].value
    sharing = len(design.input_ids) if task == "metric" and len(design.input_ids) in members.KINDS else 1
    if "data" not in written:
        data = _data(design, sharing)
        if data is not None:
            picks.append(data)
    if sharing > 1 and "loss" not in written:
        picks.append(Picked("loss", members.LOSS[sharing], f"{sharing} Inputs: {members.KINDS[sharing]}"))
    return picks


def with_defaults(raw: Mapping[str, Any] | None, design: Design, overrides: Mapping[str, Any] | None = None,
                  analysis: Analysis | None = None) -> dict[str, Any]:
    """``raw`` with the design's defaults filled in for the keys neither it nor ``overrides`` set."""
    raw = dict(raw) if isinstance(raw, Mapping) else {}
    given = {**raw, **{k: v for k, v in (overrides or {}).items() if v is not None}}
    return {**{pick.key: pick.value for pick in picked_defaults(design, given, analysis)}, **raw}


def default_settings(design: Design, overrides: Mapping[str, Any] | None = None) -> TrainingSettings:
    """The design's settings: its "training" object, the defaults it implies, ``overrides`` on top.
    Raises :class:`~cnnstudio.training.errors.TrainingError` naming the first wrong key."""
    return parse_settings(with_defaults(design.training, design, overrides), overrides)


def _shape(design: Design, node_id: str) -> Any:
    return design.node(node_id).params.get("shape")


def _data(design: Design, sharing: int) -> Picked | None:
    """The generated source that fits the (first) Input; the others are checked against it.
    ``sharing``: the members of each sample (2: pairs, 3: triplets), one to each Input."""
    inputs = design.input_ids
    if not inputs:
        return None
    first = inputs[0]
    kind = input_kind(_shape(design, first))
    if kind is None:
        return None
    shown = f"Input '{first}' {list(_shape(design, first))}" if len(inputs) > 1 else f"Input {list(_shape(design, first))}"
    paired = f"; {members.KINDS[sharing]} of its samples, one to each Input" if sharing > 1 else ""
    return Picked("data", SOURCE_FOR[kind], f"fits {shown}, {kind}{paired}")


def _task(design: Design, outputs: Any, analysis: Analysis) -> Picked:
    """The task the outputs' shapes call for; classification when nothing else fits."""
    # the user's outputs when they are node ids (a wrong list is check's to report), else the design's
    chosen = outputs if isinstance(outputs, list) and outputs and all(isinstance(o, str) for o in outputs) else design.output_ids
    shapes = [analysis.nodes[node].shape if node in analysis.nodes else None for node in chosen]
    inputs = [_shape(design, node) for node in design.input_ids]
    source = tuple(inputs[0]) if inputs and isinstance(inputs[0], (list, tuple)) else None
    if None in shapes or source is None:
        return Picked("task", "classification", "the outputs' shapes are not known yet")
    names = ", ".join(f"'{node}' {list(shape)}" for node, shape in zip(chosen, shapes))
    if members.towers(design, chosen) is not None and len({tuple(shape) for shape in shapes}) == 1:
        role = members.ROLES.get(len(shapes), f"the embeddings of {len(shapes)} samples")
        return Picked("task", "metric", f"{len(shapes)} Inputs, each with its own output ({names}): {role}")
    if len(shapes) == 2 and all(len(s) == 1 for s in shapes) and 4 in (shapes[0][0], shapes[1][0]):
        return Picked("task", "localization", f"the outputs {names} are a box of 4 values and class scores")
    if len(shapes) == 1 and tuple(shapes[0]) == source:
        return Picked("task", "reconstruction", f"the output {names} has the Input's shape")
    if len(shapes) == 1 and len(shapes[0]) == 3 and len(source) == 3:
        channels, height, width = shapes[0]
        if 2 * height >= source[1] and 2 * width >= source[2]:  # U-Net's valid convolutions crop a little
            return Picked("task", "segmentation", f"the output {names} is a score map about the Input's size")
        if height == width and 4 * height <= source[1] and channels > 10:  # YOLO: 2 boxes of 5 values, classes
            return Picked("task", "detection", f"the output {names} is a grid of cells")
    return Picked("task", "classification", f"the output{'s' if len(shapes) > 1 else ''} {names}: class scores")
