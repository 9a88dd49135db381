"""torchvision's detectors import (issue 21): the backbone and feature pyramid as layers, the
transform and the heads (anchors, proposals, ROI pooling, box decoding, NMS) as two verified opaque
nodes, the design's detections equal to the model's; a wrong head is caught, and a detector no
torchvision builder makes is refused with a sentence naming the part."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.models import detection

from cnnstudio.cli import main
from cnnstudio.core.analysis import analyze
from cnnstudio.core.catalogue import ShapeError
from cnnstudio.core.compiler import build_model
from cnnstudio.core.designfile import load_design
from cnnstudio.core.detectors import detection_layout, pack_detections
from cnnstudio.core.layers.detection import detection_columns, resized
from cnnstudio.core.weights import load_matching
from cnnstudio.gui.describe import caption
from cnnstudio.importers import detection as importer
from cnnstudio.importers import import_model, save_import
from cnnstudio.importers.graph import ImportFailed

SMALL = dict(weights=None, weights_backbone=None, num_classes=4)
SHAPE = (3, 48, 64)


def tiny_fasterrcnn() -> torch.nn.Module:
    """Faster R-CNN (MobileNet v3, FPN) at 64 pixels with few proposals: seconds, not minutes."""
    torch.manual_seed(0)
    return detection.fasterrcnn_mobilenet_v3_large_320_fpn(
        min_size=64, max_size=96, rpn_pre_nms_top_n_test=30, rpn_post_nms_top_n_test=30, box_detections_per_img=12,
        **SMALL)


@pytest.fixture(scope="module")
def imported():
    model = tiny_fasterrcnn()
    return model, import_model(model, [SHAPE])


def _all_boxes(model: torch.nn.Module) -> None:
    """Random weights score every box below the model's threshold: keep them all, to compare something."""
    model.roi_heads.score_thresh = 0.0


def test_faster_rcnn_imports_exactly_with_its_backbone_as_layers(imported) -> None:
    model, result = imported
    design = result.design
    assert result.verification.exact, result.verification.sentence()
    assert "score threshold at 0" in result.verification.sentence()
    assert design.inputs_of("transform") == ["images"] and design.node("transform").type == "DetectionTransform"
    heads = design.node("heads")
    assert heads.type == "DetectionHeads" and design.output_ids == ["heads"]
    assert heads.params["builder"] == "fasterrcnn_mobilenet_v3_large_320_fpn" and heads.params["features"] == ["0", "1", "pool"]
    assert heads.params["arguments"]["box_detections_per_img"] == 12 and heads.params["arguments"]["num_classes"] == 4
    feeding = design.inputs_of("heads")
    assert feeding[0] == "images" and all(f.startswith("backbone.fpn.") for f in feeding[1:])
    opaque = {n.id for n in design.nodes if n.layer_type.opaque}
    layers = [n for n in design.nodes if n.id.startswith("backbone.") and not n.layer_type.opaque]
    assert {"transform", "heads"} <= opaque and len(layers) > 150  # the convolutions, norms, FPN: editable
    analysis = analyze(design)
    assert analysis.valid
    assert analysis.total_params == sum(p.numel() for p in model.parameters()) == result.verification.parameters


def test_the_design_computes_the_models_detections(imported) -> None:
    """Independently of the verifier: the built design and the model, both keeping every box."""
    model, result = imported
    design = result.design.copy()
    design.set_param("heads", "arguments", {**design.node("heads").params["arguments"], "box_score_thresh": 0.0})
    built = build_model(design).eval()
    load_matching(built, result.weights, "the import")
    original = tiny_fasterrcnn()  # the same seed: the same weights as the imported one
    original.load_state_dict(model.state_dict())
    _all_boxes(original.eval())
    images = torch.rand(2, *SHAPE)
    with torch.no_grad():
        want = pack_detections(original(images), 12, detection_columns(SHAPE, 0, False))
        got = built(images)
    assert got.shape == (2, 12, 6) and (want[..., 5] >= 0).all()  # twelve real detections per image
    assert torch.equal(got, want)


