"""Streaming image files: flat memory on a dataset larger than the in-memory limit, unreadable files
skipped and counted, exact resume, the automatic choice, csv: sources, and CUDA placement."""

from __future__ import annotations

import json
import multiprocessing
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnstudio.training import events
from cnnstudio.training.data.registry import OpenRequest, load_data, open_data
from cnnstudio.training.engine import Trainer
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import parse_settings
from training_helpers import Recorder, chain, classifier, train

REPO = Path(__file__).resolve().parents[1]
FILES = {"data_options": {}, "data_loading": "stream", "workers": 1}


def shades(root: Path, count: int, size: tuple[int, int] = (20, 20), suffix: str = "png") -> Path:
    """Two classes of grey images, dark and light, with a little variation."""
    for name, level in (("dark", 40), ("light", 210)):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            Image.new("RGB", size, (level + i % 9, level, level - i % 5)).save(root / name / f"{i:05d}.{suffix}")
    return root


def truncated(path: Path) -> None:
    """A file that opens as an image (its header is fine) but cannot be decoded."""
    path.write_bytes(path.read_bytes()[:40])


def test_a_dataset_larger_than_the_memory_limit_trains_with_flat_memory(tmp_path: Path) -> None:
    """3,000 images decode to the Input's 3x96x96: 83 MB, over the 1 MiB the run allows, so they stream.
    One process trains an epoch on 200 images (paying every fixed cost: threads, workers, compiling),
    then on the 3,000: its peak memory must barely move (decoded in memory it grows by 150 MB)."""
    small = shades(tmp_path / "small", 100, (16, 16), "jpg")
    big = shades(tmp_path / "big", 1500, (16, 16), "jpg")
    truncated(big / "dark" / "00007.jpg")
    (big / "light" / "README.txt").write_text("not an image")
    script = f"""
import json, sys
sys.path.insert(0, {str(REPO / 'tests')!r})
from training_helpers import Recorder, chain
from cnnstudio.training import events
from cnnstudio.training.engine import Trainer
from cnnstudio.training.settings import parse_settings

def peak():
    return int(next(l for l in open('/proc/self/status') if l.startswith('VmHWM')).split()[1]) * 1024

design = chain([3, 96, 96], ("Conv2d", {{"out_channels": 4, "kernel_size": 8, "stride": 8}}), ("ReLU", {{}}),
               ("Flatten", {{}}), ("Linear", {{"out_features": 2}}))
results = []
for folder in ({str(small)!r}, {str(big)!r}):
    settings = parse_settings({{"device": "cpu", "epochs": 1, "batch_size": 16, "data": "folder:" + folder,
                               "memory_limit_mb": 1, "workers": 1}})
    recorder = Recorder()
    finished = Trainer(design, settings, on_event=recorder, step_rate=None).run()
    results.append({{"status": finished.status, "steps": finished.global_step, "peak": peak(),
                    "streaming": recorder.of(events.Started)[0].streaming,
                    "warnings": [w.message for w in recorder.of(events.Warning)],
                    "errors": [e.message for e in recorder.of(events.Error)]}})
print(json.dumps(results))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                          env={"PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr[-2000:]
    first, second = json.loads(done.stdout.strip().splitlines()[-1])
    assert first["status"] == second["status"] == "completed" and second["streaming"], second
    assert second["steps"] == 2401 // 16  # 3,001 image files less the 20% kept for validation
    decoded = 3000 * 3 * 96 * 96
    assert second["peak"] - first["peak"] < decoded / 4, f"grew {(second['peak'] - first['peak']) / 2**20:.0f} MiB"
    warnings = " | ".join(second["warnings"])
    assert "skipped 1 file(s) that are not images: light/README.txt" in warnings
    assert "skipped 1 file(s) that are not readable images: dark/00007.jpg" in warnings


def test_unreadable_files_are_skipped_counted_and_named_once(tmp_path: Path) -> None:
    root = shades(tmp_path / "shades", 12)
    for i in range(12):
        truncated(root / "dark" / f"{i:05d}.png") if i % 4 == 0 else None
    finished, recorder = train(classifier(2, 16), data=f"folder:{root}", epochs=2, batch_size=4, validation="last",
                               **FILES)
    assert finished.status == "completed", recorder.of(events.Error)
    skips = [w.message for w in recorder.of(events.Warning) if "not readable" in w.message]
    named = " ".join(skips)
    assert sum(int(m.split("skipped ")[1].split(" ")[0]) for m in skips) == 3
    assert all(f"dark/{i:05d}.png" in named for i in (0, 4, 8))


def test_streaming_resumes_exactly(tmp_path: Path) -> None:
    root = shades(tmp_path / "shades", 40)
    settings = parse_settings({"device": "cpu", "epochs": 2, "batch_size": 8, "data": f"folder:{root}",
                               "augment": {"rotation": 10, "hflip": 0.5}, **FILES})
    whole = Recorder()
    Trainer(classifier(2, 16), settings, on_event=whole, step_rate=None).run()
    first = Recorder()
    trainer = Trainer(classifier(2, 16), settings, out_dir=tmp_path / "run", on_event=first, step_rate=None)

    def stop_mid_run(event: events.Event) -> None:
        first(event)
        if isinstance(event, events.StepMetrics) and event.global_step == 13:
            trainer.stop()

    trainer.on_event = stop_mid_run
    assert trainer.run().status == "stopped"
    second = Recorder()
    resumed = Trainer.from_checkpoint(tmp_path / "run" / "last.pt", out_dir=tmp_path / "run", on_event=second,
                                      step_rate=None)
    assert resumed.run().status == "completed"
    assert first.step_losses + second.step_losses == whole.step_losses
    assert not multiprocessing.active_children()  # each run let its decoding workers go


def test_resuming_on_other_data_is_refused(tmp_path: Path) -> None:
    root = shades(tmp_path / "shades", 20)
    out = tmp_path / "run"
    finished, _ = train(classifier(2, 16), out, data=f"folder:{root}", epochs=1, batch_size=4, **FILES)
    assert finished.status == "completed"
    shades(tmp_path / "shades", 30)  # ten more images per class
    recorder = Recorder()
    resumed = Trainer.from_checkpoint(out / "last.pt", {"epochs": 2}, on_event=recorder, step_rate=None)
    assert resumed.run().status == "failed"
    assert "samples" in recorder.of(events.Error)[0].message and "same data" in recorder.of(events.Error)[0].message


@pytest.mark.parametrize(("loading", "limit", "streams"), [("auto", None, False), ("auto", 1, True),
                                                           ("memory", 1, False), ("stream", None, True)])
def test_memory_or_streaming_is_chosen_by_size_unless_forced(tmp_path: Path, loading: str, limit: int | None,
                                                             streams: bool) -> None:
    """120 images decoded to the Input's 3x64x64 take 1.4 MiB: over a 1 MiB limit, far under the default."""
    root = shades(tmp_path / "shades", 60)
    design = chain([3, 64, 64], ("Conv2d", {"out_channels": 2, "kernel_size": 8, "stride": 8}), ("Flatten", {}),
                   ("Linear", {"out_features": 2}))
    finished, recorder = train(design, data=f"folder:{root}", epochs=1, batch_size=32, data_options={},
                               data_loading=loading, memory_limit_mb=limit, workers=0)
    assert finished.status == "completed", recorder.of(events.Error)
    assert recorder.of(events.Started)[0].streaming is streams


