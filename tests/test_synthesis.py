"""Images the network makes: style transfer and feature visualisation, on designs trained here.

Small on purpose: a VGG-style design trained one epoch on generated shapes (about a second), and
Figure 21 trained one epoch on the MNIST copy; tiny images and few steps.
"""

from __future__ import annotations

import threading
import urllib.error
from pathlib import Path

import pytest
import torch

from cnnstudio.cli import main
from cnnstudio.core.compiler import build_model
from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import TEMPLATES
from cnnstudio.training.control import RunControl
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings
from cnnstudio.training.synthesis import pretrained
from cnnstudio.training.synthesis.images import read_image, write_png
from cnnstudio.training.synthesis.network import NoWeightsError, SynthesisError, load_network
from cnnstudio.training.synthesis.progress import SynthesisProgress
from cnnstudio.training.synthesis.style import StyleSettings, StyleTransfer
from cnnstudio.training.synthesis.visualize import FeatureVisualizer, VisualizeSettings, channel_means
from training_helpers import MNIST

STYLE_LAYERS = ("conv1_1", "conv2_1", "conv3_1")


def trained(template: str, folder: Path, **overrides: object) -> tuple[Trainer, str]:
    design = load_design(TEMPLATES / f"{template}.json")
    settings = parse_settings(design.training, {"device": "cpu", "epochs": 1, **overrides})
    trainer = Trainer(design, settings, out_dir=folder, step_rate=None)
    finished = trainer.run()
    assert finished.status == "completed"
    return trainer, str(finished.checkpoint)


@pytest.fixture(scope="module")
def vgg(tmp_path_factory: pytest.TempPathFactory) -> str:
    return trained("vgg_small", tmp_path_factory.mktemp("vgg"), data_options={"count": 600})[1]


@pytest.fixture(scope="module")
def figure21(tmp_path_factory: pytest.TempPathFactory) -> tuple[Trainer, str]:
    if not MNIST.is_dir():
        pytest.skip("the MNIST copy in ../shared/data/mnist is not on this machine")
    return trained("figure21", tmp_path_factory.mktemp("f21"), data=f"idx:{MNIST}")


def pictures() -> tuple[torch.Tensor, torch.Tensor]:
    """A smooth colour ramp (content) and orange stripes (style), 32x32."""
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 32), torch.linspace(0, 1, 32), indexing="ij")
    content = torch.stack([xx, yy, 1 - xx])
    style = ((torch.sin(xx * 25) + 1) / 2).expand(3, -1, -1) * torch.tensor([1.0, 0.5, 0.1]).view(3, 1, 1)
    return content, style


def stylize(vgg: str, **options: object) -> tuple[StyleTransfer, object]:
    content, style = pictures()
    network = load_network(load_design(TEMPLATES / "vgg_small.json"), vgg)
    settings = StyleSettings(("conv2_1",), STYLE_LAYERS, **{"steps": 40, "size": 32, **options})
    transfer = StyleTransfer(network, content, style, settings)
    return transfer, transfer.run()


@pytest.mark.parametrize("optimizer", ["lbfgs", "adam"])
def test_style_transfer_matches_the_style_and_keeps_the_content(vgg: str, optimizer: str) -> None:
    transfer, result = stylize(vgg, optimizer=optimizer, lr=0.05)
    assert result.first["style"] >= 10 * result.last["style"]
    assert result.last["style"] > 0 and result.steps == 40 and not result.stopped
    _, style_only = stylize(vgg, optimizer=optimizer, lr=0.05, content_weight=0.0)
    with torch.no_grad():
        content_of_style_only = float(transfer.losses(style_only.image[None])["content"])
    assert result.last["content"] < content_of_style_only
    assert result.image.shape == (3, 32, 32) and 0 <= result.image.min() and result.image.max() <= 1


def test_the_image_for_a_figure21_filter_excites_it_far_more_than_digits(figure21: tuple[Trainer, str]) -> None:
    trainer, checkpoint = figure21
    network = load_network(trainer.design, checkpoint)
    result = FeatureVisualizer(network, VisualizeSettings("relu3", steps=128)).run()
    digits = next(iter(trainer.val_data.in_order(500))).inputs[0].float().cpu()  # 500 validation digits, [0, 1]
    assert digits.shape == (500, 1, 28, 28) and 0 <= digits.min() and digits.max() <= 1
    with torch.no_grad():
        average = channel_means(network.features(digits, ["relu3"])["relu3"]).mean(0)
    made = torch.tensor(result.activations)
    alive = average > 1e-3
    ratios = made[alive] / average[alive]
    assert len(result.channels) == 12 and result.images.shape == (12, 1, 28, 28)
    assert ratios.max() >= 10, ratios  # the filter its image excites most, against the average digit
    assert ratios.min() >= 1.5, ratios  # and every filter's image beats the average digit
    assert result.grid().shape[0] == 1


