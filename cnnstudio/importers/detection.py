"""torchvision's detectors as designs: the backbone and feature pyramid as layers, the rest as two
verified opaque nodes.

torch.fx cannot trace a detector whole (its forward loops over images, and anchors, proposals, box
decoding and NMS depend on the values), but its backbone traces like any network. A detector is
recognised by its class (``GeneralizedRCNN``: Faster, Mask and Keypoint R-CNN; ``RetinaNet``,
``FCOS``, ``SSD``), its backbone converted as usual, and the rest written as a ``DetectionTransform``
node before it and a ``DetectionHeads`` node after it (``core/layers/detection.py``), which rebuild
torchvision's own code from the builder that makes this model and the settings read from it.

Verification runs the model's own parts composed as the design is (its transform, its traced
backbone, its heads) against the design, node by node as for any import, and the whole model end to
end against that composition. Random weights score every box below the model's threshold, so both
run with the score threshold at 0 for the check: every candidate box, score and label is compared.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import torch
from torch import fx, nn

from cnnstudio.core.design import Design
from cnnstudio.importers.graph import Converted, ImportFailed, constructor_arguments, convert, required_inputs
from cnnstudio.importers.verify import Verification, probe_inputs, verify

# Builder keyword -> where the built model keeps it, per family: the settings an import carries over.
TRANSFORM = {"min_size": "transform.min_size", "max_size": "transform.max_size",
             "image_mean": "transform.image_mean", "image_std": "transform.image_std",
             "size_divisible": "transform.size_divisible", "fixed_size": "transform.fixed_size"}
RCNN = {
    **TRANSFORM,
    "num_classes": "roi_heads.box_predictor.cls_score.out_features",
    "rpn_pre_nms_top_n_train": "rpn._pre_nms_top_n.training", "rpn_pre_nms_top_n_test": "rpn._pre_nms_top_n.testing",
    "rpn_post_nms_top_n_train": "rpn._post_nms_top_n.training", "rpn_post_nms_top_n_test": "rpn._post_nms_top_n.testing",
    "rpn_nms_thresh": "rpn.nms_thresh", "rpn_score_thresh": "rpn.score_thresh",
    "rpn_fg_iou_thresh": "rpn.proposal_matcher.high_threshold", "rpn_bg_iou_thresh": "rpn.proposal_matcher.low_threshold",
    "rpn_batch_size_per_image": "rpn.fg_bg_sampler.batch_size_per_image",
    "rpn_positive_fraction": "rpn.fg_bg_sampler.positive_fraction",
    "box_score_thresh": "roi_heads.score_thresh", "box_nms_thresh": "roi_heads.nms_thresh",
    "box_detections_per_img": "roi_heads.detections_per_img",
    "box_fg_iou_thresh": "roi_heads.proposal_matcher.high_threshold",
    "box_bg_iou_thresh": "roi_heads.proposal_matcher.low_threshold",
    "box_batch_size_per_image": "roi_heads.fg_bg_sampler.batch_size_per_image",
    "box_positive_fraction": "roi_heads.fg_bg_sampler.positive_fraction",
    "bbox_reg_weights": "roi_heads.box_coder.weights",
}
ONE_STAGE = {"score_thresh": "score_thresh", "nms_thresh": "nms_thresh", "detections_per_img": "detections_per_img",
             "topk_candidates": "topk_candidates"}


@dataclass(frozen=True)
class Family:
    """A kind of torchvision detector: its class, the settings its builders take, and which one is
    the score threshold (set to 0 for the check)."""

    base: str  # class path in torchvision.models.detection
    settings: dict[str, str]
    score: str  # the builder keyword of the score threshold


FAMILIES = (
    Family("generalized_rcnn.GeneralizedRCNN",
           {**RCNN, "num_keypoints": "roi_heads.keypoint_predictor.kps_score_lowres.out_channels"}, "box_score_thresh"),
    Family("retinanet.RetinaNet", {**TRANSFORM, **ONE_STAGE, "num_classes": "head.classification_head.num_classes",
                                   "fg_iou_thresh": "proposal_matcher.high_threshold",
                                   "bg_iou_thresh": "proposal_matcher.low_threshold"}, "score_thresh"),
    Family("fcos.FCOS", {**TRANSFORM, **ONE_STAGE, "num_classes": "head.classification_head.num_classes",
                         "center_sampling_radius": "center_sampling_radius"}, "score_thresh"),
    # SSD sets its transform's size itself: only the normalisation is a keyword of its builders.
    Family("ssd.SSD", {"image_mean": "transform.image_mean", "image_std": "transform.image_std", **ONE_STAGE,
                       "num_classes": "head.classification_head.num_columns",
                       "iou_thresh": "proposal_matcher.high_threshold"}, "score_thresh"),
)


def family_of(model: nn.Module) -> Family | None:
    """The detector family ``model`` belongs to (by class, not by name), or None."""
    import sys

    if "torchvision.models.detection" not in sys.modules:  # nothing built from it can be a detector
        return None
    import torchvision.models.detection as detection

    for family in FAMILIES:
        module, _, name = family.base.partition(".")
        if isinstance(model, getattr(getattr(detection, module), name)):
            return family
    return None


_MISSING = object()


def _read(model: nn.Module, path: str) -> Any:
    value: Any = model
    for part in path.split("."):
        value = value.get(part, _MISSING) if isinstance(value, dict) else getattr(value, part, _MISSING)
        if value is _MISSING:
            return _MISSING
    return value


def settings_of(model: nn.Module, family: Family) -> dict[str, Any]:
    """The builder keywords that make ``model``'s settings, read from the model."""
    return {key: value for key, path in family.settings.items() if (value := _read(model, path)) is not _MISSING}


