"""``cnnstudio train DESIGN``: train headless, with a progress line, metrics.jsonl and checkpoints.

Each start makes a new run folder under the design's runs directory (``runs/<design>/<time>_...``,
see :mod:`cnnstudio.runs`); ``--resume`` continues in the checkpoint's own folder, ``--out`` names one.

Under ``torchrun`` it trains with DistributedDataParallel (see :mod:`cnnstudio.training.distributed`);
only rank 0 prints progress and writes files.

Ctrl-C or SIGTERM asks the run to stop: the current step finishes, a checkpoint is written, and
the command exits with status 130; a second Ctrl-C ends at once. Exit status: 0 trained, 1 training
failed (the message says why), 2 unreadable design, settings or checkpoint, 130 stopped (also when a
full disk kept the stop's checkpoint from being written: the message names the last good one).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any, TextIO

from cnnstudio.commands.signals import StopOnSignals
from cnnstudio.core.atomic import WriteFailed
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import DesignFileError, load_design, to_dict
from cnnstudio.training import events
from cnnstudio.training.errors import TrainingError

EXIT_TRAINED, EXIT_FAILED, EXIT_UNREADABLE, EXIT_STOPPED = 0, 1, 2, 130
NO_TTY_INTERVAL_S = 10.0  # progress lines when stderr is a file or a pipe (CI logs)


def configure(parser: argparse.ArgumentParser) -> None:
    from cnnstudio.training.data.registry import usages

    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--data", help=f"data source: {', '.join(usages())}")
    parser.add_argument("--task", help="classification, localization, detection, segmentation, reconstruction or metric")
    parser.add_argument("--epochs", type=int, help="passes over the training data")
    parser.add_argument("--batch-size", type=int, help="samples per step")
    parser.add_argument("--lr", type=float, help="learning rate")
    parser.add_argument("--device", help="auto (default), cpu, cuda, cuda:N or mps")
    parser.add_argument("--out", help="the run's folder (default: a new one in runs/DESIGN beside the design file)")
    parser.add_argument("--resume", metavar="CKPT", help="continue the run saved in this checkpoint")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.runs import run_folder, runs_dir
    from cnnstudio.runs.recorder import record_failed_start, run_listeners
    from cnnstudio.training import distributed, threads
    from cnnstudio.training.defaults import default_settings
    from cnnstudio.training.engine import Trainer

    try:
        design = load_design(args.design)
    except DesignFileError as error:
        print(f"cnnstudio train: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    overrides = {"data": args.data, "task": args.task, "epochs": args.epochs, "batch_size": args.batch_size,
                 "lr": args.lr, "device": args.device}
    try:
        world = distributed.from_environment()
    except TrainingError as error:
        print(f"cnnstudio train: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    threads.configure(processes=int(os.environ.get("LOCAL_WORLD_SIZE", 1)))  # torchrun's processes on this machine
    progress = Progress(sys.stderr, rank=None if world.is_main else world.rank)
    out = None
    try:
        settings = None if args.resume else default_settings(design, overrides)
        # Only rank 0 writes: the other processes of a torchrun job make no folder of their own.
        out = run_folder(runs_dir(args.design, design.name), settings.to_dict() if settings else {},
                         design=to_dict(design), out=args.out, resume=args.resume) if world.is_main else None
        # the run folder's record (manifest, best.pt, the views' snapshots) listens to the engine
        listening = {"out_dir": out, "on_event": progress, "callbacks": run_listeners(out) if out else [], "world": world}
        if args.resume:
            trainer = Trainer.from_checkpoint(args.resume, overrides, **listening)
            _check_same_network(design, trainer.design, args.resume)
        else:
            trainer = Trainer(design, settings, **listening)
    except WriteFailed as error:  # the run's folder could not be made
        print(f"cnnstudio train: {error}", file=sys.stderr)
        return EXIT_FAILED
    except TrainingError as error:
        if out is not None:  # a new run folder made for this start keeps the failure
            record_failed_start(out, to_dict(design), settings.to_dict() if settings else {}, str(error))
        print(f"cnnstudio train: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    progress.epochs = trainer.settings.epochs
    with StopOnSignals(trainer, "stopping: finishing this step and writing a checkpoint"):
        finished = trainer.run()
    if world.is_main and finished.status == "completed":
        print(f"done: run {out.name} in {out} (metrics.jsonl, last.pt, best.pt)", file=sys.stderr)
    elif world.is_main and finished.status == "stopped" and finished.message:  # its checkpoint could not be written
        print(f"stopped at {finished.where()}, but {finished.message}", file=sys.stderr)
    elif world.is_main and finished.status == "stopped":
        print(f"stopped at {finished.where()}; continue with --resume {finished.checkpoint}", file=sys.stderr)
    return {"completed": EXIT_TRAINED, "stopped": EXIT_STOPPED}.get(finished.status, EXIT_FAILED)


def _check_same_network(given: Design, saved: Design, checkpoint: str) -> None:
    """The checkpoint embeds its design; refuse to resume it against a different network."""
    def structure(design: Design) -> Any:
        data = to_dict(design)
        return [{k: v for k, v in node.items() if k in ("id", "type", "params", "frozen")} for node in data["nodes"]], data["edges"]

    if structure(given) != structure(saved):
        raise TrainingError(f"{checkpoint} was trained from another network ('{saved.name}'); its layers or "
                            "connections differ from this design's")


class Progress:
    """Prints events on stderr: one live line (epoch, step, loss, images/s, ETA) and one per epoch.

    ``rank``: set for the other processes of a torchrun job, which print their errors only.
    """

    def __init__(self, stream: TextIO, rank: int | None = None):
        self.stream = stream
        self.rank = rank
        self.tty = stream.isatty()
        self.epochs = 0
        self.last_line = 0.0
        self.live = False

    def __call__(self, event: events.Event) -> None:
        if self.rank is not None:
            if isinstance(event, events.Error):
                self._line(f"cnnstudio train (rank {self.rank}): {event.message}")
            return
        if isinstance(event, events.StepMetrics):
            self._step(event)
        elif isinstance(event, events.EpochMetrics):
            scalars = [f"{k} {v:.4g}" for k, v in event.record().items()
                       if isinstance(v, float) and k not in ("lr", "seconds")]
            self._line(f"epoch {event.epoch}/{self.epochs}: {', '.join(scalars)} ({event.seconds:.1f} s)")
        elif isinstance(event, events.Started):
            resumed = f", resuming at step {event.start_step}" if event.start_step else ""
            streamed = ", streamed from disk" if event.streaming else ""
            self._line(f"training on {event.device}: {event.train_samples:,} samples{streamed}, {event.steps_per_epoch} "
                       f"steps per epoch{resumed}; validating on {event.validation}")
        elif isinstance(event, events.Warning):
            self._line(f"note: {event.message}")
        elif isinstance(event, events.Error):
            self._line(f"cnnstudio train: {event.message}")

    def _step(self, e: events.StepMetrics) -> None:
        now = time.monotonic()
        if not self.tty and now - self.last_line < NO_TTY_INTERVAL_S:
            return
        self.last_line = now
        done = e.global_step / e.total_steps
        bar = "#" * int(done * 20)
        text = (f"[{bar:<20}] epoch {e.epoch}/{self.epochs} step {e.step}/{e.steps_per_epoch} loss {e.loss:.4f} "
                f"{e.samples_per_s:,.0f} img/s ETA {_duration(e.eta_s)}")
        if self.tty:
            self.stream.write("\r" + text + "\033[K")
            self.stream.flush()
            self.live = True
        else:
            print(text, file=self.stream)

    def _line(self, text: str) -> None:
        if self.live:
            self.stream.write("\r\033[K")
            self.live = False
        print(text, file=self.stream)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 else f"{seconds // 60}:{seconds % 60:02d}"
