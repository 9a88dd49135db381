"""Looking inside (cnnstudio.training.probes): what a capture holds equals what the model computes,
hooks live only during a capture, and a run with views open trains exactly like one without."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from cnnstudio.core.design import Design
from cnnstudio.training import events, probes
from cnnstudio.training.engine import Trainer
from cnnstudio.training.projection import pca, tsne
from cnnstudio.training.settings import parse_settings
from training_helpers import Recorder, chain, classifier

EVERYTHING = dict(activations=("conv2d1", "relu1", "linear1"), filters=True, grad_norms=True, predictions=True,
                  saliency=True)


def prepared(design: Design, **overrides) -> Trainer:
    settings = parse_settings(design.training, {"device": "cpu", "data_options": {"count": 200}, **overrides})
    trainer = Trainer(design, settings, step_rate=None)
    trainer.prepare()
    return trainer


def hook_count(model: torch.nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


@pytest.fixture(scope="module")
def trainer() -> Trainer:
    return prepared(classifier())


def test_activations_equal_a_manual_forward_pass(trainer: Trainer):
    probe = torch.rand(1, 16, 16)
    snap = trainer.snapshot(probes.ProbeRequest(inputs=(probe,), **EVERYTHING))
    m = trainer.model
    conv = m.conv2d1(probe.unsqueeze(0))
    assert snap.activations["conv2d1"].shape == (8, 16, 16)
    torch.testing.assert_close(snap.activations["conv2d1"].values, conv[0])
    torch.testing.assert_close(snap.activations["relu1"].values, conv[0].relu())
    assert snap.activations["linear1"].values.shape == (6,)
    logits = m.linear1(m.flatten1(m.max_pool2d1(conv.relu())))
    torch.testing.assert_close(snap.prediction, logits[0].softmax(0))
    torch.testing.assert_close(snap.probe[0], probe)


def test_filters_are_the_conv_weights(trainer: Trainer):
    snap = trainer.snapshot(probes.ProbeRequest(filters=True))
    assert list(snap.filters) == ["conv2d1"]
    torch.testing.assert_close(snap.filters["conv2d1"], trainer.model.conv2d1.weight.detach())


def test_gradient_norms_are_the_norms_of_the_last_backward(trainer: Trainer):
    batch = trainer.train_data.batch(torch.arange(8))
    trainer.model.zero_grad()
    F.cross_entropy(trainer.model(*batch.inputs), batch.labels).backward()
    snap = trainer.snapshot(probes.ProbeRequest(grad_norms=True))
    conv = trainer.model.conv2d1
    expected = torch.cat([conv.weight.grad.flatten(), conv.bias.grad.flatten()]).norm()
    assert list(snap.grad_norms) == ["conv2d1", "linear1"]
    assert snap.grad_norms["conv2d1"] == pytest.approx(float(expected), rel=1e-5)


def test_hooks_exist_only_during_a_capture(trainer: Trainer):
    before = hook_count(trainer.model)
    with probes.hooks(trainer.model, ["conv2d1", "relu1"]) as seen:
        assert hook_count(trainer.model) == before + 2
        trainer.model(torch.rand(2, 1, 16, 16))
    assert set(seen) == {"conv2d1", "relu1"} and hook_count(trainer.model) == before
    trainer.snapshot(probes.ProbeRequest(**EVERYTHING))
    assert hook_count(trainer.model) == before == 0


def test_saliency_and_grad_cam_have_the_input_size(trainer: Trainer):
    snap = trainer.snapshot(probes.ProbeRequest(saliency=True, predictions=True))
    s = snap.saliency
    assert s.target == int(snap.prediction.argmax())
    assert s.gradient.shape == (16, 16) and s.cam.shape == (16, 16) and s.cam_node == "conv2d1"
    assert 0 <= float(s.gradient.min()) and float(s.gradient.max()) == pytest.approx(1.0)


def test_the_capture_leaves_mode_and_random_state_alone(trainer: Trainer):
    trainer.model.train()
    state = torch.get_rng_state()
    trainer.snapshot(probes.ProbeRequest(**EVERYTHING))
    assert trainer.model.training and torch.equal(state, torch.get_rng_state())


def test_no_probe_means_no_snapshot_and_no_hooks():
    design = classifier()
    recorder = Recorder()
    settings = parse_settings(design.training, {"device": "cpu", "data_options": {"count": 200}, "epochs": 1})
    trainer = Trainer(design, settings, on_event=recorder, step_rate=None)
    register = torch.nn.Module.register_forward_hook
    calls = []
    torch.nn.Module.register_forward_hook = lambda *a, **k: calls.append(a) or register(*a, **k)
    try:
        trainer.run()
    finally:
        torch.nn.Module.register_forward_hook = register
    assert not recorder.of(events.Snapshot) and not calls


def test_a_run_with_a_probe_trains_exactly_like_one_without():
    design = classifier()
    settings = parse_settings(design.training, {"device": "cpu", "data_options": {"count": 200}, "epochs": 2,
                                                "batch_size": 16})
    plain, probed = Recorder(), Recorder()
    Trainer(design, settings, on_event=plain, step_rate=None).run()
    trainer = Trainer(design, settings, on_event=probed, step_rate=None)
    trainer.set_probe(probes.ProbeRequest(every=3, **EVERYTHING))
    trainer.run()
    assert probed.step_losses == plain.step_losses
    snaps = probed.of(events.Snapshot)
    steps = [s.step for s in snaps]
    assert steps == sorted(steps) and all(s % 3 == 0 for s in steps[:3]) and 10 in steps and 20 in steps  # epoch ends
    assert snaps[-1].grad_norms and snaps[-1].filters and snaps[-1].saliency is not None


def test_embeddings_of_a_metric_design_are_projected_to_2d():
    design = chain([1, 16, 16], ("Conv2d", {"out_channels": 4, "kernel_size": 3}), ("Flatten", {}),
                   ("Linear", {"out_features": 8}))
    trainer = prepared(design, task="metric")
    snap = trainer.snapshot(probes.ProbeRequest(embeddings=True))
    e = snap.embedding
    assert e.points.shape == (40, 2) and e.labels.shape == (40,) and e.features.shape == (40, 8)
    assert e.images.dtype == torch.uint8 and e.images.shape == (40, 1, 16, 16) and e.node == "linear1"


def test_an_autoencoder_embeds_at_its_bottleneck():
    trainer = prepared(chain([1, 8, 8], ("Conv2d", {"out_channels": 2, "kernel_size": 3, "stride": 2, "padding": 1}),
                             ("ReLU", {}), ("ConvTranspose2d", {"out_channels": 1, "kernel_size": 2, "stride": 2}),
                             ("Sigmoid", {})), task="reconstruction", noise="gaussian")
    snap = trainer.snapshot(probes.ProbeRequest(embeddings=True, predictions=True))
    assert snap.embedding.node == "conv2d1" and snap.embedding.points.shape[1] == 2
    assert snap.seen is not None and snap.seen.shape == snap.probe[0].shape and not torch.equal(snap.seen, snap.probe[0])
    assert snap.prediction.shape == (1, 8, 8)


def test_pca_finds_the_main_axis_and_tsne_separates_clusters():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(100, 5, generator=g) * torch.tensor([10.0, 1, 1, 1, 1])
    points = pca(x)
    assert points.shape == (100, 2)
    assert torch.corrcoef(torch.stack([points[:, 0], x[:, 0]]))[0, 1].abs() > 0.99
    clusters = torch.cat([torch.randn(30, 10, generator=g) + 8 * i for i in range(3)])
    y = tsne(clusters, iterations=300)
    centres = torch.stack([y[30 * i:30 * (i + 1)].mean(0) for i in range(3)])
    spread = max(float(y[30 * i:30 * (i + 1)].std(0).norm()) for i in range(3))
    assert float(torch.pdist(centres).min()) > 2 * spread


def test_fit_probe_converts_images_and_refuses_mismatches():
    rgb = torch.rand(3, 40, 30)
    assert probes.fit_probe(rgb, (1, 16, 16)).shape == (1, 16, 16)
    assert probes.fit_probe(torch.ones(1, 5), (1, 8)).tolist() == [[1, 1, 1, 1, 1, 0, 0, 0]]
    with pytest.raises(ValueError, match="takes a sequence"):
        probes.fit_probe(rgb, (1, 8))
    with pytest.raises(ValueError):
        probes.ProbeRequest(every=0)