def test_a_written_detector_opens_checks_and_says_what_its_opaque_nodes_are(imported, tmp_path: Path,
                                                                            capsys: pytest.CaptureFixture[str]) -> None:
    _, result = imported
    path = tmp_path / "detector.json"
    save_import(result, path)
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "DetectionHeads" in out and "valid" in out
    assert "warning in training.task" in out and "evaluation mode only" in out  # said, not a crash or an error
    design = load_design(path)
    for node_id, words in (("heads", "fasterrcnn_mobilenet_v3_large_320_fpn heads"), ("transform", "normalise, resize, pad")):
        node = design.node(node_id)
        assert words in caption(node.layer_type, node.params)
    assert "12 detections per image" in analyze(design).nodes["heads"].formulas[0]


def test_a_wrong_opaque_head_is_caught_and_named(monkeypatch: pytest.MonkeyPatch) -> None:
    """Heads rebuilt with other box-decoding weights: the verifier refuses, naming the heads."""
    recipe = importer.rebuild_recipe

    def wrong(*args):
        builder, arguments = recipe(*args)
        return builder, {**arguments, "bbox_reg_weights": {"tuple": [1.0, 1.0, 1.0, 1.0]}}

    monkeypatch.setattr(importer, "rebuild_recipe", wrong)
    result = import_model(tiny_fasterrcnn(), [SHAPE], allow_unverified=True)  # refused without the flag
    assert not result.verification.exact
    assert "first node that computes something else is heads" in result.verification.sentence()
    marked = result.design
    assert marked.node("heads").unverified and not marked.node("transform").unverified


class CustomHeads(detection.FasterRCNN):
    """A detector of the user's own class: no torchvision builder makes it."""


def test_a_detector_no_builder_makes_is_refused_saying_which_part_and_why() -> None:
    base = tiny_fasterrcnn()
    custom = CustomHeads(base.backbone, num_classes=4, min_size=64, max_size=96)
    with pytest.raises(ImportFailed, match=r"detection heads .* run as torchvision's code.*no torchvision builder makes "
                                           r"a CustomHeads"):
        import_model(custom, [SHAPE])
    bigger = tiny_fasterrcnn()
    bigger.roi_heads.box_predictor = detection.faster_rcnn.FastRCNNPredictor(1024, 9)
    bigger.roi_heads.box_predictor.cls_score = torch.nn.Linear(1024, 4)  # class count read as 4: tensors differ
    with pytest.raises(ImportFailed, match="heads hold other tensors"):
        import_model(bigger, [SHAPE])


@settings(max_examples=40, deadline=None)
@given(height=st.integers(8, 300), width=st.integers(8, 300), smallest=st.integers(16, 400),
       largest=st.integers(16, 700), divisible=st.sampled_from([1, 8, 32]))
def test_the_transforms_shape_rule_is_torchvisions(height: int, width: int, smallest: int, largest: int,
                                                   divisible: int) -> None:
    from torchvision.models.detection.transform import GeneralizedRCNNTransform

    transform = GeneralizedRCNNTransform(smallest, largest, [0.0] * 3, [1.0] * 3, size_divisible=divisible).eval()
    arguments = {"min_size": {"tuple": [smallest]}, "max_size": largest, "size_divisible": divisible}
    try:
        with torch.device("meta"):
            real = tuple(transform(torch.empty(1, 3, height, width))[0].tensors.shape[1:])
    except (ZeroDivisionError, RuntimeError):  # a side resized to nothing: the rule refuses it too
        with pytest.raises(ShapeError, match="would be resized to"):
            resized((3, height, width), arguments)
        return
    assert resized((3, height, width), arguments) == real


