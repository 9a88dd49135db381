"""mnist, fashion-mnist, cifar10: torchvision's downloads, kept in the user's cache folder.

The download happens once; afterwards the files are read from the cache, offline. Without a
connection the error says so and names the folder where the files can be put by hand.
"""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import torch

from cnnstudio.training.data.base import TensorData
from cnnstudio.training.data.convert import fit_images, image_shape
from cnnstudio.training.data.registry import OpenRequest, SourceKind, register
from cnnstudio.training.data.source import Dataset
from cnnstudio.training.errors import TrainingError

DOWNLOAD_TIMEOUT_S = 20

SETS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10"}


def cache_dir() -> Path:
    """Where datasets are kept: $CNNSTUDIO_DATA, else the platform's user cache folder."""
    if os.environ.get("CNNSTUDIO_DATA"):
        return Path(os.environ["CNNSTUDIO_DATA"])
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", Path.home() / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return base / "cnnstudio" / "datasets"


def open_set(name: str, request: OpenRequest) -> Dataset:
    """The training set, with the official test set as the source's own validation samples."""
    shape = image_shape(request.shape, name)
    return Dataset(load(name, shape, train=True), load(name, shape, train=False), f"{name}'s official test set")


def load(name: str, shape: tuple[int, int, int], train: bool) -> TensorData:
    from torchvision import datasets

    root = cache_dir() / name
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # never hang on a dead connection
    try:
        root.mkdir(parents=True, exist_ok=True)
        dataset = getattr(datasets, SETS[name])(str(root), train=train, download=True)
    except Exception as error:  # urllib, socket and torchvision raise many kinds; all mean "no data"
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(":")
        raise TrainingError(
            f"{name} could not be downloaded into {root} ({reason}). "
            "Check the internet connection, or train offline on synthetic-shapes, idx:PATH or folder:PATH."
        ) from None
    finally:
        socket.setdefaulttimeout(previous)
    images = torch.as_tensor(dataset.data)
    images = images.unsqueeze(1) if images.ndim == 3 else images.permute(0, 3, 1, 2)  # CIFAR is N, H, W, C
    images = fit_images(images.contiguous(), shape)
    return TensorData(images, torch.as_tensor(dataset.targets).long(), list(dataset.classes))


for _name in SETS:
    register(SourceKind(_name, _name, "torchvision's download, kept in the user's cache folder; its test set "
                        "is the validation samples", lambda _path, request, name=_name: open_set(name, request)))
