"""Design files: one JSON document per design, readable and writable by hand.

Loading checks everything a file can get wrong and raises :class:`DesignFileError` with one
sentence naming the place (``nodes[2] ('c1'): ...``); it never lets a traceback through. Saving
writes a temporary file beside the target and renames it over, so a crash or a full disk never
leaves a half-written design behind. The format is documented in ``docs/design-format.md``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cnnstudio.core import atomic, catalogue
from cnnstudio.core import groups as grouping
from cnnstudio.core.design import Design, DesignError
from cnnstudio.core.display import shorten
from cnnstudio.core.groups import Group
from cnnstudio.core.params import ParamError
from cnnstudio.core.regular import NotReadable, read_regular

FORMAT = "cnnstudio-design"
VERSION = 3  # files without tied tensors are written as version 2, which older readers take
MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 32  # of "training": copying or writing deeper values recurses past Python's limit


def _version_1_to_2(data: dict[str, Any]) -> dict[str, Any]:
    """Version 2 added the optional "groups" and "weights"; a version-1 file has neither."""
    return {**{k: v for k, v in data.items() if k not in ("groups", "weights")}, "version": 2}


def _version_2_to_3(data: dict[str, Any]) -> dict[str, Any]:
    """Version 3 added the optional "tied"; a version-2 file has none."""
    return {**{k: v for k, v in data.items() if k != "tied"}, "version": 3}


# Upgrades from version N to N+1, applied in turn to older files.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {1: _version_1_to_2, 2: _version_2_to_3}


class DesignFileError(ValueError):
    """A design file that cannot be read; the message names the file and the place."""


def load_design(path: str | os.PathLike[str]) -> Design:
    path = Path(path)
    return loads(_read_text(path), source=str(path), folder=path.parent)


def read_bounded(path: Path, limit: int = MAX_BYTES) -> bytes:
    """At most ``limit`` bytes of a regular file, or :class:`DesignFileError`
    (:func:`cnnstudio.core.regular.read_regular`: devices, pipes and sockets refused before reading)."""
    try:
        return read_regular(path, limit, "a design file")
    except NotReadable as error:
        raise DesignFileError(str(error)) from None


def _read_text(path: Path) -> str:
    raw = read_bounded(path)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DesignFileError(f"{path}: not a text file (a design is JSON text)") from None


def loads(text: str, source: str = "<design>", folder: Path | None = None) -> Design:
    if "\x00" in text:
        raise DesignFileError(f"{source}: not a text file (a design is JSON text)")
    text = text.removeprefix("\ufeff")  # the byte-order mark some Windows editors write
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        # A string still open at the end also means the text stops short.
        if error.pos >= len(text.rstrip()) or error.msg.startswith("Unterminated string"):
            raise DesignFileError(f"{source}: the JSON ends too early; the file looks truncated") from None
        raise DesignFileError(f"{source}: not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}") from None
    except RecursionError:
        raise DesignFileError(f"{source}: the JSON is nested too deeply to be a design") from None
    except ValueError as error:  # e.g. an integer of more than 4300 digits
        raise DesignFileError(f"{source}: not valid JSON: {error}") from None
    return from_dict(data, source, folder)


def from_dict(data: Any, source: str = "<design>", folder: Path | None = None) -> Design:
    """A design from its JSON data; a relative ``"weights"`` path is taken from ``folder``."""
    def fail(message: str) -> DesignFileError:
        return DesignFileError(f"{source}: {message}")

    if not isinstance(data, dict):
        raise fail("a design must be a JSON object { ... }")
    if data.get("format") != FORMAT:
        raise fail(f'"format" must be "{FORMAT}", got {_show(data.get("format"))}; is this a CNN Studio design?')
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise fail(f'"version" must be a whole number from 1, got {_show(version)}')
    if version > VERSION:
        raise fail(f"written by a newer CNN Studio (format version {_show(version)}); this one reads up to version {VERSION}")
    while version < VERSION:
        data = MIGRATIONS[version](data)
        version += 1

    name = data.get("name", "Untitled")
    if not isinstance(name, str):
        raise fail('"name" must be a string')
    nodes = data.get("nodes")
    if not isinstance(nodes, list):
        raise fail('"nodes" must be a list of nodes')
    edges = data.get("edges", [])
    if not isinstance(edges, list):
        raise fail('"edges" must be a list of [from, to] pairs')
    training = data.get("training", {})
    if not isinstance(training, dict):
        raise fail('"training" must be an object')
    if _too_deep(training):
        raise fail(f'"training" is nested more than {MAX_DEPTH} levels deep; no setting needs that')

    weights = data.get("weights")
    if weights is not None and not (isinstance(weights, str) and weights.strip()):
        raise fail('"weights" must be the path of a .safetensors file beside the design, or "torchvision:NAME"')

    sweep = data.get("sweep")
    if sweep is not None and not (isinstance(sweep, dict) and isinstance(sweep.get("params", {}), dict)):
        raise fail('"sweep" must be an object with "params" mapping each KEY to its SPEC (see docs/experiments.md)')
    if _too_deep(sweep):
        raise fail(f'"sweep" is nested more than {MAX_DEPTH} levels deep')

    design = Design(name=name, training=training, weights=_resolve_weights(weights, folder), sweep=sweep)
    for index, entry in enumerate(nodes):
        _add_node(design, entry, f"{source}: nodes[{index}]")
    for index, edge in enumerate(edges):
        where = f"edges[{index}]"
        if not (isinstance(edge, list) and len(edge) == 2 and all(isinstance(e, str) for e in edge)):
            raise fail(f'{where} must be a pair of node ids, like ["x", "c1"]; got {_show(edge)}')
        for end in edge:
            if end not in design:
                raise fail(f"{where} {_show(edge)} names '{shorten(end)}', which is not a node")
        try:
            design.connect(*edge)
        except DesignError as error:
            raise fail(f"{where}: {error}") from None
    outputs = data.get("outputs")
    if outputs is not None:
        if not (isinstance(outputs, list) and all(isinstance(o, str) for o in outputs)):
            raise fail('"outputs" must be a list of node ids')
        for node_id in outputs:
            if node_id not in design:
                raise fail(f"\"outputs\" names '{shorten(node_id)}', which is not a node")
        design.output_order = list(outputs)
    _add_groups(design, data.get("groups", []), source)
    design.tied = _tied(design, data.get("tied", []), fail)
    return design


def _tied(design: Design, entries: Any, fail: Callable[[str], DesignFileError]) -> dict[tuple[str, str], tuple[str, str]]:
    """``"tied": [{"tensor": ["head", "weight"], "is": ["embed", "weight"]}, ...]``, checked."""
    def pair(value: Any) -> tuple[str, str] | None:
        ok = isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) and v for v in value)
        return (value[0], value[1]) if ok and value[0] in design else None

    if not isinstance(entries, list):
        raise fail('"tied" must be a list of {"tensor": [node, tensor], "is": [node, tensor]}')
    tied = {}
    for index, entry in enumerate(entries):
        tensor, owner = (pair(entry.get("tensor")), pair(entry.get("is"))) if isinstance(entry, dict) else (None, None)
        if tensor is None or owner is None:
            raise fail(f'"tied"[{index}] must be {{"tensor": [node, tensor], "is": [node, tensor]}} naming nodes of the design')
        tied[tensor] = owner
    return tied


def _resolve_weights(weights: str | None, folder: Path | None) -> str | None:
    if weights is None or weights.startswith("torchvision:") or folder is None:
        return weights
    return str((folder / weights).resolve())


def _relative_weights(weights: str | None, folder: Path | None) -> str | None:
    """The weights path as written into a design file: relative to the file's folder when it can be."""
    if weights is None or weights.startswith("torchvision:") or folder is None or not os.path.isabs(weights):
        return weights
    try:
        return Path(os.path.relpath(weights, folder.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        return weights


def _add_groups(design: Design, entries: Any, source: str) -> None:
    if not isinstance(entries, list):
        raise DesignFileError(f'{source}: "groups" must be a list of groups')
    parsed: dict[str, Group] = {}
    places: dict[str, str] = {}
    for index, entry in enumerate(entries):
        where = f"{source}: groups[{index}]"
        group = _group(entry, where)
        where = f"{where} ('{group.id}')"
        if group.id in parsed:
            raise DesignFileError(f"{where}: the id '{group.id}' is used by another group; ids must be unique")
        parsed[group.id] = group
        places[group.id] = where
    for group_id, message in grouping.problems(parsed, design.graph):
        raise DesignFileError(f"{places[group_id]}: {message}")
    design.groups = parsed


def _group(entry: Any, where: str) -> Group:
    if not isinstance(entry, dict):
        raise DesignFileError(f'{where} must be an object with an "id" and "nodes"')
    group_id = entry.get("id")
    if not isinstance(group_id, str) or not group_id.strip():
        raise DesignFileError(f'{where} needs an "id": a non-empty string')
    where = f"{where} ('{group_id}')"
    name = entry.get("name", group_id)
    if not isinstance(name, str) or not name.strip():
        raise DesignFileError(f'{where}: "name" must be a non-empty string')
    parent = entry.get("parent")
    if parent is not None and not isinstance(parent, str):
        raise DesignFileError(f'{where}: "parent" must be a group id or null')
    nodes = entry.get("nodes", [])
    if not (isinstance(nodes, list) and all(isinstance(n, str) for n in nodes)):
        raise DesignFileError(f'{where}: "nodes" must be a list of node ids')
    collapsed = entry.get("collapsed", True)
    if not isinstance(collapsed, bool):
        raise DesignFileError(f'{where}: "collapsed" must be true or false')
    return Group(group_id, name, list(nodes), parent, collapsed)


def _add_node(design: Design, entry: Any, where: str) -> None:
    if not isinstance(entry, dict):
        raise DesignFileError(f"{where} must be an object with an id and a type")
    node_id, type_name = entry.get("id"), entry.get("type")
    if not isinstance(node_id, str) or not node_id.strip():
        raise DesignFileError(f"{where} needs an \"id\": a non-empty string")
    where = f"{where} ('{shorten(node_id)}')"
    if not isinstance(type_name, str):
        raise DesignFileError(f'{where} needs a "type", such as "Conv2d"')
    try:
        layer_type = catalogue.get(type_name)
    except catalogue.UnknownLayerType as error:
        raise DesignFileError(f"{where}: {error}") from None
    if node_id in design:
        raise DesignFileError(f"{where}: the id is used by another node; ids must be unique")
    params = entry.get("params", {})
    if not isinstance(params, dict):
        raise DesignFileError(f'{where}: "params" must be an object')
    try:
        clean = layer_type.coerce_params(params)
    except ParamError as error:
        raise DesignFileError(f"{where}: {error}") from None
    pos = entry.get("pos")
    if pos is not None and not (
        isinstance(pos, list)
        and len(pos) == 2
        and all(_is_coordinate(v) for v in pos)
    ):
        raise DesignFileError(f'{where}: "pos" must be [x, y]')
    frozen = entry.get("frozen", False)
    if not isinstance(frozen, bool):
        raise DesignFileError(f'{where}: "frozen" must be true or false')
    label = entry.get("label")
    if label is not None and not isinstance(label, str):
        raise DesignFileError(f'{where}: "label" must be a string')
    unverified = entry.get("unverified")
    if unverified is not None and not isinstance(unverified, str):
        raise DesignFileError(f'{where}: "unverified" must be a string (why the import could not verify the node)')
    try:
        design.add_node(type_name, clean, node_id, tuple(pos) if pos else None, frozen, label).unverified = unverified
    except DesignError as error:
        raise DesignFileError(f"{where}: {error}") from None


def _too_deep(data: Any) -> bool:
    """Whether ``data`` nests lists and objects more than MAX_DEPTH levels (checked without recursion)."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        pending.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _show(value: Any) -> str:
    """A JSON value as a message quotes it, cut when long."""
    try:
        return shorten(json.dumps(value))
    except ValueError:  # an integer too long to write
        return "a number too long to show"


def _is_coordinate(value: Any) -> bool:
    """A finite number: NaN or Infinity would be saved as invalid JSON, and huge ints overflow floats."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return abs(value) <= 1e12 and math.isfinite(value)


def to_dict(design: Design, folder: Path | None = None) -> dict[str, Any]:
    """The design as JSON data; given the file's ``folder``, the weights path is written relative to it."""
    nodes = []
    for node in design.nodes:
        entry: dict[str, Any] = {"id": node.id, "type": node.type}
        if node.params:
            entry["params"] = {k: list(v) if isinstance(v, tuple) else v for k, v in node.params.items()}
        if node.pos is not None:
            entry["pos"] = [round(node.pos[0], 1), round(node.pos[1], 1)]
        if node.frozen:
            entry["frozen"] = True
        if node.label:
            entry["label"] = node.label
        if node.unverified:
            entry["unverified"] = node.unverified
        nodes.append(entry)
    version = VERSION if design.tied else 2  # the oldest version that holds the design
    data: dict[str, Any] = {"format": FORMAT, "version": version, "name": design.name, "nodes": nodes}
    data["edges"] = [list(edge) for edge in design.edges]
    if design.output_order is not None:
        data["outputs"] = list(design.output_order)
    if design.groups:
        data["groups"] = [
            {"id": g.id, "name": g.name, "parent": g.parent, "nodes": list(g.nodes), "collapsed": g.collapsed}
            for g in design.groups.values()
        ]
    if design.tied:
        data["tied"] = [{"tensor": list(tensor), "is": list(owner)} for tensor, owner in design.tied.items()]
    if design.training:
        data["training"] = design.training
    if design.weights is not None:
        data["weights"] = _relative_weights(design.weights, folder)
    if design.sweep is not None:
        data["sweep"] = design.sweep
    return data


def dumps(design: Design, folder: Path | None = None) -> str:
    """JSON with one node and one edge per line, so files diff and hand-edit well."""
    data = to_dict(design, folder)
    lines = ["{"]
    items = list(data.items())
    for i, (key, value) in enumerate(items):
        comma = "," if i < len(items) - 1 else ""
        if key in ("nodes", "edges", "groups") and value:
            inner = ",\n".join(f"    {json.dumps(v)}" for v in value)
            lines.append(f'  "{key}": [\n{inner}\n  ]{comma}')
        else:
            lines.append(f'  "{key}": {json.dumps(value)}{comma}')
    lines.append("}")
    return "\n".join(lines) + "\n"


def save_design(design: Design, path: str | os.PathLike[str]) -> None:
    """Write atomically: a temporary file in the same folder, flushed, then renamed over ``path``."""
    atomic_write_text(Path(path), dumps(design, Path(path).parent))


def atomic_write_text(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` atomically; a failure leaves the previous file as it was."""
    try:
        atomic.atomic_write_text(path, text)
    except atomic.WriteFailed as error:
        raise DesignFileError(f"{path.name} not saved: {error}") from None
