"""Data sources: generated data, IDX files, image folders with broken files, offline downloads."""

from __future__ import annotations

import gzip
import socket
import struct
from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnstudio.training import events
from cnnstudio.training.data import synthetic_sequences, synthetic_shapes
from cnnstudio.training.data.convert import fit_images
from cnnstudio.training.data.registry import load_data
from cnnstudio.training.errors import TrainingError
from training_helpers import MNIST, Recorder, classifier, train


def test_shapes_are_seeded_and_boxes_enclose_the_masks() -> None:
    a = synthetic_shapes.load((1, 24, 24), {"count": 50, "noise": 0.0}, seed=3)
    b = synthetic_shapes.load((1, 24, 24), {"count": 50, "noise": 0.0}, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.boxes, b.boxes)
    assert a.images.shape == (50, 1, 24, 24) and a.masks.shape == (50, 24, 24) and a.boxes.shape == (50, 1, 4)
    for i in range(50):
        ys, xs = torch.nonzero(a.masks[i] == a.labels[i] + 1, as_tuple=True)
        x, y, w, h = (a.boxes[i, 0] * 24).tolist()
        assert x - w / 2 <= xs.min() + 0.5 and xs.max() + 0.5 <= x + w / 2
        assert y - h / 2 <= ys.min() + 0.5 and ys.max() + 0.5 <= y + h / 2


def test_several_objects_per_image_each_get_a_box() -> None:
    data = synthetic_shapes.load((1, 32, 32), {"count": 40, "objects": 4}, seed=0)
    present = data.box_labels >= 0
    assert present[:, 0].all() and present.sum(1).max() > 1 and (data.boxes[~present] == 0).all()


def test_shapes_follow_the_input_channels_and_options() -> None:
    data = synthetic_shapes.load((3, 16, 20), {"count": 20, "shapes": ["circle", "cross"]}, seed=0)
    assert data.images.shape == (20, 3, 16, 20) and data.classes == ["circle", "cross"]
    with pytest.raises(TrainingError, match="'shapes'"):
        synthetic_shapes.load((1, 16, 16), {"shapes": ["blob"]}, seed=0)
    with pytest.raises(TrainingError, match=r"\[1, H, W\]"):
        synthetic_shapes.load((1, 16), {}, seed=0)


def test_sequences_are_labelled_by_the_pattern() -> None:
    data = synthetic_sequences.load((1, 24), {"count": 300, "pattern": "1011"}, seed=0)
    text = ["".join(str(int(v)) for v in row) for row in data.images[:, 0]]
    assert [int("1011" in t) for t in text] == data.labels.tolist()
    assert 0.35 < data.labels.float().mean() < 0.65


