"""The trainer: one run of one design, reporting through events, controllable from another thread.

``Trainer(design, settings, out_dir=..., on_event=...)`` is cheap; ``run()`` does the work
(loading data, compiling, the loop) and returns when the run completes, stops or fails; call it in
a worker thread to keep a window responsive. ``pause()``, ``resume()`` and ``stop()`` may be called
from any thread: the loop checks them before every step, and a stop writes a checkpoint first.

The design is copied at construction, so editing it while training runs changes nothing here.

With ``out_dir`` (a run folder) the run's files are written by listeners of its events
(:mod:`cnnstudio.training.listeners`): metrics.jsonl and TensorBoard by the engine's own, anything
else by the ``callbacks`` the caller gives (the run store's manifest, best.pt and the views'
snapshots: ``cnnstudio.runs.recorder.run_listeners``; the engine imports nothing of the run store).
The loop itself writes only ``last.pt``, which stopping needs at any step.

What the run trains with (device, data, model, optimizer, precision) is a
:class:`~cnnstudio.training.setup.RunSetup`, made when the run starts.
"""

from __future__ import annotations

import math
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from cnnstudio.core.compiler import CompileError, build_model
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import DesignFileError, from_dict, to_dict
from cnnstudio.training import checkpoint, distributed, events, probes, runfiles
from cnnstudio.training.control import RunControl
from cnnstudio.training.data.images import report_skipped
from cnnstudio.training.defaults import default_settings
from cnnstudio.training.device import is_out_of_memory, recorded
from cnnstudio.training.errors import NotWritten, TrainingError, first_line
from cnnstudio.training.listeners import METRICS_NAME, Callback, MetricsWriter, RunInfo
from cnnstudio.training.settings import TrainingSettings, parse_settings
from cnnstudio.training.setup import RunSetup, build
from cnnstudio.training.tasks import Batch
from cnnstudio.training.tensorboard import Board

CHECKPOINT_NAME = "last.pt"
SAMPLES_SHOWN = 8


class _Stopped(Exception):
    """Raised inside the loop when a stop was asked for; the checkpoint is already written."""


@dataclass
class _Position:
    epoch: int = 0  # the epoch in progress, from 0
    step: int = 0  # the next step within it
    global_step: int = 0  # steps done over the whole run
    loss_sum: float = 0.0  # the epoch's training loss so far, summed over samples
    samples: int = 0


def _check_tensors(design: Design, tensors: dict[str, Tensor], path: str | os.PathLike[str]) -> None:
    """Every tensor the design's model needs, with its shape, before anything is allocated (the
    model is built on the meta device): a sentence listing each difference, not torch's error."""
    try:
        with torch.device("meta"):
            needed = {name: tuple(t.shape) for name, t in build_model(design).state_dict().items()}
    except CompileError as error:
        raise TrainingError(f"{path}: the design inside the checkpoint does not compile: {error}") from None
    problems = [f"'{name}' is missing" for name in needed if name not in tensors]
    problems += [f"'{name}' has shape {list(tensors[name].shape)}, the layer needs {list(shape)}"
                 for name, shape in needed.items() if name in tensors and tuple(tensors[name].shape) != shape]
    problems += [f"'{name}' belongs to no layer" for name in tensors if name not in needed]
    if problems:
        shown = "; ".join(problems[:10]) + (f"; and {len(problems) - 10} more" if len(problems) > 10 else "")
        raise TrainingError(f"{path}: the checkpoint's tensors do not fit its design: {shown}")


