"""Exported code, TorchScript, torch.export and ONNX reproduce the compiled model (issue 6)."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnstudio.cli import main
from cnnstudio.core.compiler import build_model
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import load_design, save_design
from cnnstudio.core.weights import WeightsError, load_matching, read_state_dict
from cnnstudio.export import export_design

ROOT = Path(__file__).resolve().parents[1]
TOLERANCE = 1e-5


def figure21() -> Design:
    return load_design(ROOT / "resources" / "templates" / "figure21.json")


def branching() -> Design:
    """Every module kind the exporter must write back: custom ones, Sequential, asymmetric padding."""
    d = Design("Branches 2")
    d.add_node("Input", {"shape": [3, 15, 15]}, "image")
    d.add_node("Input", {"shape": [4]}, "extra")
    d.add_node("Conv2d", {"out_channels": 8, "kernel_size": 3, "stride": 2, "padding": "same"}, "stem")
    d.add_node("InceptionBlock", {}, "inception")
    d.add_node("ResidualBlock", {"out_channels": 16, "stride": 2}, "residual")
    d.add_node("MinPool2d", {"kernel_size": 2, "ceil_mode": True}, "minpool")
    d.add_node("ConvTranspose2d", {"out_channels": 16, "kernel_size": 2, "stride": 2}, "up")
    d.add_node("Upsample", {"scale_factor": 2.0, "mode": "bilinear"}, "upsample")
    d.add_node("Conv2d", {"out_channels": 16, "kernel_size": 1, "stride": 2}, "project")
    d.add_node("Add", {}, "sum")
    d.add_node("Concat", {}, "join")
    d.add_node("AdaptiveAvgPool2d", {"output_size": 1}, "gap")
    d.add_node("Flatten", {}, "flat")
    d.add_node("Linear", {"out_features": 5}, "fc")
    d.add_node("Linear", {"out_features": 5}, "fc_extra")
    d.add_node("Add", {}, "logits")
    d.add_node("LeakyReLU", {"negative_slope": 0.2}, "act", frozen=True)
    edges = [
        ("image", "stem"), ("stem", "inception"), ("inception", "residual"), ("residual", "minpool"),
        ("minpool", "up"), ("up", "sum"), ("residual", "upsample"), ("upsample", "project"),
        ("project", "sum"), ("sum", "join"), ("up", "join"), ("join", "gap"), ("gap", "flat"),
        ("flat", "fc"), ("extra", "fc_extra"), ("fc", "logits"), ("fc_extra", "logits"),
        ("logits", "act"), ("residual", "act2"),
    ]
    d.add_node("BatchNorm2d", {}, "act2")
    for src, dst in edges:
        d.connect(src, dst)
    return d


def sequence() -> Design:
    d = Design("Pattern 1011")
    d.add_node("Input", {"shape": [1, 32]}, "bits")
    d.add_node("Conv1d", {"out_channels": 1, "kernel_size": 4, "padding": "causal"}, "detector")
    d.add_node("AdaptiveMaxPool1d", {"output_size": 1}, "any")
    d.add_node("Flatten", {}, "flat")
    d.add_node("Sigmoid", {}, "probability")
    for src, dst in [("bits", "detector"), ("detector", "any"), ("any", "flat"), ("flat", "probability")]:
        d.connect(src, dst)
    return d


DESIGNS = {"figure21": figure21, "branching": branching, "sequence": sequence}


def reference(design: Design):
    torch.manual_seed(0)
    model = build_model(design).eval()
    for module in model.modules():  # non-trivial batch-norm statistics, so eval mode is tested too
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    inputs = tuple(torch.randn(3, *design.node(n).params["shape"]) for n in design.input_ids)
    with torch.no_grad():
        outputs = model(*inputs)
    return model, inputs, outputs if isinstance(outputs, tuple) else (outputs,)


def assert_close(got, expected):
    got = got if isinstance(got, (tuple, list)) else (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert torch.as_tensor(g).shape == e.shape
        assert (torch.as_tensor(g) - e).abs().max().item() < TOLERANCE


@pytest.fixture(params=list(DESIGNS))
def exported(request, tmp_path):
    """A design, its compiled model with weights, sample inputs and outputs, and those weights on disk."""
    design = DESIGNS[request.param]()
    model, inputs, outputs = reference(design)
    weights = tmp_path / "weights.pt"
    torch.save(model.state_dict(), weights)
    return design, model, inputs, outputs, weights


def test_code_export_reproduces_the_model(exported, tmp_path):
    design, _, inputs, outputs, weights = exported
    target = tmp_path / "model.py"
    export_design(design, "code", target, weights)
    spec = importlib.util.spec_from_file_location("exported_model", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = next(v for k, v in vars(module).items() if isinstance(v, type) and k not in ("Add", "Concat", "Pad", "MinPool2d", "Inception", "Residual") and issubclass(v, torch.nn.Module))()
    model.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    with torch.no_grad():
        assert_close(model.eval()(*inputs), outputs)


def test_exported_script_runs_standalone(tmp_path):
    target = tmp_path / "figure21.py"
    export_design(branching(), "code", target)
    # -I: isolated mode, so the script cannot import cnnstudio from the working directory.
    result = subprocess.run([sys.executable, "-I", str(target), "--smoke"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok: [2, 5], [2, 16, 4, 4]")


def test_torchscript_reproduces_the_model(exported, tmp_path):
    design, _, inputs, outputs, weights = exported
    export_design(design, "torchscript", tmp_path / "model.ts.pt", weights)
    with torch.no_grad():
        assert_close(torch.jit.load(str(tmp_path / "model.ts.pt"))(*inputs), outputs)


def test_torch_export_reproduces_the_model(exported, tmp_path):
    design, _, inputs, outputs, weights = exported
    export_design(design, "export", tmp_path / "model.pt2", weights)
    program = torch.export.load(str(tmp_path / "model.pt2"))
    with torch.no_grad():
        assert_close(program.module()(*inputs), outputs)


def test_onnx_reproduces_the_model(exported, tmp_path):
    onnxruntime = pytest.importorskip("onnxruntime")
    design, _, inputs, outputs, weights = exported
    export_design(design, "onnx", tmp_path / "model.onnx", weights)
    session = onnxruntime.InferenceSession(str(tmp_path / "model.onnx"))
    feeds = {i.name: x.numpy() for i, x in zip(session.get_inputs(), inputs)}
    assert_close([torch.from_numpy(o) for o in session.run(None, feeds)], outputs)


def test_safetensors_round_trip_and_partial_import(tmp_path):
    design = figure21()
    model, inputs, outputs = reference(design)
    weights = tmp_path / "w.pt"
    torch.save(model.state_dict(), weights)
    export_design(design, "safetensors", tmp_path / "w.safetensors", weights)

    other = figure21()
    other.set_param("fc2", "out_features", 5)  # a new head: everything else should transfer
    other.rename("conv3", "conv3_new")
    target = build_model(other)
    report = load_matching(target, read_state_dict(tmp_path / "w.safetensors"))
    assert ("fc2.weight", (5, 256), (10, 256)) in report.mismatched
    assert "conv3.weight" in report.unexpected and "conv3_new.weight" in report.missing
    assert "conv1.weight" in report.loaded
    assert torch.equal(target.conv1.weight, model.conv1.weight)
    assert "fc2.weight (model [5, 256], file [10, 256])" in report.summary()


def test_weights_that_would_run_code_are_refused(tmp_path):
    marker = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (marker.write_text, ("pwned",))

    path = tmp_path / "evil.pt"
    torch.save({"model": Evil()}, path)
    with pytest.raises(WeightsError, match="could run code"):
        read_state_dict(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"", b"hello", b"\x00" * 100])
def test_garbage_weights_give_a_clear_error(tmp_path, content):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match="junk.safetensors"):
        read_state_dict(path)


def test_cli_export(tmp_path, capsys):
    design_path = tmp_path / "fig.json"
    save_design(figure21(), design_path)
    assert main(["export", str(design_path), "--format", "onnx"]) == 0
    assert (tmp_path / "fig.onnx").stat().st_size > 0
    assert main(["export", str(design_path), "--weights", str(tmp_path / "missing.pt")]) == 1
    assert "missing.pt: no such file" in capsys.readouterr().err
    broken = figure21()
    broken.set_param("conv1", "kernel_size", 29)
    save_design(broken, design_path)
    assert main(["export", str(design_path), "-o", str(tmp_path / "out.py")]) == 1
    assert "conv1" in capsys.readouterr().err
    assert not (tmp_path / "out.py").exists()


def _image_table(folder: Path) -> Path:
    """Eight 28x28 grey images in a CSV with named classes; the last two rows are marked val."""
    from PIL import Image

    rows = ["path,label,split"]
    for i in range(8):
        Image.new("L", (28, 28), 40 * (i % 2) + 10 * i).save(folder / f"im{i}.png")
        rows.append(f"im{i}.png,{'dog' if i % 2 else 'cat'},{'val' if i >= 6 else 'train'}")
    table = folder / "images.csv"
    table.write_text("\n".join(rows) + "\n")
    return table


def test_exported_script_trains_on_a_csv_table_as_the_studio_reads_it(tmp_path):
    from cnnstudio.training.data.csvfile import open_csv
    from cnnstudio.training.data.registry import OpenRequest

    table = _image_table(tmp_path)
    target = tmp_path / "figure21.py"
    export_design(figure21(), "code", target)
    result = subprocess.run([sys.executable, "-I", str(target), "--data", f"csv:{table}", "--epochs", "1",
                             "--batch-size", "4"], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "epoch 1: loss" in result.stdout and (tmp_path / "figure21.pt").is_file()

    spec = importlib.util.spec_from_file_location("exported_figure21", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    studio = open_csv(str(table), OpenRequest((1, 28, 28)))
    for train, split in ((True, studio.source), (False, studio.validation)):
        script = module.CsvImages(str(table), train, lambda image: image)
        assert [label for _, label in script.samples] == split.labels.tolist()
        assert [Path(path).name for path, _ in script.samples] == [split.name(i) for i in range(len(split))]


def test_exported_script_reads_a_folders_train_and_val_sub_folders(tmp_path):
    from PIL import Image

    for split, count in (("train", 3), ("val", 1)):
        for name in ("cat", "dog"):
            (tmp_path / "data" / split / name).mkdir(parents=True)
            for i in range(count):
                Image.new("L", (28, 28)).save(tmp_path / "data" / split / name / f"{i}.png")
    target = tmp_path / "figure21.py"
    export_design(figure21(), "code", target)
    spec = importlib.util.spec_from_file_location("exported_folder", target)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    train, val = (module.load_data(f"folder:{tmp_path / 'data'}", flag) for flag in (True, False))
    assert (len(train), len(val)) == (6, 2) and train.classes == val.classes == ["cat", "dog"]


@pytest.mark.parametrize("data, said", [("csv:missing.csv", "cannot be read"), ("csv:bad.csv", "needs a path and a label"),
                                        ("imagenet", 'give "mnist"'), ("mnist", "could not be downloaded")])
def test_exported_script_says_what_is_wrong_with_its_data(tmp_path, data, said):
    (tmp_path / "bad.csv").write_text("path,label\nim0.png,\n")
    target = tmp_path / "figure21.py"
    export_design(figure21(), "code", target)
    offline = {**os.environ, "http_proxy": "http://127.0.0.1:9", "https_proxy": "http://127.0.0.1:9"}  # port 9: discard
    result = subprocess.run([sys.executable, "-I", str(target), "--data", data, "--epochs", "1"],
                            capture_output=True, text=True, timeout=300, cwd=tmp_path, env=offline)
    assert result.returncode == 1 and said in result.stderr and "Traceback" not in result.stderr
