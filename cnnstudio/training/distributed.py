"""Training past one machine: torchrun's environment, DistributedDataParallel, rank-0-only output.

Under ``torchrun`` every process runs the same ``cnnstudio train``. Each takes its share of every
global batch (``DistributedSampler`` sharding, ``batch_size`` stays the global batch), DDP averages
the gradients, so a step equals a single-process step on the same global batch. Only rank 0
validates, logs and writes checkpoints. The step loss and the stop flag are agreed on by all
ranks each step, so a NaN or a Ctrl-C stops every process at the same step.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from cnnstudio.training.errors import TrainingError, first_line


@dataclass(frozen=True)
class World:
    """This process's place among the training processes (one process: rank 0 of 1)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def from_environment() -> World:
    """The world torchrun describes in RANK, WORLD_SIZE and LOCAL_RANK; one process without them."""
    try:
        return World(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                     int(os.environ.get("LOCAL_RANK", 0)))
    except ValueError:
        raise TrainingError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers (torchrun sets them)") from None


def moved(before: tuple[int, str], now: tuple[int, str]) -> str | None:
    """The sentence a run resumed on another number of processes or kind of device says once:
    ``before`` and ``now`` are (processes, device as recorded: "cpu", "cuda:0"); None when both
    are the same (another GPU of the same kind, or torchrun's GPU per process, is no move)."""
    (count, device), (was_count, was_device) = now, before
    other_device = device.partition(":")[0] != was_device.partition(":")[0]
    if count == was_count and not other_device:
        return None
    here = [plural(count)] if count != was_count else []
    was = [str(was_count)] if count != was_count else []
    if other_device:
        here.append(f"{'on ' if here else ''}{device}")
        was.append(f"{'on ' if was else ''}{was_device}")
    why = "the order of samples differs" if count != was_count else "the numbers differ slightly"
    return f"resumed on {' '.join(here)} (was {' '.join(was)}): same settings, {why}"


def plural(count: int) -> str:
    """``1 process``, ``2 processes``."""
    return f"{count} process" if count == 1 else f"{count} processes"


def share(global_batch: int, count: int) -> int:
    """Each process's part of the global batch; a sentence naming the counts that work if it does not split."""
    if global_batch % count:
        fits = [n for n in range(1, global_batch + 1) if global_batch % n == 0]
        listed = ", ".join(map(str, fits[:-1])) + f" or {fits[-1]}" if len(fits) > 1 else str(fits[0])
        raise TrainingError(f"the global batch of {global_batch} samples does not split evenly over "
                            f"{plural(count)}: {listed} processes can share it, or make batch_size a multiple "
                            f"of {count}")
    return global_batch // count


def start(world: World, device: torch.device) -> torch.device:
    """Join the process group: NCCL between GPUs (one per local rank), gloo on CPUs."""
    if device.type == "cuda":
        device = torch.device("cuda", world.local_rank)
        torch.cuda.set_device(device)
    backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "mps":
        raise TrainingError("distributed training runs on CUDA GPUs or CPUs, not on Apple MPS; use --device cpu")
    try:
        dist.init_process_group(backend, rank=world.rank, world_size=world.size)
    except (RuntimeError, ValueError) as error:
        raise TrainingError(f"could not join the other training processes ({first_line(error)}); "
                            "start them with torchrun, which sets MASTER_ADDR and MASTER_PORT") from None
    return device


def wrap(model: nn.Module, device: torch.device) -> nn.Module:
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=ids)


def mean(value: torch.Tensor) -> torch.Tensor:
    """The average of ``value`` over all processes."""
    total = value.detach().clone()
    dist.all_reduce(total)
    return total / dist.get_world_size()


def any_true(flag: bool, device: torch.device) -> bool:
    """Whether ``flag`` is set in any process (a stop asked for in one stops all)."""
    value = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(value, op=dist.ReduceOp.MAX)
    return bool(value.item())


def finish(together: bool) -> None:
    """Leave the process group. ``together``: every process got here (not after a failure in
    one), so they wait for each other first; gloo aborts a process whose peer tears down while it
    still talks to it (seen under load: "terminate called without an active exception")."""
    if dist.is_initialized():
        if together:
            dist.barrier()
        dist.destroy_process_group()
