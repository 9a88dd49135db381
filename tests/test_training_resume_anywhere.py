"""A run continues on another number of processes (issue 20): same global batch, schedule and place
in the epoch; metrics continue without repeating; the result is a straight run's."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnstudio.cli import main
from cnnstudio.core.designfile import load_design
from cnnstudio.runs.manifest import Manifest
from cnnstudio.runs.recorder import run_listeners
from cnnstudio.training import checkpoint, events
from cnnstudio.training.distributed import moved, share
from cnnstudio.training.engine import Trainer
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.sampler import EpochSampler
from cnnstudio.training.settings import parse_settings
from test_training_distributed import design_file, metrics, run


def torchrun(*args: str, processes: int = 2, cwd: Path) -> str:
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}"]
    result = run([*launcher, "-m", "cnnstudio", "train", *args], cwd=cwd)
    assert result.returncode == 0, result.stderr
    return result.stderr


def straight(path: Path, out: Path) -> list[dict]:
    design = load_design(path)
    finished = Trainer(design, parse_settings(design.training), out_dir=out, step_rate=None).run()
    assert finished.status == "completed", finished.message
    return metrics(out)


def assert_same_course(resumed: list[dict], whole: list[dict]) -> None:
    """Every epoch once, in order, with a straight run's losses and accuracy (no batch norm or
    dropout in the design: a global batch gives the same step on any number of processes)."""
    assert [r["epoch"] for r in resumed] == [r["epoch"] for r in whole] == [1, 2]
    for a, b in zip(resumed, whole):
        assert a["train_loss"] == pytest.approx(b["train_loss"], abs=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], abs=1e-4)
        assert a["val_accuracy"] == pytest.approx(b["val_accuracy"], abs=0.02)


def test_a_torchrun_run_continues_on_one_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = design_file(tmp_path)
    out = tmp_path / "run"
    torchrun(str(path), "--out", str(out), "--epochs", "1", cwd=tmp_path)
    saved = checkpoint.load(out / "last.pt")
    assert saved["sampler"]["processes"] == 2 and saved["sampler"]["global_batch"] == 16 and saved["device"] == "cpu"
    assert main(["train", str(path), "--resume", str(out / "last.pt"), "--out", str(out), "--epochs", "2"]) == 0
    err = capsys.readouterr().err
    assert err.count("resumed on 1 process (was 2): same settings, the order of samples differs") == 1
    assert "resuming at step 10" in err  # the steps continue: 10 per epoch, whatever the processes
    assert_same_course(metrics(out), straight(path, tmp_path / "straight"))
    manifest = Manifest.load(out)
    assert manifest.status == "completed" and manifest.resumed == 1 and manifest.global_step == 20


def test_a_run_stopped_mid_epoch_continues_on_two_processes(tmp_path: Path) -> None:
    path = design_file(tmp_path)
    out = tmp_path / "run"
    design = load_design(path)
    trainer = Trainer(design, parse_settings(design.training), out_dir=out, callbacks=run_listeners(out),
                      step_rate=None)
    trainer.on_event = lambda e: isinstance(e, events.StepMetrics) and e.global_step == 13 and trainer.stop()
    assert trainer.run().status == "stopped"
    saved = checkpoint.load(out / "last.pt")
    assert (saved["epoch"], saved["step"], saved["sampler"]["consumed"]) == (1, 3, 3 * 16)
    err = torchrun(str(path), "--resume", str(out / "last.pt"), "--out", str(out), cwd=tmp_path)
    assert err.count("resumed on 2 processes (was 1): same settings, the order of samples differs") == 1
    assert_same_course(metrics(out), straight(path, tmp_path / "straight"))
    assert json.loads((out / "run.json").read_text())["status"] == "completed"


@settings(max_examples=200, deadline=None)
@given(samples=st.integers(1, 300), per_process=st.integers(1, 8), before=st.integers(1, 4), after=st.integers(1, 4),
       seed=st.integers(0, 2**31), epoch=st.integers(0, 5), data=st.data())
def test_steps_take_the_same_samples_on_any_number_of_processes(samples, per_process, before, after, seed, epoch,
                                                                data) -> None:
    """Steps before the stop on ``before`` processes and after it on ``after`` take every sample of
    the epoch's full steps exactly once: nothing repeated, nothing skipped."""
    global_batch = per_process * before * after  # divides among both counts
    old = [EpochSampler(samples, global_batch // before, seed, rank, before) for rank in range(before)]
    new = [EpochSampler(samples, global_batch // after, seed, rank, after) for rank in range(after)]
    assert len(old[0]) == len(new[0]) == samples // global_batch
    stop = data.draw(st.integers(0, len(old[0])))
    taken = [i for s in old for batch in list(s.batches(epoch))[:stop] for i in batch.tolist()]
    taken += [i for s in new for batch in s.batches(epoch, stop) for i in batch.tolist()]
    assert len(taken) == len(set(taken)) == len(old[0]) * global_batch
    new[0].check(old[0].state(epoch, stop))  # the same global batch on other processes: accepted


def test_a_changed_global_batch_or_other_data_is_refused_with_both_numbers() -> None:
    saved = EpochSampler(160, 8, 0, 0, 2).state(1, 3)
    with pytest.raises(TrainingError, match="global batch of 16 samples but this run has 32"):
        EpochSampler(160, 32, 0).check(saved)
    with pytest.raises(TrainingError, match="written with 160 training samples but this run has 150"):
        EpochSampler(150, 16, 0).check(saved)
    older = {"samples": 160, "batch_size": 8, "processes": 2, "seed": 0, "epoch": 1, "step": 3}  # before issue 20
    EpochSampler(160, 16, 0).check(older)


@pytest.mark.parametrize(("global_batch", "count", "works"), [
    (15, 2, "1, 3, 5 or 15 processes can share it"), (16, 3, "1, 2, 4, 8 or 16 processes"), (7, 2, "1 or 7 processes")])
def test_a_global_batch_that_does_not_split_says_which_counts_work(global_batch, count, works) -> None:
    with pytest.raises(TrainingError) as caught:
        share(global_batch, count)
    assert f"the global batch of {global_batch} samples does not split evenly over {count} processes" in str(caught.value)
    assert works in str(caught.value)
    assert share(global_batch * count, count) == global_batch


def test_the_sentence_names_what_changed_in_plain_english() -> None:
    assert moved((2, "cpu"), (1, "cpu")) == "resumed on 1 process (was 2): same settings, the order of samples differs"
    assert moved((1, "cuda"), (1, "cpu")) == "resumed on cpu (was cuda): same settings, the numbers differ slightly"
    assert moved((1, "cpu"), (4, "cuda")).startswith("resumed on 4 processes on cuda (was 1 on cpu)")
    assert moved((2, "cuda"), (2, "cuda")) is None


def test_resuming_with_another_batch_size_fails_with_a_sentence(tmp_path: Path) -> None:
    path = design_file(tmp_path, epochs=1)
    design = load_design(path)
    assert Trainer(design, parse_settings(design.training), out_dir=tmp_path / "run").run().status == "completed"
    trainer = Trainer.from_checkpoint(tmp_path / "run" / "last.pt", {"epochs": 2, "batch_size": 32}, step_rate=None)
    finished = trainer.run()
    assert finished.status == "failed"
    assert "trained with a global batch of 16 samples but this run has 32" in finished.message
