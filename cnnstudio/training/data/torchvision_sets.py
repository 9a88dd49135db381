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


def load(name: str, shape: tuple[int, ...]) -> TensorData:
    from torchvision import datasets

    root = cache_dir() / name
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)  # never hang on a dead connection
    try:
        root.mkdir(parents=True, exist_ok=True)
        dataset = getattr(datasets, SETS[name])(str(root), train=True, download=True)
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
    images = fit_images(images.contiguous(), image_shape(shape, name))
    return TensorData(images, torch.as_tensor(dataset.targets).long(), list(dataset.classes))