def _heads_signature(model: nn.Module) -> dict[str, tuple[int, ...]]:
    return {k: tuple(v.shape) for k, v in model.state_dict().items() if not k.startswith("backbone.")}


def _candidates(model: nn.Module, name: str) -> list[str]:
    """torchvision's detection builders that may make ``model``: the one named, else those whose model is its class."""
    from torchvision.models import get_model_builder

    from cnnstudio.core.detectors import detection_builders

    builders = detection_builders()
    if name in builders:
        return [name]
    return [b for b in builders if inspect.signature(get_model_builder(b)).return_annotation is type(model)]


def rebuild_recipe(model: nn.Module, family: Family, name: str) -> tuple[str, dict[str, Any]]:
    """The builder and keyword arguments that make ``model``'s heads again: the same tensors and settings."""
    from cnnstudio.core.calls import CallError
    from cnnstudio.core.detectors import build_detector
    from cnnstudio.importers.graph import _json_value

    settings = settings_of(model, family)
    arguments = {key: _json_value(value, type(model).__name__, key) for key, value in settings.items()}
    candidates = _candidates(model, name)
    why = f"no torchvision builder makes a {type(model).__name__}"
    for builder in candidates:
        try:
            rebuilt = build_detector(builder, arguments)
        except CallError as error:
            why = str(error)
            continue
        differs = [key for key, value in settings_of(rebuilt, family).items() if value != settings.get(key, _MISSING)]
        if _heads_signature(rebuilt) != _heads_signature(model):
            why = f"{builder}'s heads hold other tensors"
        elif differs:
            why = f"{builder} does not take {', '.join(differs)} as given"
        else:
            return builder, arguments
    raise ImportFailed(f"{name}: its detection heads (anchors, proposals, box decoding, NMS) run as torchvision's "
                       f"code, rebuilt by one of its builders ({', '.join(candidates) or 'none of its class'}), but "
                       f"none makes this model: {why}")


class _Backbone(nn.Module):
    """The detector's backbone alone, returning its feature maps as a tuple (their names kept)."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone
        self.names: list[str] = []

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, ...]:
        maps = self.backbone(images)
        if isinstance(maps, torch.Tensor):  # as the detectors do with a backbone of one map
            maps = {"0": maps}
        self.names = list(maps)
        return tuple(maps.values())


class DetectorVerification(Verification):
    """A detector's verification, whose sentence says the check kept every candidate box."""

    def sentence(self) -> str:
        return (f"{super().sentence()} (with the score threshold at 0 on both, so that every candidate box, "
                "score and label is compared)")


def _parts_of(model: nn.Module) -> nn.Module:
    """A copy of the detector that shares its modules and weights but not its list of them (the
    heads take the backbone's place out of the copy, never out of the model)."""
    clone = copy.copy(model)
    clone.__dict__.update({k: type(v)(v) for k, v in vars(model).items() if k in ("_modules", "_parameters", "_buffers")})
    return clone


@contextmanager
def _scoring_everything(family: Family, *models: nn.Module) -> Iterator[None]:
    """Every candidate detection kept (score threshold 0) in these models; put back on leaving."""
    path = family.settings[family.score]
    owner_path, _, attribute = path.rpartition(".")
    owners = [_read(m, owner_path) if owner_path else m for m in models]
    saved = [getattr(owner, attribute) for owner in owners]
    try:
        for owner in owners:
            setattr(owner, attribute, 0.0)
        yield
    finally:
        for owner, value in zip(owners, saved):
            setattr(owner, attribute, value)


