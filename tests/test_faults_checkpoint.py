"""Issue 13 items 3, 4 and 7 (checkpoints): damaged, crafted or foreign checkpoints are refused
with a sentence; a killed or failed run is repaired at its next start (no stray temporary files,
one metrics line per epoch the checkpoint holds)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch

from cnnstudio.cli import main
from cnnstudio.core.designfile import save_design
from cnnstudio.runs.recorder import RunRecorder, run_listeners
from cnnstudio.training import checkpoint, events
from cnnstudio.training.engine import Trainer
from cnnstudio.training.errors import NotWritten, TrainingError
from cnnstudio.training.settings import parse_settings
from fault_helpers import RUN_FILES, cli_environment, entries, fill, small_disk
from training_helpers import Recorder, classifier

SETTINGS = {"epochs": 1, "batch_size": 32, "data_options": {"count": 200}, "device": "cpu"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A design file and the run folder of one epoch of it."""
    folder = tmp_path_factory.mktemp("trained")
    design = classifier()
    design.training = dict(SETTINGS)
    save_design(design, folder / "tiny.json")
    assert main(["train", str(folder / "tiny.json"), "--out", str(folder / "run")]) == 0
    return folder


def _copy(trained: Path, tmp_path: Path) -> tuple[Path, Path]:
    run = tmp_path / "run"
    run.mkdir()
    for name in ("last.pt", "metrics.jsonl"):
        (run / name).write_bytes((trained / "run" / name).read_bytes())
    return trained / "tiny.json", run


def _resume(design: Path, ckpt: Path, capsys: pytest.CaptureFixture, *extra: str) -> tuple[int, str]:
    code = main(["train", str(design), "--resume", str(ckpt), *extra])
    return code, capsys.readouterr().err


def _crafted(trained: Path, tmp_path: Path, **changes: object) -> Path:
    """The trained checkpoint with ``changes``, and a checksum that matches them (made on purpose)."""
    state = torch.load(trained / "run" / "last.pt", weights_only=True)
    state.update(changes)
    state[checkpoint.CHECKSUM] = checkpoint.checksum(state)
    path = tmp_path / "crafted.pt"
    torch.save(state, path)
    return path


# -- item 4: checksums --------------------------------------------------------------------------


def test_flipped_bytes_in_tensor_data_are_refused(trained: Path, tmp_path: Path, capsys) -> None:
    design, run = _copy(trained, tmp_path)
    path = run / "last.pt"
    with zipfile.ZipFile(path) as archive:
        biggest = max((i for i in archive.infolist() if "/data/" in i.filename), key=lambda i: i.file_size)
    raw = bytearray(path.read_bytes())
    header = biggest.header_offset
    start = header + 30 + int.from_bytes(raw[header + 26:header + 28], "little") + int.from_bytes(raw[header + 28:header + 30], "little")
    middle = start + biggest.file_size // 2
    raw[middle:middle + 16] = bytes(b ^ 0xFF for b in raw[middle:middle + 16])
    path.write_bytes(bytes(raw))
    torch.load(path, weights_only=True)  # torch itself notices nothing
    code, err = _resume(design, path, capsys)
    assert code == 2
    assert "the checkpoint is damaged" in err and "checksum" in err


def test_an_untouched_checkpoint_passes_its_checksum(trained: Path) -> None:
    assert checkpoint.load(trained / "run" / "last.pt")["version"] == checkpoint.VERSION


# -- item 7: every broken checkpoint is a sentence with exit status 2 ------------------------------


@pytest.mark.parametrize(("content", "text"), [
    (b"", "the file is empty"),
    (b"epoch 3, loss 0.1\n", "not a readable checkpoint"),
])
def test_empty_and_text_files_are_refused(trained: Path, tmp_path: Path, capsys, content: bytes, text: str) -> None:
    path = tmp_path / "last.pt"
    path.write_bytes(content)
    code, err = _resume(trained / "tiny.json", path, capsys)
    assert code == 2 and text in err and "internal error" not in err


@pytest.mark.parametrize(("changes", "text"), [
    ({"version": "2"}, "its version is '2'"),
    ({"step": -1}, "'step' is -1"),
    ({"loss_sum": "0.5"}, "'loss_sum' is '0.5'"),
    ({"epoch": 2.5}, "'epoch' is 2.5"),
    ({"rng": {}}, "no random-number state"),
    ({"settings": [1]}, "'settings' is missing or not a table"),
])
def test_crafted_fields_are_refused(trained: Path, tmp_path: Path, capsys, changes: dict, text: str) -> None:
    code, err = _resume(trained / "tiny.json", _crafted(trained, tmp_path, **changes), capsys)
    assert code == 2, err
    assert text in err and "internal error" not in err


