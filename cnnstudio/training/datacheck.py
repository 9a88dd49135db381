"""The data and the model checked against each other before the first step (no torch, no Qt).

Opening a source does not say whether it suits the network: ten outputs trained on two classes
learn nothing wrong but waste eight, twelve classes on ten outputs fail mid-epoch, colour images
turned grey lose what may tell the classes apart. :func:`inspect` learns what a data spec holds
from what is cheap to read (a folder's class folders, a CSV's label column, IDX label files, the
headers of a few images), and :func:`mismatches` compares it with the design's Inputs and trained
outputs. ``cnnstudio check`` and the studio's form report the mismatches; the engine calls
:func:`enforce` before it loads the data and raises the same sentence. An error is a run that
would fail or silently mislearn; a warning one that can only waste outputs or information.
"""

from __future__ import annotations

import csv
import functools
import gzip
import io
import itertools
import os
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from cnnstudio.core.analysis import Analysis
from cnnstudio.core.design import Design
from cnnstudio.core.regular import NotReadable, read_at_most, read_regular
from cnnstudio.training.data.generated_options import GENERATED, parse_options
from cnnstudio.training.defaults import input_kind
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import TrainingSettings

FORMS = {"images": "[1, H, W] or [3, H, W]", "sequences": "[1, L]", "volumes": "[1, D, H, W]",
         "video": "[3, T, H, W] or [1, T, H, W]"}
CHANNELS = {"images": (1, 3), "sequences": (1,), "volumes": (1,), "video": (1, 3)}  # what the sources make
DOWNLOADED = {"mnist": "grey", "fashion-mnist": "grey", "cifar10": "colour"}  # 10 classes each
NEEDS = {"localization": "boxes", "detection": "boxes", "segmentation": "masks"}  # the tasks' ``needs``, in words
GREY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F"}  # PIL modes without colour
SAMPLED = 32  # image headers read per source: enough to see colour, cheap on every keystroke
WALKED = 20_000  # entries looked at for a folder's classes: a half-typed "folder:/" is not a disk scan
VALIDATION_FOLDERS = ("val", "validation")  # as folder.py's own split


@dataclass(frozen=True)
class DataFacts:
    """What a data spec holds, as far as it could be read cheaply (None or empty: not known)."""

    spec: str
    gives: str | None = None  # "images", "sequences", "volumes" or "video"
    classes: tuple[str, ...] | None = None
    targets: frozenset[str] | None = frozenset({"label"})  # None: a CSV that could not be read
    colours: frozenset[str] = frozenset()  # "grey" and/or "colour", seen in a sample of the images
    mask_top: int | None = None  # the largest value seen in the mask images (class + 1)


@dataclass(frozen=True)
class Mismatch:
    key: str  # the setting it is reported on: "data", whose samples do not fit the design
    message: str
    severity: str = "error"  # or "warning"


def inspect(spec: str, options: Mapping[str, Any] | None = None) -> DataFacts:
    """What ``spec`` holds; whatever cannot be read stays unknown (opening the data says why)."""
    kind, _, path = spec.partition(":")
    if kind in GENERATED:
        try:
            classes = tuple(parse_options(kind, options or {}).class_names)
        except TrainingError:
            classes = None
        targets = {"label", "boxes", "masks"} if kind == "synthetic-shapes" else {"label"}
        return DataFacts(spec, GENERATED[kind].gives, classes, frozenset(targets))
    if kind in DOWNLOADED:
        return DataFacts(spec, "images", tuple(str(c) for c in range(10)), colours=frozenset({DOWNLOADED[kind]}))
    where = Path(path).expanduser()
    try:
        stamp = where.stat().st_mtime_ns
    except OSError:
        return DataFacts(spec)
    reader = {"idx": _idx, "folder": _folder, "csv": _csv}.get(kind)
    return reader(spec, where, stamp) if reader else DataFacts(spec)


def with_selection(facts: DataFacts, selected: list[int] | None) -> DataFacts:
    """The facts after "classes" keeps ``selected``; a number the data lacks leaves the classes unknown
    (opening the data refuses it, naming the numbers it has)."""
    if selected is None or facts.classes is None:
        return facts
    if any(i >= len(facts.classes) for i in selected):
        return replace(facts, classes=None)
    return replace(facts, classes=tuple(facts.classes[i] for i in selected))