def convert_detector(model: nn.Module, shapes: list[tuple[int, ...]], name: str) -> tuple[Converted, Verification]:
    """The detector as a design (images → transform → backbone layers → heads), verified."""
    from cnnstudio.core.detectors import DetectionHeads, ImageTransform, detection_layout
    from cnnstudio.core.layers.detection import resized
    from cnnstudio.core.layout import layered_positions

    family = family_of(model)
    model.eval()
    if len(shapes) != 1 or len(shapes[0]) != 3:
        raise ImportFailed(f"{name} is a detector: it takes one batch of images, given as --input 3xHxW")
    builder, arguments = rebuild_recipe(model, family, name)
    transform_arguments = constructor_arguments(model.transform)
    transformed = resized(shapes[0], transform_arguments)
    backbone = _Backbone(model.backbone)
    try:
        converted = convert(backbone, [transformed], name)
    except ImportFailed as error:
        raise ImportFailed(f"{name}: its backbone (which sees the images at {'x'.join(map(str, transformed))}) "
                           f"cannot be imported: {error}") from None
    design = converted.design
    if len(design.output_ids) != len(backbone.names):
        raise ImportFailed(f"{name}: its backbone's {len(backbone.names)} feature maps are not "
                           f"{len(backbone.names)} distinct layers of the design")
    rows, keypoints, masks = detection_layout(model)
    heads_params = {"builder": builder, "arguments": arguments, "features": backbone.names,
                    "detections": rows, "keypoints": keypoints, "masks": masks}
    fx_input = required_inputs(converted.graph_module)[0]
    _add_ends(design, converted, shapes[0], transform_arguments, heads_params)

    reference_heads = DetectionHeads(_parts_of(model), backbone.names, rows, keypoints, masks)
    converted.weights.update({f"heads.{k}": v for k, v in reference_heads.state_dict().items()})
    converted.graph_module, converted.fx_nodes = _composed(ImageTransform(model.transform), backbone, reference_heads,
                                                           converted, fx_input)
    converted.scopes.update(images="", transform="", heads="")
    for node_id, pos in layered_positions(design).items():
        design.node(node_id).pos = pos

    check = design.copy()
    check.set_param("heads", "arguments", {**arguments, family.score: 0.0})
    with _scoring_everything(family, model, reference_heads.model):
        verification = verify(check, converted.weights, converted.graph_module, converted.fx_nodes, shapes)
        problem = _composition_problem(model, converted.graph_module, shapes, rows, keypoints, masks)
    result = DetectorVerification(verification.exact and not problem, verification.error, verification.seconds,
                                  verification.differing, problem or verification.problem, verification.parameters)
    return converted, result


def _add_ends(design: Design, converted: Converted, shape: tuple[int, ...], transform_arguments: dict[str, Any],
              heads_params: dict[str, Any]) -> None:
    """The images Input and the transform before the backbone's layers, the heads after them."""
    features = list(design.output_ids)
    old_input = design.input_ids[0]
    consumers = [(dst, design.inputs_of(dst).index(old_input)) for dst in design.outputs_of(old_input)]
    design.remove_node(old_input)
    converted.scopes.pop(old_input, None)
    converted.fx_nodes.pop(old_input, None)
    design.add_node("Input", {"shape": list(shape)}, "images")
    design.add_node("DetectionTransform", {"arguments": transform_arguments}, "transform")
    design.connect("images", "transform")
    for consumer, index in consumers:
        design.connect("transform", consumer, index)
    design.add_node("DetectionHeads", heads_params, "heads")
    for source in ["images", *features]:
        design.connect(source, "heads")
    design.output_order = ["heads"]


def _composed(transform: nn.Module, backbone: _Backbone, heads: nn.Module, converted: Converted,
              fx_input: fx.Node) -> tuple[fx.GraphModule, dict[str, fx.Node]]:
    """The model's own parts wired as the design is: images → transform → the traced backbone → heads;
    and the node of this graph that computes each design node."""
    root = nn.Module()
    root.transform, root.backbone, root.heads = transform, backbone.backbone, heads
    graph = fx.Graph()
    images = graph.placeholder("images")
    transformed = graph.call_module("transform", (images,))
    copied: dict[fx.Node, fx.Node] = {fx_input: transformed}
    maps = graph.graph_copy(converted.graph_module.graph, copied)
    detections = graph.call_module("heads", (images, *maps))
    graph.output(detections)
    nodes = {node_id: copied[node] for node_id, node in converted.fx_nodes.items()}
    nodes.update(images=images, transform=transformed, heads=detections)
    return fx.GraphModule(root, graph, class_name="Detector"), nodes


def _composition_problem(model: nn.Module, composed: fx.GraphModule, shapes: list[tuple[int, ...]], rows: int, keypoints: int, masks: bool) -> str:
    """Why the model's parts wired as the design is do not compute the model (its forward does more), or ''."""
    from cnnstudio.core.detectors import pack_detections
    from cnnstudio.core.layers.detection import detection_columns
    from cnnstudio.importers.verify import _differs, _relative

    [images] = probe_inputs(shapes, 2)
    want = pack_detections(model(images), rows, detection_columns(shapes[0], keypoints, masks))
    error, scale = _relative(composed(images), want)
    if not _differs(error, scale):
        return ""
    how = "another shape" if math.isinf(error) else f"{error:.3g} on values up to {scale:.3g}"
    return (f"{type(model).__name__}'s forward computes something else than its transform, backbone and heads "
            f"in a row (by {how}): it does more than torchvision's")
