"""idx:PATH: MNIST-format IDX files (optionally gzipped) in a folder, such as MNIST's own files.

Every images/labels pair in the folder (``*-images-idx3-ubyte[.gz]`` with its
``*-labels-idx1-ubyte[.gz]``) is read. Pairs named ``t10k-*`` or ``test-*`` are the source's own
validation samples when other pairs (MNIST's ``train-*``) are there too: given both of MNIST's
files, a run trains on the 60,000 and validates on the official 10,000, as papers report. With one
pair only, the validation samples are drawn from it (see ``validation`` in docs/training.md).
"""

from __future__ import annotations

import gzip
import io
import zlib
from pathlib import Path

import torch

from cnnstudio.core.regular import NotReadable, read_at_most, read_regular
from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.convert import fit_images, image_shape
from cnnstudio.training.data.registry import OpenRequest, SourceKind, register
from cnnstudio.training.data.source import Dataset
from cnnstudio.training.errors import TrainingError

TEST_PREFIXES = ("t10k", "test")
MAX_BYTES = 8 * 2**30  # unpacked: far beyond MNIST's 47 MB, and a bound on a gzip bomb
MAX_CLASSES = 100_000
DTYPES = {0x08: torch.uint8, 0x09: torch.int8, 0x0B: torch.int16, 0x0C: torch.int32, 0x0D: torch.float32, 0x0E: torch.float64}


def read_idx(path: Path) -> torch.Tensor:
    """One IDX file as a tensor (big-endian on disk, as the format says)."""
    try:  # a regular file, read with a bound: a FIFO named like MNIST's files must not hang the start
        raw = read_regular(path, MAX_BYTES, "an IDX file")
        if path.suffix == ".gz":
            with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unpacked:
                raw = read_at_most(unpacked, MAX_BYTES + 1)
    except NotReadable as error:
        raise TrainingError(str(error)) from None
    except (OSError, EOFError, zlib.error) as error:
        raise TrainingError(f"{path}: cannot be read ({error})") from None
    if len(raw) > MAX_BYTES:
        raise TrainingError(f"{path}: unpacks to more than {MAX_BYTES // 2**30} GiB; is it an IDX file?")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in DTYPES:
        raise TrainingError(f"{path}: not an IDX file (the magic number is wrong)")
    dtype, dims = DTYPES[raw[2]], raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    start = 4 + 4 * dims
    expected = start + torch.Size(shape).numel() * dtype.itemsize
    if len(raw) != expected:
        raise TrainingError(f"{path}: the header promises {expected:,} bytes but the file has {len(raw):,}; is it truncated?")
    if len(raw) == start:  # no values (0 images): frombuffer refuses an empty buffer
        return torch.zeros(shape, dtype=dtype)
    data = torch.frombuffer(bytearray(raw[start:]), dtype=dtype)
    if dtype.itemsize > 1:
        data = data.view(torch.uint8).view(-1, dtype.itemsize).flip(1).contiguous().view(dtype)
    return data.reshape(shape)


def read_pairs(folder: str) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """(name prefix, images [N, H, W], labels [N]) of every pair of files in ``folder``."""
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise TrainingError(f"idx:{folder}: no such folder")
    pairs = []
    for images_path in sorted(root.glob("*-images-idx3-ubyte*")):
        stem = images_path.name.removesuffix(".gz").replace("-images-idx3-", "-labels-idx1-")
        labels_path = next((p for p in (root / stem, root / f"{stem}.gz") if p.exists()), None)
        if labels_path is None:
            raise TrainingError(f"{images_path}: there is no matching labels file {stem}[.gz]")
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise TrainingError(f"{images_path}: expected N images of H x W and N labels; got shapes {list(images.shape)} and {list(labels.shape)}")
        if not len(images):
            raise TrainingError(f"{images_path}: holds 0 images")
        _check_labels(labels, labels_path)
        pairs.append((images_path.name.split("-images-")[0], images, labels))
    if not pairs:
        raise TrainingError(f"idx:{folder}: the folder holds no *-images-idx3-ubyte[.gz] file")
    return pairs


def _check_labels(labels: torch.Tensor, path: Path) -> None:
    """Labels are class numbers: whole, 0 or more, below MAX_CLASSES (one of 2**31 would make a class
    list of two billion names)."""
    bad = ~torch.isfinite(labels) | (labels != labels.round()) if labels.is_floating_point() else torch.zeros_like(labels, dtype=torch.bool)
    bad |= (labels < 0) | (labels >= MAX_CLASSES)
    if bad.any():
        at = int(bad.nonzero()[0])
        raise TrainingError(f"{path}: label {at:,} is {labels[at].item()}; labels must be class numbers from 0 to "
                            f"{MAX_CLASSES - 1:,}")


def open_idx(folder: str, request: OpenRequest) -> Dataset:
    pairs = read_pairs(folder)
    shape = image_shape(request.shape, f"idx:{folder}")
    held_out = [p for p in pairs if p[0] in TEST_PREFIXES]
    training = [p for p in pairs if p[0] not in TEST_PREFIXES]
    if not training:  # only a test set: it is all there is to train on
        training, held_out = held_out, []
    classes = [str(c) for c in range(int(max(p[2].max() for p in pairs)) + 1)]
    train = _joined(training, shape, classes)
    if not held_out:
        return Dataset(train)
    names = " and ".join(f"{p[0]}-* files" for p in held_out)
    return Dataset(train, _joined(held_out, shape, classes), f"the {names}")


def _joined(pairs: list[tuple[str, torch.Tensor, torch.Tensor]], shape: tuple[int, int, int], classes: list[str]) -> TensorData:
    images = torch.cat([p[1] for p in pairs]).unsqueeze(1).to(torch.uint8)
    return TensorData(fit_images(images, shape), torch.cat([p[2] for p in pairs]).long(), classes)


register(SourceKind("idx", "idx:PATH", "MNIST-format IDX files (*-images-idx3-ubyte[.gz] with *-labels-idx1-ubyte[.gz]) "
                    "in a folder; t10k-* or test-* files beside train-* ones are the validation samples", open_idx))