class _Part:
    """A part of the run's :class:`RunSetup`, read through the trainer once the run is set up."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, trainer: Trainer | None, owner: type) -> Any:
        if trainer is None:
            return self
        if trainer.setup is None:
            raise AttributeError(f"the run is not set up yet, so it has no {self.name} (run() or prepare() first)")
        return getattr(trainer.setup, self.name)


class Trainer(RunControl):
    device, data, task, model, train_data, val_data, optimizer, schedule, amp_dtype, scaler = (
        _Part() for _ in range(10))

    def __init__(
        self,
        design: Design,
        settings: TrainingSettings | None = None,
        *,
        out_dir: str | os.PathLike[str] | None = None,
        on_event: events.Callback | None = None,
        callbacks: list[Callback] | None = None,
        step_rate: float | None = 20.0,
        resume_from: dict[str, Any] | None = None,
        world: distributed.World | None = None,
    ):
        """``callbacks``: listeners of every event before ``on_event`` (the front end), with the
        ``setup`` and ``on_exception`` hooks (the run store's writers). ``step_rate``: step events per
        second at most (None: every step). ``resume_from``: a loaded checkpoint (see
        :meth:`from_checkpoint`). ``world``: this process's place under torchrun (default: a single
        process)."""
        self.design = design.copy()
        self.settings = settings or default_settings(design)
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.on_event = on_event or (lambda event: None)
        self.callbacks = list(callbacks or [])
        self.listeners: list[Callback] = []  # the engine's own writers (metrics, TensorBoard), then the callbacks
        self.throttle = events.Throttle(step_rate)
        self.resume_from = resume_from
        self.world = world or distributed.World()
        RunControl.__init__(self)
        self.setup: RunSetup | None = None  # made when the run starts (or by prepare)
        self.train_model: torch.nn.Module | None = None  # the model, wrapped by DDP under torchrun
        self.position = _Position()
        self.last_checkpoint: str | None = None
        self.resumed_path: Path | None = None  # the checkpoint this run continues (from_checkpoint)
        self._saved_at = ""  # where the run stood at its latest checkpoint, written or resumed from
        self._probe: probes.ProbeRequest | None = None
        self._probe_lock = threading.Lock()
        self._prober: probes.Prober | None = None
        self._skips_reported: set[str] = set()

    @classmethod
    def from_checkpoint(cls, path: str | os.PathLike[str], overrides: dict[str, Any] | None = None, **kwargs: Any) -> Trainer:
        """Continue the run saved in ``path``, with its own design; ``overrides`` may add epochs."""
        state = checkpoint.load(path)
        try:
            design = from_dict(state["design"], source=str(path))
            saved = _before_split_settings(state["settings"])
            settings = parse_settings(saved, overrides)
            planned = parse_settings(saved).epochs
        except (KeyError, DesignFileError) as error:
            raise TrainingError(f"{path}: the checkpoint is incomplete or damaged ({error})") from None
        if settings.epochs != planned and settings.schedule in ("cosine", "onecycle"):
            raise TrainingError(f"the {settings.schedule} schedule was planned for {planned} epochs; the length of a "
                                "run with it cannot be changed on resume")
        _check_tensors(design, state["model"], path)
        trainer = cls(design, settings, resume_from=state, **kwargs)
        trainer.resumed_path = Path(path)
        return trainer

    # -- control, from any thread (stop, pause and resume: RunControl) ----------------------------
    def set_probe(self, request: probes.ProbeRequest | None) -> None:
        """What the studio's views want captured every ``request.every`` steps and at each epoch's
        end, emitted as a ``Snapshot``; None captures nothing and costs the loop nothing."""
        with self._probe_lock:
            self._probe = None if request is None or request.empty else request

    # -- looking inside, outside a run (a finished model, a checkpoint) -------------------------
    def prepare(self) -> None:
        """Load the data and compile the model without training, for :meth:`snapshot`."""
        self._start()

    def snapshot(self, request: probes.ProbeRequest, step: int | None = None, epoch: int | None = None) -> events.Snapshot:
        """Capture ``request`` now, from the model as it is (after :meth:`prepare` or a run);
        ``step`` and ``epoch`` name a finished model's place (default: the run's position)."""
        if self._prober is None:
            self._prober = self._ready().prober(self.design)
        step = self.position.global_step if step is None else step
        return self._prober.capture(request, step, self.position.epoch + 1 if epoch is None else epoch)

    # -- the run -----------------------------------------------------------------------------------
    def run(self) -> events.Finished:
        status, message = "completed", ""
        try:
            self._open_run_folder()
            self._start()
            self._loop()
        except _Stopped:
            status = "stopped"
        except NotWritten as error:  # a full disk while stopping is still the stop that was asked for
            status, message = ("stopped", self._not_saved(error)) if self.stopping else ("failed", str(error))
        except TrainingError as error:
            status, message = "failed", str(error)
        except Exception as error:  # a bug of ours: reported, never a traceback in the user's face
            if os.environ.get("CNNSTUDIO_DEBUG"):
                raise
            status, message = "failed", f"internal error: {type(error).__name__}: {error}"
        finally:
            if self.setup is not None:
                self.setup.close()
            distributed.finish(together=status != "failed")
        if status == "failed":
            for callback in self.callbacks:
                callback.on_exception(self._run_info(), message)
            self._emit(events.Error(message))
        pos = self.position
        steps = len(self.setup.train_data) if self.setup is not None else 0
        finished = events.Finished(status, pos.epoch, pos.global_step, self.last_checkpoint, pos.step, steps,
                                   message or None)
        self._emit(finished)
        return finished

    def _emit(self, event: events.Event) -> None:
        for listener in (*self.listeners, *self.callbacks):
            listener(event)
        self.on_event(event)

    def _run_info(self) -> RunInfo:
        return RunInfo(to_dict(self.design), self.settings.to_dict(), self.resume_from is not None)

    def _open_run_folder(self) -> None:
        """The engine's writers of the run folder (rank 0 only), then the callbacks' ``setup``. First
        the folder is repaired after a crash (stray temporary files removed, metrics cut back to the
        checkpoint's epochs; a fresh run starts its metrics afresh), which also fails now if the
        folder cannot be written."""
        if self.out_dir is not None and self.world.is_main:
            epochs_done = self.resume_from["epoch"] if self.resume_from is not None else None
            runfiles.repair(self.out_dir, METRICS_NAME, epochs_done)
            self.listeners.append(MetricsWriter(self.out_dir))
        info = self._run_info()
        for callback in self.callbacks:
            try:
                callback.setup(info)
            except OSError as error:
                where = self.out_dir or "the run folder"
                raise TrainingError(f"{where}: the run folder cannot be written ({error.strerror or error})") from None

    def _start(self) -> None:
        """Make the run's setup, continue the checkpoint's run if any, and say so (``Started``)."""
        s, world = self.settings, self.world
        self.setup = setup = build(self.design, s, world, self._warn, start_weights=self.resume_from is None)
        if self.resume_from is not None:
            self._restore(self.resume_from)
            self._saved_at = self._here()
        if s.tensorboard and self.out_dir is not None and world.is_main:
            self.listeners.append(Board(self.out_dir))
        # Training steps go through DDP, which averages gradients over the processes; validation and
        # checkpoints use the plain model, on rank 0 alone.
        self.train_model = distributed.wrap(setup.model, setup.device) if world.distributed else setup.model
        steps = len(setup.train_data)
        data = setup.data
        self._emit(events.Started(str(setup.device), len(data.train), len(data.validation), steps, steps * s.epochs,
                                  self.position.global_step, data.classes, setup.outputs, data.split.description,
                                  data.streaming))

    def _ready(self) -> RunSetup:
        if self.setup is None:
            raise TrainingError("the model is not ready: prepare() it or run() first")
        return self.setup

    # -- the loop ----------------------------------------------------------------------------------
    def _loop(self) -> None:
        s, pos = self.settings, self.position
        steps = len(self.train_data)
        total = steps * s.epochs
        self.pace = events.Pace()
        while pos.epoch < s.epochs:
            started = time.perf_counter()
            self.model.train()
            for raw in self.train_data.epoch(pos.epoch, pos.step):
                self._check_controls()  # before the batch is made: augmentation draws random numbers
                batch = self.train_data.prepare(raw)
                if not batch.size:  # every image of the batch was unreadable: the step is empty
                    pos.step += 1
                    pos.global_step += 1
                    continue
                loss, stats = self._guard(lambda batch=batch: self._train_step(batch))
                samples = batch.size * self.world.size  # the global batch
                pos.loss_sum += loss * samples
                pos.samples += samples
                pos.step += 1
                pos.global_step += 1
                self.pace.add(samples)
                if self.throttle.ready() or pos.step == steps:
                    self._emit(events.StepMetrics(pos.epoch + 1, pos.step, steps, pos.global_step, total, loss,
                                                  self._lr(), self.pace.rate(), self.pace.eta(total - pos.global_step),
                                                  stats))
                if self._probe is not None and self.world.is_main:
                    self._capture(pos.step == steps)
            train_loss = pos.loss_sum / max(pos.samples, 1)
            self.position = pos = _Position(pos.epoch + 1, 0, pos.global_step)
            if self.world.is_main:
                val_loss, metrics = self._guard(self._validate)
                self._report_skipped()
                record = events.EpochMetrics(pos.epoch, train_loss, val_loss, metrics, self._lr(),
                                             time.perf_counter() - started)
                self._emit(record)
                self._save_checkpoint()

    def _capture(self, epoch_end: bool) -> None:
        """The views' snapshot, when one is due; a failure turns the views off, never the run."""
        with self._probe_lock:
            request = self._probe
        if request is None or not (epoch_end or self.position.global_step % request.every == 0):
            return
        try:
            snapshot = self.snapshot(request)
        except Exception as error:  # noqa: BLE001 - the views are extras; training goes on
            self.set_probe(None)
            self._warn(f"the views stopped updating: {type(error).__name__}: {error}")
            return
        self._emit(snapshot)

    def _check_controls(self) -> None:
        """Wait while paused (saying so, and keeping the pause out of the pace); on stop (asked for in
        any process), save where we are and leave."""
        if not self._running.is_set():
            pos = self.position
            self._emit(events.Paused(pos.epoch + 1, pos.step, pos.global_step))
            began = time.perf_counter()
            while not self._running.wait(0.1):
                pass
            paused = time.perf_counter() - began
            self.pace.exclude(paused)
            if not self._stop.is_set():
                self._emit(events.Resumed(pos.epoch + 1, pos.step, pos.global_step, paused))
        stop = self._stop.is_set()
        if self.world.distributed:
            stop = distributed.any_true(stop, self.device)
        if stop:
            self._stop.set()  # asked for in another process: a failed write is now part of the stop
            self._save_checkpoint()
            raise _Stopped

    def _guard(self, work):
        """Runs ``work``, turning running out of memory into advice on the batch size."""
        try:
            return work()
        except Exception as error:
            if not is_out_of_memory(error):
                raise
            if self.device.type == "cuda":
                torch.cuda.empty_cache()
            size = self.settings.batch_size
            raise TrainingError(
                f"the {self.device.type.upper()} ran out of memory at epoch {self.position.epoch + 1}, step "
                f"{self.position.step + 1} with batch size {size}; try a batch size of {max(1, size // 2)} "
                f"(--batch-size {max(1, size // 2)}) or a smaller design"
            ) from None

    def _train_step(self, batch: Batch) -> tuple[float, dict[str, float]]:
        batch = self.task.corrupt(batch)
        outputs, taps = self._ready().forward(self.train_model, batch)
        # Under autocast the outputs may be float16/bfloat16; the loss is taken in float32 (a no-op without AMP)
        loss, stats = self.task.loss([out.float() for out in outputs], [tap.float() for tap in taps], batch)
        value = (distributed.mean(loss) if self.world.distributed else loss).item()
        if not math.isfinite(value):
            self._nan_error(value)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if self.settings.grad_clip is not None:
            self.scaler.unscale_(self.optimizer)
            torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.settings.grad_clip)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        if self.schedule is not None:
            self.schedule.step()
        return value, stats

    def _nan_error(self, value: float) -> None:
        s, pos = self.settings, self.position
        advice = [f"a lower learning rate (lr is {s.lr:g}; try {s.lr / 10:g})"]
        if s.grad_clip is None:
            advice.append('gradient clipping ("grad_clip": 1.0)')
        advice.append("checking the data and layers for values that overflow")
        kept = " The last checkpoint, from the end of the previous epoch, is kept." if self.last_checkpoint else ""
        raise TrainingError(
            f"the loss became {value} at epoch {pos.epoch + 1}, step {pos.step + 1} (step {pos.global_step + 1} of the "
            f"run), so training stopped. Try {', '.join(advice[:-1])}, or {advice[-1]}.{kept}"
        )

    @torch.no_grad()
    def _validate(self) -> tuple[float, dict[str, Any]]:
        self.model.eval()
        meter = self.task.meter()
        loss_sum, count, shown = 0.0, 0, None
        size = self.settings.batch_size  # streamed images may be large: no bigger batches than training's
        for batch in self.val_data.in_order(size if self.data.streaming else max(size, 256)):
            batch = self.task.corrupt(batch)
            outputs, taps = self._ready().forward(self.model, batch)
            outputs = [out.float() for out in outputs]
            loss, _ = self.task.loss(outputs, [t.float() for t in taps], batch)
            loss_sum += loss.detach() * batch.size  # summed on the device: no sync per batch
            count += batch.size
            meter.update(outputs, batch)
            if shown is None:
                shown = batch, outputs
        if shown is None:
            raise TrainingError("no validation image could be read; see the skipped files above")
        batch, outputs = shown
        first = slice(0, SAMPLES_SHOWN)
        self._emit(events.Samples(self.position.epoch + 1, batch.inputs[0][first].cpu(), batch.labels[first].cpu(),
                                     self.task.predict([out[first] for out in outputs]).cpu()))
        return float(loss_sum) / count, {f"val_{key}": value for key, value in meter.compute().items()}

    def _lr(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def _warn(self, message: str) -> None:
        self._emit(events.Warning(message))

    def _report_skipped(self) -> None:
        """Unreadable images met while streaming, once each, with the first few names."""
        new = [name for loader in (self.train_data, self.val_data) for name in loader.skipped
               if name not in self._skips_reported]
        self._skips_reported.update(new)
        report_skipped(self.settings.data, new, self._warn)

    # -- files -------------------------------------------------------------------------------------
    def _save_checkpoint(self) -> None:
        if self.out_dir is None or not self.world.is_main:
            return
        pos = self.position
        path = self.out_dir / CHECKPOINT_NAME
        checkpoint.save({
            "design": to_dict(self.design),
            "settings": self.settings.to_dict(),
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": self.schedule.state_dict() if self.schedule is not None else None,
            "scaler": self.scaler.state_dict(),
            "epoch": pos.epoch,
            "step": pos.step,
            "global_step": pos.global_step,
            "loss_sum": pos.loss_sum,
            "samples": pos.samples,
            "rng": checkpoint.rng_state(),
            "sampler": self.train_data.sampler.state(pos.epoch, pos.step),  # the processes and global batch too
            "device": recorded(self.device),  # "cuda:0": a resume elsewhere names it
            "validation": self.data.split.record(),
        }, path)
        self.last_checkpoint = str(path)
        self._saved_at = self._here()
        self._emit(events.CheckpointWritten(str(path), pos.epoch, pos.global_step))

    def _here(self) -> str:
        pos = self.position
        return events.ended_at(pos.epoch, pos.step, len(self.train_data), pos.global_step)

    def _not_saved(self, error: NotWritten) -> str:
        """Why a stop's checkpoint is missing, and what is kept: atomic writes leave the previous
        checkpoint whole, so the run resumes from there."""
        path = self.out_dir / CHECKPOINT_NAME  # type: ignore[operator] - only a run with a folder saves
        at = f", saved at {self._saved_at}" if self._saved_at else ""
        if not path.is_file() and self.resumed_path is not None and self.resumed_path.is_file():
            # resumed into another folder (--out) that holds no checkpoint yet: the one it came from is kept
            return (f"{error}. No checkpoint of this run is in {self.out_dir} yet; the one it resumed from is kept: "
                    f"{self.resumed_path}{at}; continue with --resume {self.resumed_path} --out {self.out_dir}")
        if not path.is_file():
            return f"{error}. No earlier checkpoint of this run exists, so it must start again."
        return f"{error}. The last good checkpoint is kept: {path}{at}; continue with --resume {path}"

    def _restore(self, state: dict[str, Any]) -> None:
        """Continue where the checkpoint stopped: exactly, on the same processes and device; on
        others with the same global batch, schedule and place in the epoch, said once. On another
        device too: the checkpoint was read onto the CPU (``checkpoint.load``), the weights are
        copied into the model on this run's device, the optimizer moves its state to each
        parameter's device, a GPU's random state is kept for a GPU, and a float16 loss scale only
        where float16 runs again."""
        sampler = state.get("sampler", {})
        try:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            if self.schedule is not None and state["schedule"] is not None:
                self.schedule.load_state_dict(state["schedule"])
            if state["scaler"] or not self.scaler.is_enabled():  # from a run without float16: a fresh scale
                self.scaler.load_state_dict(state["scaler"])
            self.position = _Position(state["epoch"], state["step"], state["global_step"], state["loss_sum"], state["samples"])
            if sampler:
                self.train_data.sampler.check(sampler)
            checkpoint.set_rng_state(state["rng"])
        except (KeyError, RuntimeError, ValueError, TypeError) as error:
            raise TrainingError(f"the checkpoint does not fit this run ({first_line(error, 200)})") from None
        if self.position.step >= len(self.train_data):
            raise TrainingError("the checkpoint stopped at a step past the end of an epoch; "
                                "was the batch size or the data changed? Resume with the same ones")
        before = (int(sampler.get("processes", self.world.size)), str(state.get("device", self.device.type)))
        note = distributed.moved(before, (self.world.size, recorded(self.device)))
        if note:
            self._warn(note)


def _before_split_settings(saved: dict[str, Any]) -> dict[str, Any]:
    """Settings of a checkpoint written before 'validation' and 'split_seed' existed: its run drew a
    random split with the weights' seed, and resuming must keep those samples."""
    if "validation" in saved:
        return saved
    return {**saved, "validation": "random", "split_seed": saved.get("seed", 0)}