def test_a_checkpoint_without_its_optimizer_is_a_sentence(trained: Path, tmp_path: Path) -> None:
    state = torch.load(trained / "run" / "last.pt", weights_only=True)
    del state["optimizer"]
    state[checkpoint.CHECKSUM] = checkpoint.checksum(state)
    torch.save(state, tmp_path / "x.pt")
    with pytest.raises(TrainingError, match="'optimizer' is missing"):
        checkpoint.load(tmp_path / "x.pt")


def test_wrong_shaped_tensors_list_every_difference_and_exit_2(trained: Path, tmp_path: Path, capsys) -> None:
    model = torch.load(trained / "run" / "last.pt", weights_only=True)["model"]
    model = {**model, "conv2d1.weight": torch.zeros(4, 1, 3, 3), "linear1.bias": torch.zeros(3)}
    code, err = _resume(trained / "tiny.json", _crafted(trained, tmp_path, model=model), capsys)
    assert code == 2, err
    assert "'conv2d1.weight' has shape [4, 1, 3, 3], the layer needs [8, 1, 3, 3]" in err
    assert "'linear1.bias' has shape [3], the layer needs [6]" in err


def test_safetensors_given_to_resume_is_explained(trained: Path, tmp_path: Path, capsys) -> None:
    path = tmp_path / "w.safetensors"
    main(["export", str(trained / "tiny.json"), "-f", "safetensors", "-o", str(path)])
    code, err = _resume(trained / "tiny.json", path, capsys)
    assert code == 2 and "weights only" in err and "init_weights" in err


# -- item 3: the next start of a run repairs its folder --------------------------------------------


def test_resume_removes_stray_temporaries_and_extra_metrics(trained: Path, tmp_path: Path, capsys) -> None:
    design, run = _copy(trained, tmp_path)
    stray = [run / ".last.k3j_x9q2.pt", run / ".last.pt.ab12cd34.part", run / ".metrics.jsonl.0iwfc63k.part"]
    for path in stray:
        path.write_bytes(b"\0" * 1000)
    keep = run / ".lastly.notours.pt"
    keep.write_bytes(b"x")
    metrics = run / "metrics.jsonl"
    first = metrics.read_text()
    # A kill after epoch 2's line but before its checkpoint, then a line cut halfway.
    metrics.write_text(first + json.dumps({"epoch": 2, "train_loss": 9.0}) + "\n" + '{"epoch": 2, "tra')
    code, err = _resume(design, run / "last.pt", capsys, "--epochs", "2")
    assert code == 0, err
    lines = [json.loads(line) for line in metrics.read_text().splitlines()]
    assert [line["epoch"] for line in lines] == [1, 2]
    assert lines[0] == json.loads(first) and lines[1]["train_loss"] != 9.0
    assert entries(run) == sorted([keep.name, *RUN_FILES])


def _stop_on_a_full_disk(disk: Path, epoch: int) -> tuple[events.Finished, Recorder]:
    """A run stopped at the first step of ``epoch`` (from 1), with the disk just filled."""
    recorder = Recorder()
    trainer = Trainer(classifier(), parse_settings({**SETTINGS, "epochs": 50}), out_dir=disk,
                      callbacks=run_listeners(disk), step_rate=None)

    def listen(event: events.Event) -> None:
        recorder(event)
        if isinstance(event, events.StepMetrics) and event.epoch == epoch:
            fill(disk)
            trainer.stop()

    trainer.on_event = listen
    return trainer.run(), recorder