FAMILIES = {
    "maskrcnn": lambda: detection.maskrcnn_resnet50_fpn(min_size=64, max_size=64, rpn_pre_nms_top_n_test=20,
                                                        rpn_post_nms_top_n_test=20, box_detections_per_img=5, **SMALL),
    "keypointrcnn": lambda: detection.keypointrcnn_resnet50_fpn(min_size=64, max_size=64, rpn_pre_nms_top_n_test=20,
                                                                rpn_post_nms_top_n_test=20, box_detections_per_img=5,
                                                                num_keypoints=4, **SMALL),
    "retinanet": lambda: detection.retinanet_resnet50_fpn(min_size=64, max_size=64, detections_per_img=10,
                                                          topk_candidates=20, **SMALL),
    "fcos": lambda: detection.fcos_resnet50_fpn(min_size=64, max_size=64, detections_per_img=10, topk_candidates=20,
                                                **SMALL),
    "ssdlite": lambda: detection.ssdlite320_mobilenet_v3_large(detections_per_img=10, topk_candidates=20, **SMALL),
}


@pytest.mark.slow
@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_detector_family_imports_exactly(family: str) -> None:
    torch.manual_seed(0)
    model = FAMILIES[family]()
    result = import_model(model, [SHAPE])
    assert result.verification.exact, result.verification.sentence()
    heads = analyze(result.design).nodes["heads"]
    rows, keypoints, masks = detection_layout(model)
    assert heads.shape == (rows, sum(w for _, w in detection_columns(SHAPE, keypoints, masks)))


@pytest.mark.slow
def test_raft_imports_exactly_with_its_encoders_as_layers_sharing_their_weights() -> None:
    from torchvision.models.optical_flow import raft_small

    torch.manual_seed(0)
    model = raft_small(weights=None)
    result = import_model(model, [(3, 128, 128)])
    assert result.verification.exact, result.verification.sentence()
    design = result.design
    assert design.output_ids == ["updates"] and design.node("updates").type == "FlowUpdates"
    assert design.inputs_of("updates")[:2] == design.input_ids == ["image1", "image2"]
    assert design.tied and all(tensor[0].startswith("feature_encoder.") for tensor in design.tied)  # one encoder, twice
    assert analyze(design).nodes["updates"].shape == (12, 2, 128, 128)
    assert result.verification.parameters == sum(p.numel() for p in model.parameters())


def test_raft_on_images_its_pyramid_cannot_take_is_refused_with_the_size_it_needs() -> None:
    from torchvision.models.optical_flow import raft_small

    with pytest.raises(ImportFailed, match="two images of one size, a multiple of 8 and at least 128"):
        import_model(raft_small(weights=None), [(3, 64, 64)])


@pytest.mark.parametrize(("builder", "arguments", "refusal"), [
    ("os.system", {}, "is not one of torchvision's detection models"),
    ("resnet18", {}, "is not one of torchvision's detection models"),
    ("fasterrcnn_mobilenet_v3_large_320_fpn", {"num_classes": {"function": "os.system", "args": ["true"]}},
     "a constructor argument is a plain value"),
    ("fasterrcnn_mobilenet_v3_large_320_fpn", {"num_classes": "many"}, "cannot build"),
])
def test_a_design_names_only_torchvisions_detectors_with_plain_settings(builder: str, arguments: dict,
                                                                        refusal: str) -> None:
    """A design is data: its heads name a builder from the closed list, with plain keyword arguments."""
    from cnnstudio.core.design import Design

    design = Design()
    design.add_node("Input", {"shape": [3, 32, 32]}, "images")
    design.add_node("Conv2d", {"out_channels": 8}, "features")
    design.add_node("DetectionHeads", {"builder": builder, "arguments": arguments, "features": ["0"]}, "heads")
    design.connect("images", "features")
    design.connect("images", "heads")
    design.connect("features", "heads")
    (error,) = analyze(design).errors
    assert error.node == "heads" and refusal in error.message
