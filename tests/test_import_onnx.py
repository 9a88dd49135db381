"""ONNX files of opset 18 and later are read directly (issue 21): Split, Pad, Resize and the Reduce
operators whose inputs changed at 18, the operators whose later versions only added types, files
whose initializers onnx2torch would misname, and sentences that fit an ONNX file.

Each import is compared, independently of the importer's own checks, with the model the file was
exported from (torch.onnx.export) or with onnxruntime running the file (graphs written with
onnx.helper, one operator variant each, which is fast and reaches variants torch never writes).
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnx2torch")
onnxruntime = pytest.importorskip("onnxruntime")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from cnnstudio.core.compiler import build_model  # noqa: E402
from cnnstudio.core.designfile import load_design  # noqa: E402
from cnnstudio.core.weights import load_weights_file  # noqa: E402
from cnnstudio.importers import ImportFailed, import_model, save_import  # noqa: E402


def _read_back(imported, folder: Path) -> nn.Module:
    """The design as written to disk, built with its written weights."""
    save_import(imported, folder / "design.json")
    design = load_design(folder / "design.json")
    model = build_model(design).eval()
    load_weights_file(model, design.weights)
    return model


class Opset18(nn.Module):
    """Split, Pad (constant, reflect, replicate), Resize (bilinear, nearest) and ReduceMean/ReduceMax
    with their axes as an input: every operator whose opset-18 form the old down-conversion lost."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(4, 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = torch.split(x, [1, 3], dim=1)
        a = F.pad(a, (1, 2, 0, 1))
        b = F.pad(b, (1, 2, 0, 1), mode="reflect")
        y = self.conv(torch.cat([a, b], 1))
        y = F.interpolate(y, scale_factor=2, mode="bilinear", align_corners=False)
        y = y + F.interpolate(F.avg_pool2d(F.pad(y, (1, 1, 1, 1), mode="replicate"), 3, stride=1), scale_factor=1.0,
                              mode="nearest")
        return y - y.mean(dim=(2, 3), keepdim=True) + y.amax(dim=1, keepdim=True)


