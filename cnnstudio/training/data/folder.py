"""folder:PATH: one sub-folder per class, images of any size (torchvision's ImageFolder layout).

When PATH holds ``train/`` and ``val/`` (or ``validation/``), each with the class sub-folders, those
are the training and validation samples. Only file names are listed up front; images are decoded
to the Input's size and channels when read (see :mod:`cnnstudio.training.data.files`). Files that
are not images are skipped, counted and named, never a crash.
"""

from __future__ import annotations

from pathlib import Path

import torch

from cnnstudio.training.data.convert import image_shape
from cnnstudio.training.data.files import FileSource
from cnnstudio.training.data.images import list_images
from cnnstudio.training.data.registry import OpenRequest, SourceKind, register
from cnnstudio.training.data.source import Dataset
from cnnstudio.training.errors import TrainingError

VALIDATION_FOLDERS = ("val", "validation")


def class_folders(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))


def own_split(root: Path) -> tuple[Path, Path] | None:
    """``train/`` and ``val/`` sub-folders that both hold class sub-folders, if there are."""
    train = root / "train"
    val = next((root / name for name in VALIDATION_FOLDERS if (root / name).is_dir()), None)
    if val is None or not train.is_dir() or not class_folders(train) or not class_folders(val):
        return None
    return train, val


Listing = dict[str, tuple[list[Path], list[Path]]]  # class folder -> (its images, its other files)


def listing(folder: Path) -> Listing:
    return {name: list_images(folder / name) for name in class_folders(folder)}


def classes_of(listed: Listing, folder: Path, root: Path, spec: str, request: OpenRequest) -> list[str]:
    """The class folders that hold an image; an empty one is not a class (the run would learn a
    class it never sees), and the warning says so."""
    empty = [f"{(folder / name).relative_to(root).as_posix()}/" for name, (found, _) in listed.items() if not found]
    if empty:
        request.warn(f"{spec}: {', '.join(empty[:10])}{' and more' if len(empty) > 10 else ''} "
                     f"{'holds' if len(empty) == 1 else 'hold'} no image, so {'it is' if len(empty) == 1 else 'they are'} "
                     "not counted as a class")
    return [name for name, (found, _) in listed.items() if found]


def index(listed: Listing, folder: Path, classes: list[str], shape: tuple[int, int, int], root: Path,
          spec: str) -> FileSource:
    """Every image file of ``folder``'s class sub-folders, labelled by the class's place in ``classes``."""
    paths, labels, others = [], [], []
    for name, (found, rest) in listed.items():
        others += [p.relative_to(root).as_posix() for p in rest]
        if not found:
            continue
        if name not in classes:
            raise TrainingError(f"{spec}: {folder.relative_to(root) / name} is a class that train/ does not have; "
                                f"the classes are {', '.join(classes)}")
        paths += [p.relative_to(root).as_posix() for p in found]
        labels += [classes.index(name)] * len(found)
    if not paths:
        raise TrainingError(f"{spec}: no image file in {', '.join(listed) or folder}")
    return FileSource(root, paths, torch.tensor(labels, dtype=torch.int64), classes, shape, unlisted=others)


def open_folder(path: str, request: OpenRequest) -> Dataset:
    spec = f"folder:{path}"
    root = Path(path).expanduser()
    if not root.is_dir():
        raise TrainingError(f"{spec}: no such folder")
    shape = image_shape(request.shape, spec)
    split = own_split(root)
    if split is not None:
        train, val = split
        listed = listing(train)
        classes = classes_of(listed, train, root, spec, request)
        return Dataset(index(listed, train, classes, shape, root, spec),
                       index(listing(val), val, classes, shape, root, spec), f"the {val.name}/ folder")
    if not class_folders(root):
        raise TrainingError(f"{spec}: expected one sub-folder per class (e.g. cats/, dogs/), found none")
    listed = listing(root)
    return Dataset(index(listed, root, classes_of(listed, root, root, spec, request), shape, root, spec))


register(SourceKind("folder", "folder:PATH", "one sub-folder per class, images of any size (ImageFolder layout); "
                    "train/ and val/ sub-folders, if present, are the training and validation samples",
                    open_folder))