def mismatches(settings: TrainingSettings, design: Design, analysis: Analysis, facts: DataFacts) -> list[Mismatch]:
    """Every way the data does not fit the design's Inputs and trained outputs."""
    found = _input_mismatches(design, facts)
    need = NEEDS.get(settings.task)
    if need and facts.gives is not None and facts.targets is not None and need not in facts.targets:
        found.append(Mismatch("data", f"the {settings.task} task needs {need} in its data, which {facts.spec} does not "
                                      "have; use synthetic-shapes, or a csv: file with a "
                                      f"{'boxes' if need == 'boxes' else 'mask'} column"))
    if not analysis.valid or found:
        return found
    outputs = [_trained(design, node) for node in settings.outputs or design.output_ids if node in analysis.nodes]
    shapes = [tuple(analysis.nodes[node].shape) for node in outputs]
    check = _OUTPUT_CHECKS.get(settings.task)
    return check(settings, list(zip(outputs, shapes)), facts) if check and facts.classes is not None else []


def enforce(settings: TrainingSettings, design: Design, analysis: Analysis, warn: Callable[[str], None]) -> None:
    """The engine's check before it loads the data, the same as ``check``'s: the first error is
    raised as a :class:`TrainingError`; warnings go to ``warn``."""
    facts = with_selection(inspect(settings.data, settings.data_options), settings.classes)
    found = mismatches(settings, design, analysis, facts)
    errors = [m.message for m in found if m.severity == "error"]
    if errors:
        raise TrainingError(errors[0])
    for mismatch in found:
        warn(mismatch.message)


def _trained(design: Design, node: str) -> str:
    """The node the engine trains for output ``node``: a Softmax's input, the logits (same width)."""
    inputs = design.inputs_of(node)
    return inputs[0] if design.node(node).type == "Softmax" and len(inputs) == 1 else node


# -- the Inputs --------------------------------------------------------------------------------------
def _input_mismatches(design: Design, facts: DataFacts) -> list[Mismatch]:
    found = []
    for node in design.input_ids:
        shape = design.node(node).params.get("shape")
        kind = input_kind(shape)
        if facts.gives is None or kind is None:
            continue
        shape = list(shape)
        if kind != facts.gives and {kind, facts.gives} != {"volumes", "video"}:  # rank 4 both: channels decide
            found.append(Mismatch("data", f"{facts.spec} gives {facts.gives}, so the Input must have shape "
                                          f"{FORMS[facts.gives]}; '{node}' has {shape}"))
        elif shape[0] not in CHANNELS[facts.gives]:
            found.append(Mismatch("data", f"{facts.spec} gives {facts.gives} of {' or '.join(map(str, CHANNELS[facts.gives]))} "
                                          f"channel(s), so the Input must have shape {FORMS[facts.gives]}; '{node}' "
                                          f"has {shape[0]} channels ({shape})"))
        elif shape[0] == 1 and "colour" in facts.colours:
            found.append(Mismatch("data", f"the images of {facts.spec} are in colour but '{node}' takes 1 channel "
                                          f"({shape}): they are turned grey and their colour is lost; make the "
                                          "Input [3, H, W] if colour tells the classes apart", "warning"))
        elif shape[0] == 3 and facts.colours == {"grey"}:
            found.append(Mismatch("data", f"the images of {facts.spec} are grey but '{node}' takes 3 channels "
                                          f"({shape}): each gets three copies of the same grey; a [1, H, W] Input "
                                          "does the same with a third of the first layer's weights", "warning"))
    return found


# -- the outputs, per task ---------------------------------------------------------------------------
def _named(facts: DataFacts) -> str:
    shown = ", ".join(facts.classes[:8]) + (", ..." if len(facts.classes) > 8 else "")  # type: ignore[index]
    return f"{facts.spec} has {len(facts.classes)} classes ({shown})"  # type: ignore[arg-type]


def _scores(node: str, width: int, facts: DataFacts, what: str = "class scores") -> list[Mismatch]:
    """A head of ``width`` class scores against the data's classes."""
    count = len(facts.classes)  # type: ignore[arg-type]
    if width < count:
        return [Mismatch("data", f"{_named(facts)} but '{node}' gives {width} {what}: samples of the other "
                                    f"{count - width} class{'es' if count - width > 1 else ''} can never be predicted; give '{node}' {count} outputs, "
                                    "or keep fewer classes with 'classes'")]
    if width > count:
        return [Mismatch("data", f"{_named(facts)} but '{node}' gives {width} {what}: {width - count} of them are "
                                    f"never the right answer and only waste the layer; give '{node}' {count} outputs",
                         "warning")]
    return []


def _classification(settings: TrainingSettings, outputs: list[tuple[str, tuple]], facts: DataFacts) -> list[Mismatch]:
    return [m for node, shape in outputs if len(shape) == 1 for m in _scores(node, shape[0], facts)]