def test_a_torch_export_at_opset_18_imports_exactly(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = Opset18().eval()
    path = tmp_path / "opset18.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(2, 4, 12, 12),), str(path), opset_version=18, dynamo=True,
                          dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
    file = onnx.load(str(path))
    assert max(o.version for o in file.opset_import if o.domain == "") >= 18
    assert {"Split", "Pad", "Resize", "ReduceMean", "ReduceMax"} <= {n.op_type for n in file.graph.node}
    imported = import_model(str(path))
    assert imported.verification.exact, imported.verification.sentence()
    assert "onnxruntime" in imported.report()
    x = torch.randn(3, 4, 12, 12)
    with torch.no_grad():
        assert torch.allclose(_read_back(imported, tmp_path)(x), model(x), atol=1e-5)


# -- one operator per file, written with onnx.helper, against onnxruntime ------------------------------
def _file(folder: Path, node: onnx.NodeProto, shape: list[int], opset: int,
          constants: dict[str, list] | None = None) -> Path:
    """A graph x -> node -> y at ``opset`` (batch dynamic); ``constants``: the node's constant inputs."""
    initializers = [numpy_helper.from_array(np.array(v, dtype=np.float32 if isinstance(v[0], float) else np.int64), n)
                    for n, v in (constants or {}).items()]
    graph = helper.make_graph(
        [node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", *shape])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    path = folder / f"{node.op_type}.onnx"
    onnx.save(model, str(path))
    return path


def _against_runtime(path: Path, shape: list[int], tmp_path: Path) -> None:
    imported = import_model(str(path))
    assert imported.verification.exact, imported.verification.sentence()
    x = torch.randn(3, *shape)
    expected = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {"x": x.numpy()})[0]
    with torch.no_grad():
        got = _read_back(imported, tmp_path)(x)
    assert got.shape == expected.shape
    assert np.allclose(got.numpy(), expected, atol=1e-5, rtol=1e-4)


REDUCTIONS = ["ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2", "ReduceSumSquare",
              "ReduceLogSumExp"]


@pytest.mark.parametrize("operation", REDUCTIONS)
@pytest.mark.parametrize(("axes", "keepdims"), [([1], 1), ([-1, 2], 0), ([1, 3], 1)])
def test_reductions_with_axes_as_an_input(operation: str, axes: list[int], keepdims: int, tmp_path: Path) -> None:
    node = helper.make_node(operation, ["x", "axes"], ["y"], keepdims=keepdims)
    shape = [3, 4, 5]
    path = _file(tmp_path, node, shape, 18, {"axes": axes})
    _against_runtime(path, shape, tmp_path)


@pytest.mark.parametrize(("outputs", "sizes"), [(2, None), (3, None), (2, [1, 4]), (3, [2, 2, 1])])
def test_split_18_into_equal_or_given_parts(outputs: int, sizes: list[int] | None, tmp_path: Path) -> None:
    names = [f"y{i}" for i in range(outputs)]
    inputs = ["x", "split"] if sizes else ["x"]
    split = helper.make_node("Split", inputs, names, axis=1, **({} if sizes else {"num_outputs": outputs}))
    # the parts joined again, each scaled by its place, so a part of the wrong size or order shows
    scaled = [helper.make_node("Mul", [n, f"k{i}"], [f"m{i}"]) for i, n in enumerate(names)]
    concat = helper.make_node("Concat", [f"m{i}" for i in range(outputs)], ["y"], axis=1)
    constants = {f"k{i}": [float(i + 1)] for i in range(outputs)} | ({"split": sizes} if sizes else {})
    initializers = [numpy_helper.from_array(np.array(v, dtype=np.float32 if isinstance(v[0], float) else np.int64), n)
                    for n, v in constants.items()]
    graph = helper.make_graph([split, *scaled, concat], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 5, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    path = tmp_path / "split.onnx"
    onnx.save(model, str(path))
    _against_runtime(path, [5, 6], tmp_path)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge", "wrap"])
@pytest.mark.parametrize("axes", [None, [2, 3], [-1]])
def test_pad_18_and_19_with_constant_pads_and_axes(mode: str, axes: list[int] | None, tmp_path: Path) -> None:
    count = len(axes) if axes else 4
    pads = [(i % 3) for i in range(count)] + [((i + 1) % 3) for i in range(count)]
    if not axes:
        pads[0] = pads[1] = pads[count] = pads[count + 1] = 0  # not the batch and channel axes
    inputs = ["x", "pads", "value", "axes"] if axes else ["x", "pads", "value"]
    node = helper.make_node("Pad", inputs, ["y"], mode=mode)
    constants = {"pads": pads, "value": [0.5]} | ({"axes": axes} if axes else {})
    path = _file(tmp_path, node, [2, 5, 6], 19, constants)
    _against_runtime(path, [2, 5, 6], tmp_path)


@pytest.mark.parametrize(("attributes", "scales"), [
    ({"mode": "linear"}, [1.0, 1.0, 2.0, 2.0]),
    ({"mode": "linear", "coordinate_transformation_mode": "align_corners"}, [1.0, 1.0, 1.5, 2.0]),
    ({"mode": "nearest", "coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor"}, [1.0, 1.0, 3.0, 2.0]),
    ({"mode": "cubic"}, [1.0, 1.0, 2.0, 2.0]),
])
def test_resize_18_as_pytorch_interpolation(attributes: dict, scales: list[float], tmp_path: Path) -> None:
    node = helper.make_node("Resize", ["x", "", "scales"], ["y"], **attributes)
    shape = [2, 5, 6]
    _against_runtime(_file(tmp_path, node, shape, 18, {"scales": scales}), shape, tmp_path)


@pytest.mark.parametrize("opset", [19, 21, 22, 23])
def test_operators_whose_later_versions_only_added_types(opset: int, tmp_path: Path) -> None:
    torch.manual_seed(0)
    weight = torch.randn(4, 2, 3, 3).tolist()
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
             helper.make_node("MaxPool", ["c"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("HardSwish", ["p"], ["h"]),
             helper.make_node("Flatten", ["h"], ["y"], axis=1)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 6, 6])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                              [numpy_helper.from_array(np.array(weight, dtype=np.float32), "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 10
    path = tmp_path / "later.onnx"
    onnx.save(model, str(path))
    _against_runtime(path, [2, 6, 6], tmp_path)


def test_an_initializer_named_like_a_node_imports(tmp_path: Path) -> None:
    """onnx2torch looks an initializer up by its ONNX name among the nodes it has converted, and
    fails (KeyError 'onnx_initializer_1') when a node before its use has that name."""
    nodes = [helper.make_node("Mul", ["x", "k"], ["h"], name="scale"), helper.make_node("Add", ["h", "scale"], ["y"])]
    initializers = [numpy_helper.from_array(np.array(v, dtype=np.float32), n)
                    for n, v in (("scale", [2.0, 3.0, 4.0]), ("k", [-1.0, 0.5, 2.0]))]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])
    model.ir_version = 10
    path = tmp_path / "names.onnx"
    onnx.save(model, str(path))
    _against_runtime(path, [3], tmp_path)


@pytest.mark.parametrize(("node", "words"), [
    (helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear", antialias=1), "antialias"),
    (helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear",
                      coordinate_transformation_mode="half_pixel_symmetric"), "half_pixel_symmetric"),
    (helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="cubic", exclude_outside=1), "cubic"),
])
def test_a_form_that_cannot_be_converted_is_refused_with_a_sentence(node, words: str, tmp_path: Path) -> None:
    path = _file(tmp_path, node, [2, 5, 6], 19, {"scales": [1.0, 1.0, 0.5, 0.5]})
    with pytest.raises(ImportFailed) as raised:
        import_model(str(path))
    message = str(raised.value)
    assert "Resize" in message and words in message and str(path) in message
    assert "Traceback" not in message and "\n" not in message


def test_an_operator_without_conversion_is_named(tmp_path: Path) -> None:
    node = helper.make_node("Gelu", ["x"], ["y"])
    with pytest.raises(ImportFailed, match="operator Gelu of opset 20"):
        import_model(str(_file(tmp_path, node, [3], 20)))


def test_an_onnx_file_torch_fx_cannot_trace_is_not_told_to_use_a_pt2(tmp_path: Path) -> None:
    """The old exporter computes Reshape's shape while the model runs: not traceable."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(0, 1)).eval()
    path = tmp_path / "dynamic.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.randn(2, 3, 8, 8),), str(path), opset_version=17, dynamo=False,
                          input_names=["x"], dynamic_axes={"x": {0: "batch"}})
    with pytest.raises(ImportFailed) as raised:
        import_model(str(path))
    assert ".pt2" not in str(raised.value) and "ONNX" in str(raised.value)


def test_a_conversion_that_computes_something_else_than_onnxruntime_is_refused(tmp_path: Path,
                                                                              monkeypatch) -> None:
    from cnnstudio.importers import onnx_ops

    node = helper.make_node("ReduceMean", ["x", "axes"], ["y"])
    path = _file(tmp_path, node, [3, 4], 18, {"axes": [2]})
    monkeypatch.setattr(onnx_ops.Reduce, "forward", lambda self, x: torch.mean(x, dim=self.axes, keepdim=True) + 1e-2)
    with pytest.raises(ImportFailed, match="computes something else than the ONNX file run by onnxruntime"):
        import_model(str(path))
