"""``cnnstudio sweeps DESIGN``: the design's sweeps, their trials and the best one, or ``--json``
(``{"sweeps": [{"name", "storage", "metric", "direction", "trials": [...], "best": {...}}]}``, see
:mod:`cnnstudio.sweeps.listing`). Listing writes nothing. Exit status: 0 listed, 2 unreadable design
or storage."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from cnnstudio.core.designfile import DesignFileError, load_design

EXIT_OK, EXIT_UNREADABLE = 0, 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--json", action="store_true", help="the sweeps as one JSON object")
    parser.add_argument("--storage", metavar="URL", help="where the sweeps live (default: the design's runs folder)")


def run(args: argparse.Namespace) -> int:
    import optuna

    from cnnstudio.runs import runs_dir
    from cnnstudio.sweeps import storage as stores
    from cnnstudio.sweeps.listing import sweeps_of
    from cnnstudio.sweeps.space import SweepError

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        design = load_design(args.design)
        place = stores.where(args.storage, runs_dir(args.design, design.name))
        found = sweeps_of(stores.open_storage(place), design.name, place.text) if place.exists else []
    except (DesignFileError, SweepError) as error:
        print(f"cnnstudio sweeps: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    if args.json:
        print(json.dumps({"sweeps": found}, indent=1))
    elif not found:
        print(f"no sweeps of '{design.name}' in {place.text} yet (start one with cnnstudio sweep)")
    else:
        print("\n\n".join(table(sweep) for sweep in found))
    return EXIT_OK


def table(sweep: dict[str, Any]) -> str:
    """One sweep: a line about it, then a row per trial (its values, state, metric and run folder)."""
    keys = list(dict.fromkeys(k for t in sweep["trials"] for k in t["params"]))
    header = ["trial", "state", sweep["metric"] or "value", *(k.split(".", 1)[1] for k in keys), "run"]
    rows = [[str(t["number"]), t["state"], f"{t['value']:.4g}" if t["value"] is not None else "-",
             *(_value(t["params"].get(k)) for k in keys), (t["run"] or "-").rsplit("/", 1)[-1]] for t in sweep["trials"]]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in [header, *rows]]
    best = sweep["best"]
    summary = f"best: trial {best['number']}, {sweep['metric']} {best['value']:.4g}" if best else "no complete trial yet"
    head = f"sweep '{sweep['name']}' ({sweep['direction']} {sweep['metric']}; {len(rows)} trials; {summary}) in {sweep['storage']}"
    return "\n".join([head, *lines])


def _value(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else json.dumps(value) if not isinstance(value, str) else value