def _write_idx(folder_path: Path, images: torch.Tensor, labels: torch.Tensor, prefix: str = "train") -> None:
    n, h, w = images.shape
    with gzip.open(folder_path / f"{prefix}-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(struct.pack(">BBBBIII", 0, 0, 8, 3, n, h, w) + images.numpy().tobytes())
    with open(folder_path / f"{prefix}-labels-idx1-ubyte", "wb") as handle:
        handle.write(struct.pack(">BBBBI", 0, 0, 8, 1, n) + labels.numpy().tobytes())


def test_idx_files_are_read_and_fitted(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (30, 10, 12), dtype=torch.uint8)
    labels = torch.randint(0, 4, (30,), dtype=torch.uint8)
    _write_idx(tmp_path, images, labels)
    data = load_data(f"idx:{tmp_path}", (1, 10, 12), {}, 0, print)
    assert torch.equal(data.images[:, 0], images) and torch.equal(data.labels, labels.long())
    assert load_data(f"idx:{tmp_path}", (3, 20, 24), {}, 0, print).images.shape == (30, 3, 20, 24)


def test_a_truncated_idx_file_is_explained(tmp_path: Path) -> None:
    _write_idx(tmp_path, torch.zeros(5, 4, 4, dtype=torch.uint8), torch.zeros(5, dtype=torch.uint8))
    path = tmp_path / "train-labels-idx1-ubyte"
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(TrainingError, match="truncated"):
        load_data(f"idx:{tmp_path}", (1, 4, 4), {}, 0, print)


@pytest.mark.skipif(not MNIST.is_dir(), reason="the MNIST copy in ../shared/data/mnist is not on this machine")
def test_real_mnist_trains_through_idx() -> None:
    finished, recorder = train(classifier(10, 28), epochs=1, data=f"idx:{MNIST}", data_options={}, lr=0.003)
    assert finished.status == "completed", recorder.of(events.Error)
    started = recorder.of(events.Started)[0]
    assert (started.train_samples, started.val_samples) == (8000, 2000)
    assert recorder.of(events.EpochMetrics)[0].metrics["val_accuracy"] > 0.8


def test_a_folder_with_broken_files_skips_and_names_them(tmp_path: Path) -> None:
    for name, colour in (("dark", 20), ("light", 230)):
        (tmp_path / name).mkdir()
        for i in range(6):
            Image.new("RGB", (12 + i, 9), (colour, colour, colour)).save(tmp_path / name / f"{i}.png")
    (tmp_path / "dark" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    (tmp_path / "light" / "notes.txt").write_text("not an image")
    warnings: list[str] = []
    data = load_data(f"folder:{tmp_path}", (1, 8, 8), {}, 0, warnings.append)
    assert len(data) == 12 and data.classes == ["dark", "light"] and data.images.shape == (12, 1, 8, 8)
    assert len(warnings) == 1 and "1 file(s) that are not readable images: dark/broken.png" in warnings[0]
    finished, recorder = train(classifier(2, 8), data=f"folder:{tmp_path}", data_options={}, epochs=1, batch_size=4)
    assert finished.status == "completed"
    messages = [w.message for w in recorder.of(events.Warning)]
    assert any("broken.png" in m for m in messages) and any("not images: light/notes.txt" in m for m in messages)


def test_offline_download_is_explained_quickly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args, **kwargs):
        raise OSError("Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setenv("CNNSTUDIO_DATA", str(tmp_path))
    with pytest.raises(TrainingError, match="could not be downloaded") as caught:
        load_data("fashion-mnist", (1, 28, 28), {}, 0, print)
    assert str(tmp_path) in str(caught.value) and "offline" in str(caught.value)


def test_unknown_data_and_misplaced_options_are_explained() -> None:
    with pytest.raises(TrainingError, match="unknown data 'imagenet'"):
        load_data("imagenet", (1, 28, 28), {}, 0, print)
    with pytest.raises(TrainingError, match="data_options"):
        load_data("idx:/nowhere", (1, 28, 28), {"count": 5}, 0, print)
    with pytest.raises(TrainingError, match="no such folder"):
        load_data("folder:/nowhere/at/all", (1, 28, 28), {}, 0, print)


def test_fit_images_converts_channels_and_size() -> None:
    rgb = torch.zeros(2, 3, 4, 4, dtype=torch.uint8)
    rgb[:, 0] = 255
    gray = fit_images(rgb, (1, 8, 8))
    assert gray.shape == (2, 1, 8, 8) and gray.dtype == torch.uint8 and int(gray[0, 0, 4, 4]) == 76
    assert fit_images(torch.rand(2, 1, 5, 5), (3, 5, 5)).shape == (2, 3, 5, 5)


def test_augmentation_trains_and_moves_boxes_with_images() -> None:
    finished, recorder = train(classifier(), epochs=1, augment={"shift": 0.1, "rotation": 15, "hflip": 0.5,
                                                                "vflip": 0.2, "shear": 5, "zoom": 0.1})
    assert finished.status == "completed", recorder.of(events.Error)
    from cnnstudio.training.data import augment
    from cnnstudio.training.settings import AugmentSettings

    data = synthetic_shapes.load((1, 16, 16), {"count": 10}, seed=0)
    images, boxes, masks = augment.apply(augment.build(AugmentSettings(hflip=1.0)), data.images, data.boxes, data.masks)
    assert torch.equal(images, data.images.flip(-1)) and torch.equal(masks, data.masks.flip(-1))
    assert torch.allclose(boxes[:, 0, 0], 1 - data.boxes[:, 0, 0])


def test_recorder_helper_keeps_events_in_order() -> None:
    recorder = Recorder()
    recorder(events.Warning("a"))
    recorder(events.Error("b"))
    assert [type(e).__name__ for e in recorder.events] == ["Warning", "Error"]
