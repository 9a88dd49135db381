"""``cnnstudio runs DESIGN``: the design's runs as a table (or ``--json``), with what each changed and
its note; the cells are those of the studio's Runs panel (:mod:`cnnstudio.runs.table`).
Runs from before the run store are listed too; what they do not record reads "older run". A run
whose process is gone reads "interrupted", with its last checkpoint and the command that continues
it (:mod:`cnnstudio.runs.owner`); a run whose run.json cannot be used reads "damaged", with why.
Listing writes nothing."""

from __future__ import annotations

import argparse
import json
import sys

from cnnstudio.core.designfile import DesignFileError, load_design

EXIT_OK, EXIT_FAILED = 0, 1


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--json", action="store_true", help="one JSON object per run, oldest first")


def run(args: argparse.Namespace) -> int:
    from cnnstudio.runs import list_runs, runs_dir
    from cnnstudio.runs.table import run_cells, run_changes

    try:
        design = load_design(args.design)
    except DesignFileError as error:
        print(f"cnnstudio runs: {error}", file=sys.stderr)
        return EXIT_FAILED
    folder = runs_dir(args.design, design.name)
    found = list_runs(folder)
    rows, cells = [], []
    for previous, current in zip([None, *found], found):
        row = current.to_json()
        row["resume_command"] = current.resume_command(args.design)
        row["changes"] = run_changes(current, previous)
        rows.append(row)
        cells.append(run_cells(current, previous).texts())
    if args.json:
        print(json.dumps(rows, indent=1))
        return EXIT_OK
    if not rows:
        print(f"no runs yet in {folder}")
        return EXIT_OK
    print(table(rows, cells))
    return EXIT_OK


def table(rows: list[dict], cells: list[tuple[str, ...]]) -> str:
    """The cells of :func:`cnnstudio.runs.table.run_cells` in columns, the note unpadded at the end;
    a failed or interrupted run's sentence on the line below it."""
    from cnnstudio.runs.table import HEADER

    lines = [HEADER, *cells]
    widths = [max(len(row[i]) for row in lines) for i in range(len(HEADER) - 1)]
    text = [("  ".join(v.ljust(w) for v, w in zip(row, widths)) + "  " + row[-1]).rstrip() for row in lines]
    for index in reversed(range(len(rows))):
        row = rows[index]
        if row["status"] == "failed" and row["message"]:
            text.insert(index + 2, "  failed: " + row["message"].splitlines()[0])
        elif row["status"] == "damaged":
            text.insert(index + 2, f"  damaged, skipped by latest and best: {row['detail']}")
        elif row["status"] == "interrupted":
            more = f"\n  continue with: {row['resume_command']}" if row.get("resume_command") else ""
            text.insert(index + 2, f"  interrupted: {row['detail']}{more}")
    return "\n".join(text)