def test_generated_data_stays_in_memory_when_streaming_is_asked(tmp_path: Path) -> None:
    finished, recorder = train(classifier(), epochs=1, data_loading="stream")
    assert finished.status == "completed" and not recorder.of(events.Started)[0].streaming
    assert any("held in memory" in w.message for w in recorder.of(events.Warning))


# -- csv: ------------------------------------------------------------------------------------------------
def _draw(tmp_path: Path) -> Path:
    """Three 20x10 images with a bright rectangle each, their masks, and a CSV describing them."""
    rows = ["path,label,boxes,mask,split"]
    for i, (x0, y0, x1, y1) in enumerate([(2, 1, 8, 5), (10, 4, 18, 9), (0, 0, 20, 10)]):
        image = Image.new("L", (20, 10), 0)
        image.paste(255, (x0, y0, x1, y1))
        image.save(tmp_path / f"img{i}.png")
        mask = Image.new("L", (20, 10), 0)
        mask.paste(i % 2 + 1, (x0, y0, x1, y1))
        mask.save(tmp_path / f"mask{i}.png")
        rows.append(f"img{i}.png,{['cat', 'dog'][i % 2]},{['cat', 'dog'][i % 2]} {x0} {y0} {x1} {y1},mask{i}.png,"
                    f"{'val' if i == 2 else 'train'}")
    (tmp_path / "data.csv").write_text("\n".join(rows) + "\n")
    return tmp_path / "data.csv"