def test_a_stop_on_a_full_disk_is_a_stop_and_keeps_the_previous_checkpoint(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", size_kb=2048) as disk:
        finished, recorder = _stop_on_a_full_disk(disk, epoch=2)
        assert finished.status == "stopped" and not recorder.of(events.Error)
        assert "the checkpoint last.pt was not written" in finished.message and "is full" in finished.message
        assert (f"The last good checkpoint is kept: {disk / 'last.pt'}, saved at epoch 1, step 5/5 (step 5 of the run); "
                f"continue with --resume {disk / 'last.pt'}") in finished.message
        assert checkpoint.load(disk / "last.pt")["epoch"] == 1
        assert entries(disk) == sorted(["filler", "filler2", *RUN_FILES])


def test_a_stop_on_a_full_disk_before_any_checkpoint_says_none_is_kept(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", size_kb=2048) as disk:
        finished, _ = _stop_on_a_full_disk(disk, epoch=1)
        assert finished.status == "stopped"
        assert "No earlier checkpoint of this run exists, so it must start again." in finished.message
        assert "last.pt" not in entries(disk) and not [name for name in entries(disk) if name.endswith(".part")]


def test_a_stop_on_a_full_disk_of_a_run_resumed_elsewhere_names_the_checkpoint_it_came_from(tmp_path: Path) -> None:
    """``--resume A/last.pt --out B``: B holds no last.pt yet, but A's is kept and is named."""
    first = tmp_path / "A"
    assert Trainer(classifier(), parse_settings(SETTINGS), out_dir=first).run().status == "completed"
    with small_disk(tmp_path / "disk", size_kb=2048) as disk:
        out = disk / "B"
        trainer = Trainer.from_checkpoint(first / "last.pt", {"epochs": 50}, out_dir=out, step_rate=None)

        def listen(event: events.Event) -> None:
            if isinstance(event, events.StepMetrics):
                fill(disk)
                trainer.stop()

        trainer.on_event = listen
        finished = trainer.run()
        assert finished.status == "stopped" and "No earlier checkpoint" not in finished.message
        assert (f"No checkpoint of this run is in {out} yet; the one it resumed from is kept: {first / 'last.pt'}, "
                f"saved at epoch 1, step 5/5 (step 5 of the run); continue with --resume {first / 'last.pt'} "
                f"--out {out}") in finished.message
        assert not (out / "last.pt").exists() and checkpoint.load(first / "last.pt")["epoch"] == 1


def test_best_pt_on_a_full_disk_is_a_sentence_not_an_internal_error(tmp_path: Path) -> None:
    """best.pt is copied right after last.pt is written: the disk may fill in between."""
    with small_disk(tmp_path / "disk", size_kb=2048) as disk:
        recorder = RunRecorder(disk)
        recorder.open({}, {"task": "classification"}, resumed=False)
        (disk / "last.pt").write_bytes(b"\0" * 100_000)
        recorder.on_epoch(events.EpochMetrics(1, 1.0, 1.0, {"val_accuracy": 0.5}, 0.001, 1.0))
        fill(disk)
        with pytest.raises(NotWritten, match="the checkpoint best.pt was not written: the disk holding .* is full"):
            recorder.on_checkpoint(events.CheckpointWritten(str(disk / "last.pt"), 1, 5))
        assert not [name for name in entries(disk) if name.endswith(".part")]


def _pause(process: subprocess.Popen) -> None:
    """SIGSTOP, and wait until the kernel has stopped it (the signal is delivered asynchronously)."""
    process.send_signal(signal.SIGSTOP)
    stat = Path(f"/proc/{process.pid}/stat")
    while stat.exists() and stat.read_text().rpartition(")")[2].split()[0] not in ("T", "t", "Z"):
        time.sleep(0.001)


@pytest.mark.faults
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="POSIX signals and /proc")
def test_sigterm_on_a_full_disk_exits_130_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    """A real `cnnstudio train` process: its first checkpoint and best.pt written, it is paused
    (SIGSTOP) while the disk fills, then SIGTERM: the stop meets the full disk wherever the run
    stands (a step, validation, the metrics line, last.pt or best.pt of a later epoch)."""
    design = classifier()
    design.training = {**SETTINGS, "epochs": 10_000}
    save_design(design, tmp_path / "tiny.json")
    with small_disk(tmp_path / "disk", size_kb=2048) as disk:
        run = disk / "run"
        process = subprocess.Popen([sys.executable, "-m", "cnnstudio", "train", str(tmp_path / "tiny.json"), "--out", str(run)],
                                   stderr=subprocess.PIPE, text=True, env=cli_environment(), cwd=tmp_path)
        try:
            deadline = time.monotonic() + 90
            while not (run / "best.pt").exists() and process.poll() is None and time.monotonic() < deadline:
                time.sleep(0.05)
            while True:  # paused between writes: a pending rename would free the old file's space
                _pause(process)
                if not list(run.glob(".*.part")):
                    break
                process.send_signal(signal.SIGCONT)
                time.sleep(0.01)
            fill(disk)
            process.send_signal(signal.SIGTERM)
            process.send_signal(signal.SIGCONT)
            _, err = process.communicate(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == 130, err[-2000:]
        assert "Traceback" not in err and "internal error" not in err
        assert "was not written: the disk holding" in err and "is full" in err
        assert f"The last good checkpoint is kept: {run / 'last.pt'}, saved at epoch " in err
        assert f"continue with --resume {run / 'last.pt'}" in err
        assert checkpoint.load(run / "last.pt")["epoch"] >= 1
        assert entries(run) == RUN_FILES
