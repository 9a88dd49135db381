"""Validation samples: the source's own (MNIST's t10k files, a folder's val/), a random fraction with
its own seed, the last ones, another source; and every run records which."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnstudio.training import checkpoint, events
from cnnstudio.training.data.registry import OpenRequest, open_data
from cnnstudio.training.data.splits import choose
from cnnstudio.training.errors import TrainingError
from training_helpers import Recorder, classifier, train


def write_idx(folder: Path, prefix: str, count: int, first_label: int = 0) -> torch.Tensor:
    """MNIST-format files ``PREFIX-images-idx3-ubyte.gz`` and ``PREFIX-labels-idx1-ubyte`` of 8x8 images
    whose brightness is their label (so the classes are learnable); returns the labels."""
    labels = (torch.arange(count) + first_label) % 3
    images = (labels.view(-1, 1, 1) * 100 + torch.randint(0, 20, (count, 8, 8))).to(torch.uint8)
    folder.mkdir(parents=True, exist_ok=True)
    with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as handle:
        handle.write(struct.pack(">BBBBIII", 0, 0, 8, 3, count, 8, 8) + images.numpy().tobytes())
    (folder / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">BBBBI", 0, 0, 8, 1, count)
                                                         + labels.to(torch.uint8).numpy().tobytes())
    return labels


def test_mnist_train_and_t10k_files_give_the_official_split(tmp_path: Path) -> None:
    write_idx(tmp_path, "train", 60)
    held_out = write_idx(tmp_path, "t10k", 15, first_label=1)
    finished, recorder = train(classifier(3, 8), tmp_path / "run", data=f"idx:{tmp_path}", epochs=1, batch_size=10,
                               data_options={})
    assert finished.status == "completed", recorder.of(events.Error)
    started = recorder.of(events.Started)[0]
    assert (started.train_samples, started.val_samples) == (60, 15)
    assert started.validation == "the t10k-* files (15 samples)"
    confusion = recorder.of(events.EpochMetrics)[0].metrics["val_confusion"]
    assert [sum(row) for row in confusion] == torch.bincount(held_out, minlength=3).tolist()
    saved = checkpoint.load(tmp_path / "run" / "last.pt")["validation"]
    assert saved == {"mode": "source", "description": "the t10k-* files (15 samples)", "train": 60, "validation": 15}


def test_one_pair_of_idx_files_is_split_at_random(tmp_path: Path) -> None:
    write_idx(tmp_path, "t10k", 50)
    finished, recorder = train(classifier(3, 8), data=f"idx:{tmp_path}", epochs=1, batch_size=10, data_options={})
    started = recorder.of(events.Started)[0]
    assert (started.train_samples, started.val_samples) == (40, 10)
    assert started.validation == "a random 20% (split_seed 0, 10 samples)"


def _dataset(tmp_path: Path):
    write_idx(tmp_path, "train", 40)
    write_idx(tmp_path, "t10k", 10)
    return open_data(f"idx:{tmp_path}", OpenRequest((1, 8, 8)))


def test_random_split_has_its_own_seed_and_last_takes_the_end(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    never = lambda spec: pytest.fail("no other source")  # noqa: E731
    a = choose(dataset, "random", 0.25, 7, never)
    b = choose(dataset, "random", 0.25, 7, never)
    c = choose(dataset, "random", 0.25, 8, never)
    assert torch.equal(a.validation.images, b.validation.images) and not torch.equal(a.validation.images, c.validation.images)
    assert (len(a.train), len(a.validation), a.mode) == (30, 10, "random")
    last = choose(dataset, "last", 0.25, 0, never)
    assert torch.equal(last.validation.images, dataset.source.images[30:]) and last.mode == "last"
    assert torch.equal(last.train.images, dataset.source.images[:30])
    assert choose(dataset, "source", 0.25, 0, never).validation is dataset.validation


def test_the_weights_seed_leaves_the_split_alone(tmp_path: Path) -> None:
    write_idx(tmp_path, "t10k", 50)
    runs = [train(classifier(3, 8), data=f"idx:{tmp_path}", epochs=1, batch_size=10, data_options={}, seed=seed,
                  validation="random")[1] for seed in (0, 1)]
    confusions = [r.of(events.EpochMetrics)[0].metrics["val_confusion"] for r in runs]
    assert [sum(row) for row in confusions[0]] == [sum(row) for row in confusions[1]]
    assert runs[0].step_losses != runs[1].step_losses


def test_a_separate_source_validates(tmp_path: Path) -> None:
    write_idx(tmp_path / "a", "train", 40)
    write_idx(tmp_path / "b", "t10k", 12)
    finished, recorder = train(classifier(3, 8), data=f"idx:{tmp_path / 'a'}", validation=f"idx:{tmp_path / 'b'}",
                               epochs=1, batch_size=10, data_options={})
    started = recorder.of(events.Started)[0]
    assert finished.status == "completed" and (started.train_samples, started.val_samples) == (40, 12)
    assert started.validation == f"idx:{tmp_path / 'b'} (12 samples)"


def test_asking_for_a_split_the_source_lacks_is_explained(tmp_path: Path) -> None:
    finished, recorder = train(classifier(), epochs=1, validation="source")
    assert finished.status == "failed" and "has none" in recorder.of(events.Error)[0].message
    finished, recorder = train(classifier(), epochs=1, validation="fodler:/x")
    assert finished.status == "failed" and "unknown data 'fodler:/x'" in recorder.of(events.Error)[0].message


def test_a_folder_with_train_and_val_uses_them(tmp_path: Path) -> None:
    for part, count in (("train", 8), ("val", 3)):
        for name, level in (("cat", 30), ("dog", 220)):
            (tmp_path / part / name).mkdir(parents=True)
            for i in range(count):
                Image.new("L", (10, 10), level).save(tmp_path / part / name / f"{i}.png")
    finished, recorder = train(classifier(2, 8), data=f"folder:{tmp_path}", epochs=1, batch_size=4, data_options={})
    started = recorder.of(events.Started)[0]
    assert finished.status == "completed" and (started.train_samples, started.val_samples) == (16, 6)
    assert started.classes == ["cat", "dog"] and started.validation == "the val/ folder (6 samples)"
    (tmp_path / "val" / "bird").mkdir()
    Image.new("L", (10, 10), 0).save(tmp_path / "val" / "bird" / "0.png")
    with pytest.raises(TrainingError, match="val/bird is a class that train/ does not have"):
        open_data(f"folder:{tmp_path}", OpenRequest((1, 8, 8)))


def test_a_checkpoint_from_before_validation_settings_keeps_its_random_split(tmp_path: Path) -> None:
    """Such runs drew their split with the weights' seed; resuming one must validate on the same samples."""
    write_idx(tmp_path / "data", "t10k", 50)
    finished, _ = train(classifier(3, 8), tmp_path / "run", data=f"idx:{tmp_path / 'data'}", epochs=1, batch_size=10,
                        data_options={}, seed=3, validation="random", split_seed=3)
    state = checkpoint.load(tmp_path / "run" / "last.pt")
    for key in ("validation", "split_seed"):
        del state["settings"][key]
    del state["sampler"], state["validation"], state[checkpoint.CHECKSUM]
    state["version"] = 1  # files of that time had no checksum
    torch.save(state, tmp_path / "run" / "old.pt")
    from cnnstudio.training.engine import Trainer

    recorder = Recorder()
    resumed = Trainer.from_checkpoint(tmp_path / "run" / "old.pt", {"epochs": 2}, on_event=recorder, step_rate=None)
    assert resumed.run().status == "completed", recorder.of(events.Error)
    assert recorder.of(events.Started)[0].validation == "a random 20% (split_seed 3, 10 samples)"