def test_csv_gives_labels_boxes_masks_and_its_own_split(tmp_path: Path) -> None:
    dataset = open_data(f"csv:{_draw(tmp_path)}", OpenRequest((1, 10, 20)))
    assert dataset.source.classes == ["cat", "dog"] and len(dataset.source) == 2 and len(dataset.validation) == 1
    assert dataset.source.targets == {"boxes", "box_labels", "masks"} and dataset.source.streaming
    data = dataset.source.read(torch.arange(2))
    assert data.labels.tolist() == [0, 1] and data.box_labels.tolist() == [[0], [1]]
    assert torch.allclose(data.boxes[0, 0], torch.tensor([0.25, 0.3, 0.3, 0.4]))
    assert data.masks.shape == (2, 10, 20) and int(data.masks[1, 6, 12]) == 2 and int(data.masks[1, 0, 0]) == 0
    assert (data.images[0, 0] > 128).sum() == 6 * 4  # the rectangle, at the Input's own size


def test_csv_trains_detection_and_segmentation(tmp_path: Path) -> None:
    spec = f"csv:{_draw(tmp_path)}"
    assert load_data(spec, (1, 10, 20), {}, 0, print).boxes.shape == (2, 1, 4)
    segmenter = chain([1, 10, 20], ("Conv2d", {"out_channels": 3, "kernel_size": 3, "padding": "same"}))
    finished, recorder = train(segmenter, task="segmentation", data=spec, epochs=1, batch_size=2, data_options={})
    assert finished.status == "completed", recorder.of(events.Error)
    assert recorder.of(events.Started)[0].validation.startswith("the rows marked val")


@pytest.mark.parametrize(("text", "message"), [
    ("file,label\na.png,1\n", "'path' and 'label'"),
    ("path,label\n,1\n", "line 2: the path is empty"),
    ("path,boxes\na.png,cat 1 2 3\n", "CLASS x0 y0 x1 y1"),
    ("path,label,split\na.png,1,test\n", "split must be train or val"),
    ("path,label\n", "no rows"),
])
def test_csv_mistakes_are_explained(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "data.csv").write_text(text)
    with pytest.raises(TrainingError, match=message):
        open_data(f"csv:{tmp_path / 'data.csv'}", OpenRequest((1, 8, 8)))
    with pytest.raises(TrainingError, match="no such file"):
        open_data(f"csv:{tmp_path / 'none.csv'}", OpenRequest((1, 8, 8)))


# -- CUDA ------------------------------------------------------------------------------------------------
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.cuda
@cuda
def test_small_data_lives_on_the_gpu_and_streaming_pins(tmp_path: Path) -> None:
    root = shades(tmp_path / "shades", 40)
    for loading, where in (("memory", "cuda"), ("stream", "cpu")):
        recorder = Recorder()
        settings = parse_settings({"device": "cuda", "epochs": 1, "batch_size": 8, "data": f"folder:{root}",
                                   "data_loading": loading, "workers": 1})
        trainer = Trainer(classifier(2, 16), settings, on_event=recorder, step_rate=None)
        assert trainer.run().status == "completed", recorder.of(events.Error)
        assert trainer.data.train.streaming is (loading == "stream")
        if loading == "memory":
            assert trainer.data.train.images.device.type == where
        else:
            raw = next(trainer.train_data.epoch(0))
            assert raw.images.is_pinned()