def _localization(settings: TrainingSettings, outputs: list[tuple[str, tuple]], facts: DataFacts) -> list[Mismatch]:
    if len(outputs) != 2 or any(len(shape) != 1 for _, shape in outputs) or 4 not in (outputs[0][1][0], outputs[1][1][0]):
        shown = ", ".join(f"'{node}' {list(shape)}" for node, shape in outputs)
        return [Mismatch("data", f"localization needs a box head of 4 values (x, y, w, h) and a class head; "
                                    f"the outputs are {shown}")]
    node, shape = outputs[1] if outputs[0][1][0] == 4 else outputs[0]
    return _scores(node, shape[0], facts)


def _detection(settings: TrainingSettings, outputs: list[tuple[str, tuple]], facts: DataFacts) -> list[Mismatch]:
    o, count = settings.task_options, len(facts.classes)  # type: ignore[arg-type]
    node, shape = outputs[0] if outputs else ("", ())
    per_cell = o.boxes_per_cell * 5
    if len(shape) == 3 and shape[1] == shape[2]:
        width, layout = shape[0] - per_cell, f"[{per_cell} + {count}, S, S] = [{per_cell + count}, S, S]"
    elif len(shape) == 1 and o.grid and shape[0] % (o.grid * o.grid) == 0:
        width, layout = shape[0] // (o.grid * o.grid) - per_cell, f"{o.grid}x{o.grid}x{per_cell + count} values"
    else:
        return []  # the task's own sentence says what a detection head looks like
    if width == count:
        return []
    return [Mismatch("data", f"{_named(facts)} but '{node}' {list(shape)} leaves {width} class scores per cell "
                                f"after {o.boxes_per_cell} boxes of (x, y, w, h, confidence); detection needs {layout}")]


def _segmentation(settings: TrainingSettings, outputs: list[tuple[str, tuple]], facts: DataFacts) -> list[Mismatch]:
    found = []
    for node, shape in outputs:
        if len(shape) != 3:
            continue
        if facts.mask_top is not None and facts.mask_top > shape[0] - 1:
            found.append(Mismatch("data", f"the masks of {facts.spec} hold values up to {facts.mask_top} (class "
                                             f"{facts.mask_top - 1}) but '{node}' gives {shape[0]} channels, the "
                                             f"background and {shape[0] - 1} classes; give it {facts.mask_top + 1}"))
        else:
            found += _scores(node, shape[0] - 1, facts, "class channels besides the background")
    return found


def _metric(settings: TrainingSettings, outputs: list[tuple[str, tuple]], facts: DataFacts) -> list[Mismatch]:
    """Pairs and triplets (one output per Input) need a sample of another class for each sample."""
    if len(outputs) < 2 or len(facts.classes) >= 2:  # type: ignore[arg-type]
        return []
    kind = "pairs" if len(outputs) == 2 else "triplets"
    return [Mismatch("data", f"{facts.spec} has one class ({', '.join(facts.classes)}) but the {len(outputs)} Inputs "  # type: ignore[arg-type]
                                f"train on {kind}, which need samples of at least 2 classes; choose data with more classes")]


_OUTPUT_CHECKS: dict[str, Callable[[TrainingSettings, list[tuple[str, tuple]], DataFacts], list[Mismatch]]] = {
    "classification": _classification, "localization": _localization, "detection": _detection,
    "segmentation": _segmentation, "metric": _metric,
}


CSV_BYTES = 2**30  # as csvfile.py reads a list: a bigger file is not a data list
LABELS_BYTES = 2**28  # an IDX label file holds a byte per sample: 268 million samples


# -- reading sources cheaply (cached by path and modification time: the form asks on every keystroke) --
@functools.lru_cache(maxsize=16)
def _idx(spec: str, folder: Path, stamp: int) -> DataFacts:
    """IDX label files hold one byte per sample: their largest label gives the classes, as idx.py numbers them."""
    top = -1
    for path in sorted(folder.glob("*-labels-idx1-ubyte*")):
        try:  # bounded, from a regular file only: a FIFO named like MNIST's labels must not hang the form
            raw = read_regular(path, LABELS_BYTES, "an IDX file")
            if path.suffix == ".gz":
                with gzip.GzipFile(fileobj=io.BytesIO(raw)) as unpacked:
                    raw = read_at_most(unpacked, LABELS_BYTES)
        except (NotReadable, OSError, EOFError, zlib.error):
            return DataFacts(spec, "images", colours=frozenset({"grey"}))
        if len(raw) > 8 and raw[2] == 0x08 and raw[3] == 1:
            top = max(top, max(raw[8:]))
    classes = tuple(str(c) for c in range(top + 1)) if top >= 0 else None
    return DataFacts(spec, "images", classes, colours=frozenset({"grey"}))