def test_class_logits_and_chosen_channels(figure21: tuple[Trainer, str]) -> None:
    trainer, checkpoint = figure21
    network = load_network(trainer.design, checkpoint)
    result = FeatureVisualizer(network, VisualizeSettings("fc2", channels=(3, 7), steps=32)).run()
    assert result.channels == [3, 7]
    with torch.no_grad():
        logits = network.features(result.images, ["fc2"])["fc2"]
    assert logits.argmax(1).tolist() == [3, 7]  # each image is read as the class it was made for


def run_until_stopped(work: object, control: RunControl) -> tuple[object, list[SynthesisProgress]]:
    seen: list[SynthesisProgress] = []

    def on_progress(progress: SynthesisProgress) -> None:
        seen.append(progress)
        if len(seen) == 3:
            control.pause()
            threading.Timer(0.3, control.stop).start()  # paused, then stopped while paused

    return work.run(on_progress), seen  # type: ignore[attr-defined]


def test_both_stop_cleanly_with_what_they_made(vgg: str) -> None:
    content, style = pictures()
    network = load_network(load_design(TEMPLATES / "vgg_small.json"), vgg)
    control = RunControl()
    transfer = StyleTransfer(network, content, style, StyleSettings(("conv2_1",), STYLE_LAYERS, steps=10_000, size=32),
                             control)
    result, seen = run_until_stopped(transfer, control)
    assert result.stopped and result.steps == 3 and len(seen) == 3 and seen[0].image is not None
    assert result.image.shape == (3, 32, 32)
    control = RunControl()
    visualizer = FeatureVisualizer(network, VisualizeSettings("conv1_1", channels=(0, 1), steps=10_000), control)
    result, seen = run_until_stopped(visualizer, control)
    assert result.stopped and result.channels == [0, 1] and result.images.shape == (2, 3, 32, 32)
    assert len(seen) == 3


