"""synthetic-volumes: 3D volumes of one solid each (sphere, cube, cross...), for Conv3d networks.

The 3D counterpart of synthetic-shapes, so a Conv3d design trains offline: each volume holds one
object of random size and place on a noisy background, labelled by its kind. Generation is
vectorised and seeded, like the other generated sources.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.generated_options import SOLID_NAMES, VolumeOptions, parse_options
from cnnstudio.training.data.registry import SourceKind, generated, register
from cnnstudio.training.errors import TrainingError


def _sphere(dx: Tensor, dy: Tensor, dz: Tensor) -> Tensor:
    return dx * dx + dy * dy + dz * dz <= 1


def _cube(dx: Tensor, dy: Tensor, dz: Tensor) -> Tensor:
    return torch.maximum(torch.maximum(dx.abs(), dy.abs()), dz.abs()) <= 1


def _cross(dx: Tensor, dy: Tensor, dz: Tensor) -> Tensor:
    """Three bars along x, y and z through the centre."""
    ax, ay, az = dx.abs() <= 1 / 3, dy.abs() <= 1 / 3, dz.abs() <= 1 / 3
    return _cube(dx, dy, dz) & ((ay & az) | (ax & az) | (ax & ay))


def _shell(dx: Tensor, dy: Tensor, dz: Tensor) -> Tensor:
    """A hollow sphere: the same outline as a sphere, told apart only by its inside."""
    r2 = dx * dx + dy * dy + dz * dz
    return (r2 <= 1) & (r2 >= 0.45)


# Each solid fills the cube [-1, 1]^3 exactly, as the 2D shapes fill their square.
# The names are the options' choices (generated_options.py), in the same order.
SOLIDS: dict[str, Callable[[Tensor, Tensor, Tensor], Tensor]] = dict(
    zip(SOLID_NAMES, (_sphere, _cube, _cross, _shell), strict=True))


def load(shape: tuple[int, ...], options: dict, seed: int) -> TensorData:
    """``count`` volumes of the Input's shape [1, D, H, W], labelled by the solid they hold."""
    opts: VolumeOptions = parse_options("synthetic-volumes", options)
    if len(shape) != 4 or shape[0] != 1:
        raise TrainingError(f"synthetic-volumes gives one-channel volumes, so the Input must have shape [1, D, H, W]; it is {list(shape)}")
    generator = torch.Generator().manual_seed(seed)
    chunks = [_chunk(n, shape[1:], opts, generator) for n in _chunk_sizes(opts.count)]
    volumes, labels = (torch.cat(parts) for parts in zip(*chunks))
    return TensorData(volumes, labels, list(opts.solids))


def _chunk_sizes(count: int, size: int = 256) -> list[int]:
    """Volumes are generated a few hundred at a time to bound the memory of the distance grids."""
    return [min(size, count - start) for start in range(0, count, size)]


def _chunk(n: int, size: tuple[int, ...], opts: VolumeOptions, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """``n`` volumes [n, 1, D, H, W] in [0, 1] and their labels."""
    side = torch.tensor(size, dtype=torch.float32)
    fraction = opts.min_size + (opts.max_size - opts.min_size) * torch.rand(n, generator=gen)
    radius = (fraction.unsqueeze(1) * side.min() / 2).clamp(min=1.0)  # [n, 1], the same on every axis
    centre = radius + torch.rand(n, 3, generator=gen) * (side - 2 * radius).clamp(min=0)  # [n, 3]: z, y, x
    classes = torch.randint(len(opts.solids), (n,), generator=gen)
    brightness = 0.6 + 0.4 * torch.rand(n, generator=gen)
    inside = torch.zeros(n, *size, dtype=torch.bool)
    for index, name in enumerate(opts.solids):
        chosen = (classes == index).nonzero().squeeze(1)
        if len(chosen):
            inside[chosen] = SOLIDS[name](*_offsets(size, centre[chosen], radius[chosen]))
    volumes = torch.where(inside, brightness.view(n, 1, 1, 1), torch.zeros(()))
    if opts.noise:
        volumes = (volumes + opts.noise * torch.randn(volumes.shape, generator=gen)).clamp_(0, 1)
    return volumes.unsqueeze(1), classes


def _offsets(size: tuple[int, ...], centre: Tensor, radius: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """dx, dy, dz [n, D, H, W]: each voxel centre's offset from the object's, in object radii."""
    n = len(centre)
    grids = torch.meshgrid(*(torch.arange(length, dtype=torch.float32) + 0.5 for length in size), indexing="ij")
    dz, dy, dx = ((grid.unsqueeze(0) - centre[:, k].view(n, 1, 1, 1)) / radius.view(n, 1, 1, 1) for k, grid in enumerate(grids))
    return dx, dy, dz


register(SourceKind("synthetic-volumes", "synthetic-volumes", "generated offline: 3D volumes of one solid each (sphere, cube, cross, shell) on a noisy background, for Conv3d designs; Input [1, D, H, W]", generated(load), "label", VolumeOptions))
