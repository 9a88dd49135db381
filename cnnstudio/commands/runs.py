"""``cnnstudio runs DESIGN``: the design's runs as a table (or ``--json``), with what each changed.
Runs from before the run store are listed too; what they do not record reads "older run". A run
whose process is gone reads "interrupted", with its last checkpoint and the command that continues
it (:mod:`cnnstudio.runs.owner`); listing writes nothing."""

from __future__ import annotations

import argparse
import json
import sys
import time

from cnnstudio.core.designfile import DesignFileError, load_design
from cnnstudio.runs.older import OLDER

EXIT_OK, EXIT_FAILED = 0, 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--json", action="store_true", help="one JSON object per run, oldest first")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.runs import list_runs, runs_dir
    from cnnstudio.runs.diff import changes

    try:
        design = load_design(args.design)
    except DesignFileError as error:
        print(f"cnnstudio runs: {error}", file=sys.stderr)
        return EXIT_FAILED
    folder = runs_dir(args.design, design.name)
    found = list_runs(folder)
    rows = []
    for previous, current in zip([None, *found], found):
        row = current.to_json()
        row["resume_command"] = current.resume_command(args.design)
        row["changes"] = changes(previous.settings, current.settings, previous.design, current.design) if previous else ""
        rows.append(row)
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK
    if not rows:
        print(f"no runs yet in {folder}")
        return EXIT_OK
    print(table(rows))
    return EXIT_OK


def table(rows: list[dict]) -> str:
    header = ["name", "started", "status", "epochs", "best", "final", "time", "changes"]
    lines = [[r["name"], (r["started"] or OLDER).replace("T", " "), _status(r),
              f"{r['epochs']}/{r['planned_epochs'] or '?'}", _metric(r, "best"), _metric(r, "final"),
              duration(r["seconds"]) if r["seconds"] or not r["older"] else OLDER, r["changes"]] for r in rows]
    widths = [max(len(str(row[i])) for row in [header, *lines]) for i in range(len(header) - 1)]
    text = ["  ".join(str(v).ljust(w) for v, w in zip(row, widths)) + "  " + row[-1] for row in [header, *lines]]
    for index in reversed(range(len(rows))):  # a failed or interrupted run's sentence on the line below it
        row = rows[index]
        if row["status"] == "failed" and row["message"]:
            text.insert(index + 2, "  failed: " + row["message"].splitlines()[0])
        elif row["status"] == "interrupted":
            more = f"\n  continue with: {row['resume_command']}" if row.get("resume_command") else ""
            text.insert(index + 2, f"  interrupted: {row['detail']}{more}")
    return "\n".join(text)


def _status(row: dict) -> str:
    if row["status"] == "unknown":
        return OLDER
    if (row.get("sweep") or {}).get("pruned"):  # a sweep's trial its pruner stopped
        return "pruned"
    return f"running (on {row['host']})" if row["status"] == "running" and row["host"] else row["status"]


def _metric(row: dict, which: str) -> str:
    value = (row[which] or {}).get(row["metric"])
    return f"{row['metric'].removeprefix('val_')} {value:.4g}" if isinstance(value, (int, float)) else "-"


def duration(seconds: float) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(seconds)) if seconds >= 3600 else f"{int(seconds) // 60}:{int(seconds) % 60:02d}"