def test_bad_inputs_get_sentences(vgg: str, tmp_path: Path) -> None:
    design = load_design(TEMPLATES / "vgg_small.json")
    with pytest.raises(NoWeightsError, match="these would be the patterns of random weights; train or import first"):
        load_network(design, None)
    assert load_network(design, None, random_weights=True).weights_note == "random weights"
    network = load_network(design, vgg)
    content, style = pictures()
    with pytest.raises(SynthesisError, match="'conv9' is not a content layer of 'VGG-style .*its layers are: conv1_1"):
        StyleTransfer(network, content, style, StyleSettings(("conv9",), STYLE_LAYERS))
    with pytest.raises(SynthesisError, match="'x' is the design's Input"):
        FeatureVisualizer(network, VisualizeSettings("x"))
    with pytest.raises(SynthesisError, match="'conv1_1' has channels 0 to 15; there is no channel 16"):
        FeatureVisualizer(network, VisualizeSettings("conv1_1", channels=(16,)))
    with pytest.raises(SynthesisError, match="cannot take a 16x16 image .* layer after a Flatten needs the Input's size"):
        StyleTransfer(network, content, style, StyleSettings(("fc1",), STYLE_LAYERS, size=16))
    with pytest.raises(SynthesisError, match="at least one style layer"):
        StyleSettings(("conv2_1",), ())
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    with pytest.raises(SynthesisError, match="notes.png cannot be read as an image; use a PNG, JPEG, BMP"):
        read_image(text)
    with pytest.raises(SynthesisError, match="no such file"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(SynthesisError, match="matches a node of this design by id and shape"):
        load_network(load_design(TEMPLATES / "figure21.json"), vgg)


def test_images_round_trip_through_png(tmp_path: Path) -> None:
    image = torch.rand(3, 9, 13)
    write_png(image, tmp_path / "a.png")
    again = read_image(tmp_path / "a.png")
    assert again.shape == (3, 9, 13) and (again - image).abs().max() <= 1 / 255
    with pytest.raises(SynthesisError, match="name it with .png"):
        write_png(image, tmp_path / "a.jpg")


def test_commands_write_pngs_and_refuse_in_sentences(vgg: str, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    design = str(TEMPLATES / "vgg_small.json")
    content, style = pictures()
    write_png(content, tmp_path / "content.png")
    write_png(style, tmp_path / "style.png")
    out = tmp_path / "out.png"
    args = ["stylize", design, "--weights", vgg, "--content", str(tmp_path / "content.png"),
            "--style", str(tmp_path / "style.png"), "--content-layers", "conv2_1", "--style-layers", ",".join(STYLE_LAYERS),
            "--steps", "20", "--size", "24", "-o", str(out)]
    assert main(args) == 0
    assert read_image(out).shape == (3, 24, 24)
    assert "style loss" in capsys.readouterr().err
    grid = tmp_path / "grid.png"
    assert main(["visualize", design, "--weights", vgg, "--layer", "conv1_1", "--channels", "0,1,2,3",
                 "--steps", "8", "-o", str(grid)]) == 0
    assert read_image(grid).shape == (3, 32 * 2 + 2, 32 * 2 + 2)
    capsys.readouterr()
    assert main(["visualize", design, "--layer", "conv1_1", "-o", str(grid)]) == 1
    refusal = capsys.readouterr().err
    assert "train or import first" in refusal and "--random-weights to go ahead anyway" in refusal
    assert main(["visualize", design, "--weights", vgg, "--layer", "nope", "-o", str(grid)]) == 1
    assert "'nope' is not a layer" in capsys.readouterr().err
    assert main([*args[:5], str(tmp_path / "missing.png"), *args[6:]]) == 1
    assert "no such file" in capsys.readouterr().err
    assert main(["visualize", design, "--random-weights", "--layer", "conv1_1", "--channels", "0", "--steps", "2",
                 "-o", str(grid)]) == 0


def test_torchvision_weights_map_onto_the_paper_layers_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    """No download: a stand-in for torchvision's VGG-16 with the same layers, random weights."""
    import torchvision
    from torch import nn

    design = load_design(TEMPLATES / "vgg16_gatys.json")
    model = build_model(design)
    layers: list[nn.Module] = []
    channels = 3
    for width, count in ((64, 2), (128, 2), (256, 3), (512, 3), (512, 3)):
        for _ in range(count):
            layers += [nn.Conv2d(channels, width, 3, padding=1), nn.ReLU()]
            channels = width
        layers.append(nn.MaxPool2d(2))
    source = nn.Sequential()
    source.features = nn.Sequential(*layers)
    source.classifier = nn.Sequential(nn.Linear(512 * 7 * 7, 4096))
    state = pretrained.map_in_order(source, model)
    assert len(state) == 26  # 13 convolutions, weight and bias; the classifier does not fit the head
    assert torch.equal(state["conv4_2.weight"], source.features[19].weight)  # torchvision numbers it features.19
    seen: list[str] = []

    def fake_get_model(name: str, weights: str) -> nn.Module:
        seen.append(f"{name}:{weights}")
        return source

    monkeypatch.setattr(torchvision.models, "get_model", fake_get_model)
    network = load_network(design, "torchvision:vgg16", normalize="imagenet")
    assert seen == ["vgg16:DEFAULT"]
    assert network.untrained == {"fc"}
    network.check_layers(["conv4_2", "conv5_1"])
    with pytest.raises(SynthesisError, match="'fc' depends on fc, which the weights leave untrained"):
        network.check_layers(["fc"])

    def offline(name: str, weights: str) -> nn.Module:
        raise urllib.error.URLError("Network is unreachable")

    monkeypatch.setattr(torchvision.models, "get_model", offline)
    with pytest.raises(SynthesisError, match="need an internet connection that first time"):
        load_network(design, "torchvision:vgg16")


def test_the_design_s_own_weights_are_used(vgg: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A design file whose "weights" names a .safetensors file keyed by node id (as `cnnstudio import`
    writes them) needs no --weights."""
    from cnnstudio.core.designfile import save_design
    from cnnstudio.core.weights import load_matching, read_state_dict, save_safetensors

    design = load_design(TEMPLATES / "vgg_small.json")
    model = build_model(design)
    load_matching(model, read_state_dict(vgg))
    save_safetensors(model, tmp_path / "vgg.safetensors")
    design.weights = str(tmp_path / "vgg.safetensors")
    save_design(design, tmp_path / "vgg.json")
    assert '"weights": "vgg.safetensors"' in (tmp_path / "vgg.json").read_text()
    grid = tmp_path / "grid.png"
    assert main(["visualize", str(tmp_path / "vgg.json"), "--layer", "conv2_1", "--channels", "1", "--steps", "2",
                 "-o", str(grid)]) == 0
    assert "vgg.safetensors" in capsys.readouterr().err and read_image(grid).shape == (3, 32, 32)


def test_ctrl_c_stops_a_command_and_keeps_what_it_made(vgg: str, tmp_path: Path) -> None:
    """SIGINT, as Ctrl-C sends it: the current step ends, the image so far is written, status 130."""
    import os
    import signal
    import subprocess
    import sys

    grid = tmp_path / "grid.png"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "cnnstudio", "visualize", str(TEMPLATES / "vgg_small.json"), "--weights", vgg,
               "--layer", "conv1_1", "--channels", "0,1", "--steps", "1000000", "-o", str(grid)]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    assert process.stderr is not None
    for line in process.stderr:  # the first progress line: the optimisation runs
        if line.startswith("step "):
            break
    process.send_signal(signal.SIGINT)
    rest = process.communicate(timeout=60)[1]
    assert process.returncode == 130, rest
    assert "(stopped)" in rest and read_image(grid).shape == (3, 32, 32 * 2 + 2)
