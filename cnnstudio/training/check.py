"""Every problem of a design's "training" object, found before training starts (no torch).

``parse_settings`` stops at the first wrong key, which is what training needs; ``cnnstudio check``
and the studio's form want every problem at once, each tied to its key, so the form can turn
that field red and the command can list them like node problems. The checks against the data
source (does it take ``data_options`` and are they the generated kind's own, does the folder exist,
does it give what the Input takes)
and the design (do ``outputs`` and ``sparse_node`` name nodes) are the ones the engine would
otherwise only meet seconds after Start.

Keys the object leaves out get the defaults the design implies (:mod:`cnnstudio.training.defaults`):
a problem is reported only in what the user wrote, or in a default that cannot fit, and then the
sentence says which default was picked and why. The data is then compared with the design's Inputs
and outputs (:mod:`cnnstudio.training.datacheck`): classes against output widths, channels, masks;
those that can only waste outputs are warnings, which do not stop a run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.design import Design
from cnnstudio.core.regular import kind_of
from cnnstudio.training import datacheck, fields, members
from cnnstudio.training.data.generated_options import GENERATED, parse_options
from cnnstudio.training.defaults import Picked, picked_defaults
from cnnstudio.training.errors import TrainingError
from cnnstudio.training.settings import COMMON_KEYS, WHERE, TrainingSettings, parse_settings
from cnnstudio.training.task_options import TASK_OPTIONS

# The sources that are not generated, kept here without importing the (torch) loaders;
# tests/test_training_check.py checks that they and GENERATED list the registry's names.
DOWNLOADED = ("mnist", "fashion-mnist", "cifar10")
FILES = {"idx": "folder", "folder": "folder", "csv": "file"}  # the kinds that read a path, and what it names


@dataclass(frozen=True)
class TrainingProblem:
    """One problem of the "training" object; ``key`` is the key to fix ("" for the whole object).
    A "warning" (data that can only waste outputs) is reported but does not stop a run."""

    key: str
    message: str
    severity: str = "error"


def training_problems(raw: Any, design: Design | None = None, analysis: Analysis | None = None) -> list[TrainingProblem]:
    """Every problem of ``raw`` (a design's "training" object), checked against ``design`` if given
    (``analysis``: the design's, when the caller has it), errors first."""
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        return [TrainingProblem("", f"{WHERE} must be an object {{...}}")]
    problems = _key_problems(raw)
    if problems:
        return problems
    if design is not None and analysis is None:
        analysis = analyze(design)
    picked = {pick.key: pick for pick in picked_defaults(design, raw, analysis)} if design is not None else {}
    try:
        settings = parse_settings({**{key: pick.value for key, pick in picked.items()}, **raw})
    except TrainingError as error:  # rules between keys (loss_weights against outputs, augment...)
        return [TrainingProblem(_key_named(str(error), raw), str(error))]
    problems += _data_problems(settings)
    if design is not None:
        problems += _design_problems(settings, design)
        if not problems:
            problems += _fit_problems(settings, design, analysis)
    problems = [_blame_default(problem, picked) for problem in problems]
    return sorted(problems, key=lambda problem: problem.severity != "error")


def errors(problems: list[TrainingProblem]) -> list[TrainingProblem]:
    return [problem for problem in problems if problem.severity == "error"]


def _blame_default(problem: TrainingProblem, picked: dict[str, Picked]) -> TrainingProblem:
    """A problem of a key the user never wrote says that its default was picked, and why."""
    pick = picked.get(problem.key)
    if pick is None:
        return problem
    message = problem.message.removeprefix(f"{WHERE}: ")
    joint = "but it does not fit: " if problem.severity == "error" else "and "
    return TrainingProblem(problem.key, f"{WHERE} has no '{pick.key}', so {pick.value} was picked ({pick.reason}), "
                                        f"{joint}{message}", problem.severity)


def _key_problems(raw: Mapping[str, Any]) -> list[TrainingProblem]:
    """Each key checked alone: its type and bounds, and whether the task has it."""
    task = raw.get("task", "classification")
    options = TASK_OPTIONS.get(task) if isinstance(task, str) else None
    problems = []
    for key, value in raw.items():
        try:
            if key in COMMON_KEYS:
                fields.parse(TrainingSettings, {key: value}, WHERE)
            elif options is not None and key in fields.names(options):
                fields.parse(options, {key: value}, WHERE)
            elif options is not None:
                parse_settings({"task": task, key: value})  # says whose key it is, or suggests one
        except TrainingError as error:
            problems.append(TrainingProblem(key, str(error)))
    return problems


def _key_named(message: str, raw: Mapping[str, Any]) -> str:
    """The key the message names first (the one it asks to change)."""
    named = [(message.find(f"'{key}'"), key) for key in raw if f"'{key}'" in message]
    return min(named)[1] if named else ""


def _data_problems(settings: TrainingSettings) -> list[TrainingProblem]:
    kind, _, path = settings.data.partition(":")
    if (kind not in FILES or not path) and (path or kind not in (*GENERATED, *DOWNLOADED)):
        names = ", ".join([*GENERATED, *DOWNLOADED, *(f"{k}:PATH" for k in FILES)])
        return [TrainingProblem("data", f"{WHERE}: unknown data '{settings.data}'; use one of: {names}")]
    problems = []
    if settings.data_options and kind not in GENERATED:
        problems.append(TrainingProblem(
            "data_options",
            f"{WHERE}: 'data_options' apply to generated data ({', '.join(GENERATED)}), not to {settings.data}; "
            "remove them or choose a generated source"))
    elif kind in GENERATED:
        problems += _option_problems(kind, settings.data_options)
    where = Path(path).expanduser()
    if kind in FILES and not (where.is_dir() if FILES[kind] == "folder" else where.is_file()):
        other = kind_of(where) if FILES[kind] != "folder" else None  # a FIFO or a device stands there
        what = f"which is {other}, not a file" if other else "which does not exist"
        problems.append(TrainingProblem("data", f"{WHERE}: 'data' names the {FILES[kind]} '{path}', {what}"))
    return problems


def _fit_problems(settings: TrainingSettings, design: Design, analysis: Analysis) -> list[TrainingProblem]:
    """The data against the design's Inputs and outputs, as far as the data can be read cheaply."""
    facts = datacheck.with_selection(datacheck.inspect(settings.data, settings.data_options), settings.classes)
    return [TrainingProblem(m.key, f"{WHERE}: {m.message}", m.severity)
            for m in datacheck.mismatches(settings, design, analysis, facts)]


def _option_problems(kind: str, options: Mapping[str, Any]) -> list[TrainingProblem]:
    """Each of ``options`` checked alone against the generated ``kind``'s own, then the rules between
    them; a problem's key is "data_options.NAME" ("data_options" when it names none)."""
    problems = []
    for name, value in options.items():
        try:
            parse_options(kind, {name: value})
        except TrainingError as error:
            problems.append(TrainingProblem(f"data_options.{name}", f"{WHERE}: {error}"))
    if problems:
        return problems
    try:
        parse_options(kind, options)
    except TrainingError as error:
        named = _key_named(str(error), options)
        return [TrainingProblem(f"data_options.{named}" if named else "data_options", f"{WHERE}: {error}")]
    return []


def _design_problems(settings: TrainingSettings, design: Design) -> list[TrainingProblem]:
    problems = [
        TrainingProblem("outputs", f"{WHERE}: 'outputs' names '{node_id}', which is not a node of the design")
        for node_id in settings.outputs or []
        if node_id not in design
    ]
    sparse = getattr(settings.task_options, "sparse_node", None)
    if sparse and sparse not in design:
        problems.append(TrainingProblem("sparse_node", f"{WHERE}: 'sparse_node' names '{sparse}', which is not a node of the design"))
    heads = [node_id for node_id in settings.outputs or design.output_ids
             if node_id in design and design.node(node_id).type == "DetectionHeads"]
    if heads:  # an imported torchvision detector: its heads are torchvision's code, which trains on boxes
        problems.append(TrainingProblem("task", f"{WHERE}: '{heads[0]}' is an imported detector's heads "
                                        "(DetectionHeads), which run in evaluation mode only: the design computes "
                                        "the model's detections, but training it needs torchvision's detection "
                                        "losses, which take each image's boxes, and CNN Studio's tasks do not",
                                        "warning"))
    if settings.classes is not None and settings.task not in ("classification", "metric"):
        problems.append(TrainingProblem(
            "classes", f"{WHERE}: 'classes' selects classes for classification and metric learning, not for {settings.task}"))
    problems += [TrainingProblem(key, f"{WHERE}: {message}") for key, message in members.problems(settings, design)]
    problems += [TrainingProblem(key, f"{WHERE}: {message}", "warning") for key, message in members.warnings(settings, design)]
    return problems
