"""csv:FILE: a table of image files with their labels, boxes or masks, decoded when read.

The first row names the columns; any order, other columns ignored:

- ``path``: the image file, relative to the CSV file's folder (or absolute);
- ``label``: the image's class, a name or a number (needed unless ``boxes`` is given);
- ``boxes``: the objects, separated by ``;``, each ``CLASS x0 y0 x1 y1`` in pixels of the image
  (detection and localization; the first object's class is the image's label when there is no
  ``label`` column);
- ``mask``: a mask image, 0 for background and class number + 1 inside each object (segmentation);
- ``split``: ``train`` or ``val``: the rows marked ``val`` are the source's own validation samples.

Classes are numbered in the order 0, 1, ... when every class is a number, else sorted by name.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import torch

from cnnstudio.core.display import shorten
from cnnstudio.core.regular import NotReadable, kind_of, read_regular
from cnnstudio.training.data.convert import image_shape
from cnnstudio.training.data.files import FileSource
from cnnstudio.training.data.registry import OpenRequest, SourceKind, register
from cnnstudio.training.data.source import Dataset
from cnnstudio.training.errors import TrainingError

SPLITS = {"train": False, "training": False, "val": True, "validation": True}
MAX_BYTES = 2**30  # a table of a few million rows; a bigger file is not a data list


def open_csv(path: str, request: OpenRequest) -> Dataset:
    spec = f"csv:{path}"
    file = Path(path).expanduser()
    rows = _rows(file, spec)
    shape = image_shape(request.shape, spec)
    objects = [_objects(row.get("boxes") or "", f"{spec}, line {line}") for line, row in rows]
    names = [row.get("label", "").strip() for _, row in rows]
    classes, number = _classes([n for n in names if n] + [c for found in objects for c, _ in found])
    labels = []
    for (line, _), name, found in zip(rows, names, objects, strict=True):
        if not name and not found:
            raise TrainingError(f"{spec}, line {line}: no label and no box; every row needs its class")
        labels.append(number[name or found[0][0]])
    has_boxes = any(objects)
    most = max((len(found) for found in objects), default=0)
    corners = torch.zeros(len(rows), max(most, 1), 4)
    box_labels = torch.full((len(rows), max(most, 1)), -1, dtype=torch.int64)
    for i, found in enumerate(objects):
        for k, (name, box) in enumerate(found):
            corners[i, k] = torch.tensor(box)
            box_labels[i, k] = number[name]
    with_masks = "mask" in rows[0][1]
    source = FileSource(
        file.parent, [row["path"].strip() for _, row in rows], torch.tensor(labels, dtype=torch.int64), classes, shape,
        corners=corners if has_boxes else None, box_labels=box_labels if has_boxes else None,
        masks=[row["mask"].strip() for _, row in rows] if with_masks else None,
    )
    held_out = torch.tensor([SPLITS[row.get("split", "train").strip().lower() or "train"] for _, row in rows])
    if not held_out.any():
        return Dataset(source)
    if held_out.all():
        raise TrainingError(f"{spec}: every row is marked 'val'; some must be for training")
    return Dataset(source.subset((~held_out).nonzero().squeeze(1)), source.subset(held_out.nonzero().squeeze(1)),
                   "the rows marked val")


def _rows(file: Path, spec: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) of every row, after checking the columns and the split values."""
    try:  # a bounded read of a regular file: csv:/dev/zero or a FIFO must not hang the start
        text = read_regular(file, MAX_BYTES, "a CSV file").decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        columns = [c.strip() for c in reader.fieldnames or []]
        reader.fieldnames = columns
        rows = [(reader.line_num, row) for row in reader]
    except NotReadable as error:
        raise TrainingError(f"{spec}: {str(error).removeprefix(f'{file}: ')}") from None
    except (UnicodeDecodeError, csv.Error) as error:
        raise TrainingError(f"{spec}: cannot be read as CSV ({error})") from None
    if "path" not in columns or not ({"label", "boxes"} & set(columns)):
        raise TrainingError(f"{spec}: the first row must name the columns, with 'path' and 'label' (or 'boxes'); "
                            f"it has {', '.join(columns) or 'none'}")
    if not rows:
        raise TrainingError(f"{spec}: no rows after the column names")
    for line, row in rows:
        if None in row or None in row.values():  # DictReader: values beyond the columns, or missing ones
            count = len(columns) + len(row[None]) if None in row else sum(v is not None for v in row.values())
            raise TrainingError(f"{spec}, line {line}: {count} value(s), but the first row names {len(columns)} "
                                f"column(s) ({', '.join(columns)})")
        if not (row.get("path") or "").strip():
            raise TrainingError(f"{spec}, line {line}: the path is empty")
        if "mask" in row and not (row.get("mask") or "").strip():
            raise TrainingError(f"{spec}, line {line}: the mask is empty; every row needs one when there is a mask column")
        split = (row.get("split") or "train").strip().lower()
        if split not in SPLITS:
            raise TrainingError(f"{spec}, line {line}: split must be train or val, got '{split}'")
        for column in ("path", "mask"):
            kind = kind_of(file.parent / row[column].strip()) if column in row else None
            if kind is not None:  # /dev/zero or a FIFO would hang the decoder; a missing file is skipped later
                raise TrainingError(f"{spec}, line {line}: the {column} {shorten(row[column].strip())} is {kind}, "
                                    "not an image file")
    return rows


def _objects(text: str, where: str) -> list[tuple[str, list[float]]]:
    """``CLASS x0 y0 x1 y1; ...`` as (class, [x0, y0, x1, y1])."""
    found = []
    for part in filter(None, (p.strip() for p in text.split(";"))):
        words = part.split()
        try:
            box = [float(w) for w in words[1:]]
        except ValueError:
            box = []
        if len(words) != 5 or len(box) != 4 or box[2] <= box[0] or box[3] <= box[1]:
            raise TrainingError(f"{where}: each box must be 'CLASS x0 y0 x1 y1' in pixels with x1 > x0 and y1 > y0; "
                                f"got '{part}'")
        found.append((words[0], box))
    return found


def _classes(names: list[str]) -> tuple[list[str], dict[str, int]]:
    """The class list, and each name's number in it ("07" and "7" are the same class)."""
    unique = set(names)
    if unique and all(n.isdigit() for n in unique):
        return [str(c) for c in range(max(int(n) for n in unique) + 1)], {n: int(n) for n in unique}
    ordered = sorted(unique)
    return ordered, {n: i for i, n in enumerate(ordered)}


register(SourceKind("csv", "csv:FILE", "a CSV table with a path column and a label column, or boxes (CLASS x0 y0 "
                    "x1 y1; ...) or mask paths; a split column (train/val) marks the validation rows",
                    open_csv, "label, boxes, masks"))