class _TooLarge(Exception):
    """The folder holds more than :data:`WALKED` entries before its classes are known."""


@functools.lru_cache(maxsize=16)
def _folder(spec: str, root: Path, stamp: int) -> DataFacts:
    """The class folders (of train/ when there are train/ and val/), and the colours of a few images;
    nothing known of a folder too large to look through on a keystroke (the run checks it)."""
    val = next((root / name for name in VALIDATION_FOLDERS if (root / name).is_dir()), None)
    train = root / "train"
    parent = train if val is not None and _subfolders(train) and _subfolders(val) else root
    budget = [WALKED]
    try:
        classes = [name for name in _subfolders(parent) if _holds_image(parent / name, budget)]  # as folder.py counts them
    except _TooLarge:
        return DataFacts(spec, "images")
    files = [path for name in classes for path in itertools.islice((parent / name).iterdir(), 4) if path.is_file()]
    return DataFacts(spec, "images", tuple(classes) or None, colours=_colours(files[:SAMPLED]))


def _holds_image(folder: Path, budget: list[int]) -> bool:
    """Whether a class folder holds an image (anywhere below it); an empty one is not a class.
    ``budget``: entries left to look at, shared by the class folders; unreadable ones are skipped."""
    suffixes = _image_suffixes()
    for parent, folders, files in os.walk(folder, onerror=lambda error: None):
        budget[0] -= len(folders) + len(files)
        if budget[0] < 0:
            raise _TooLarge
        folders[:] = [name for name in folders if not name.startswith(".")]
        if any(Path(name).suffix.lower() in suffixes and not name.startswith(".")
               and os.path.isfile(os.path.join(parent, name)) for name in files):
            return True
    return False


@functools.cache
def _image_suffixes() -> frozenset[str]:
    from PIL import Image

    Image.init()
    return frozenset(Image.registered_extensions())


def _subfolders(folder: Path) -> list[str]:
    try:
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    except OSError:  # not a folder, or one this user may not read
        return []


@functools.lru_cache(maxsize=16)
def _csv(spec: str, file: Path, stamp: int) -> DataFacts:
    """The classes of the label column and the boxes (numbered as csvfile.py does), and a few images and masks."""
    try:  # bounded, from a regular file only: csv:/dev/zero or a FIFO must not hang the form or the start
        text = read_regular(file, CSV_BYTES, "a CSV file").decode("utf-8-sig")
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = [{(k or "").strip(): (v or "") for k, v in row.items() if isinstance(v, str)} for row in reader]
    except (NotReadable, OSError, UnicodeDecodeError, csv.Error):
        return DataFacts(spec, "images", targets=None)
    names = {row.get("label", "").strip() for row in rows} - {""}
    names |= {part.split()[0] for row in rows for part in row.get("boxes", "").split(";") if part.strip()}
    if names and all(name.isdigit() for name in names):
        classes: tuple[str, ...] | None = tuple(str(c) for c in range(max(int(n) for n in names) + 1))
    else:
        classes = tuple(sorted(names)) or None
    targets = {"label"} | ({"boxes"} if any(row.get("boxes", "").strip() for row in rows) else set())
    masks = [file.parent / row["mask"].strip() for row in rows[:SAMPLED] if row.get("mask", "").strip()]
    if masks:
        targets.add("masks")
    images = [file.parent / row["path"].strip() for row in rows[:SAMPLED] if row.get("path", "").strip()]
    return DataFacts(spec, "images", classes, frozenset(targets), _colours(images), _mask_top(masks))


def _colours(paths: list[Path]) -> frozenset[str]:
    """"grey" and "colour" as found in the images' headers (PIL reads no pixels to tell)."""
    from PIL import Image

    seen = set()
    for path in filter(_regular, paths):
        try:
            with Image.open(path) as image:
                seen.add("grey" if image.mode in GREY_MODES else "colour")
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            continue
    return frozenset(seen)


def _mask_top(paths: list[Path]) -> int | None:
    """The largest value in a few mask images, read as the mask decoder does (grey)."""
    from PIL import Image

    top = None
    for path in filter(_regular, paths):
        try:
            with Image.open(path) as image:
                high = image.convert("L").getextrema()[1]
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError):
            continue
        top = high if top is None else max(top, high)
    return top


def _regular(path: Path) -> bool:
    """Only regular files are opened: a CSV naming a FIFO or a device must not block the form."""
    try:
        return path.is_file()
    except OSError:
        return False
