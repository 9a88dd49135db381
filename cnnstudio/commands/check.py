"""``cnnstudio check DESIGN``: a torchinfo-like table of shapes, parameters and problems, and the
problems of the design's "training" object (before ``train`` would meet them).

Exit status: 0 valid, 1 invalid design or training settings, 2 unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys

from cnnstudio.core.analysis import Analysis, analyze
from cnnstudio.core.design import Design
from cnnstudio.core.designfile import DesignFileError, load_design
from cnnstudio.core.display import format_count, format_shape, size_text
from cnnstudio.core.fixes import fixes_for
from cnnstudio.core.memory import available_ram, estimate
from cnnstudio.training.check import TrainingProblem, errors, training_problems

EXIT_VALID, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2
DEFAULT_BATCH = 64  # the "training" default, without importing the training engine


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--json", action="store_true", help="print a JSON report instead of a table")
    parser.add_argument(
        "--channels-first",
        action="store_true",
        help="write shapes as PyTorch holds them (6x24x24) instead of channels last (24x24x6)",
    )


def run(args: argparse.Namespace) -> int:
    try:
        design = load_design(args.design)
    except DesignFileError as error:
        print(f"cnnstudio check: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    analysis = analyze(design)
    training = training_problems(design.training, design, analysis)
    if args.json:
        print(json.dumps(report(design, analysis, training), indent=2))
    else:
        print(table(design, analysis, channels_last=not args.channels_first, training=training))
        warning = memory_warning(design, analysis)
        if warning:
            print(f"\nwarning: {warning}")
    return EXIT_VALID if analysis.valid and not errors(training) else EXIT_INVALID


def batch_size(design: Design) -> int:
    """The design's training batch size, or the default when it has none (or a wrong one)."""
    value = design.training.get("batch_size") if isinstance(design.training, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 65_536 else DEFAULT_BATCH


def memory_warning(design: Design, analysis: Analysis) -> str | None:
    """A warning when training the design would need more memory than this machine has available."""
    needed = estimate(analysis, batch_size(design))
    limit = available_ram()
    if limit is None or needed.training <= limit:
        return None
    return (f"training this design needs about {size_text(needed.training)} of memory, more than the "
            f"{size_text(limit)} available here; train would refuse it (and export if its weights do not fit)")


def report(design: Design, analysis: Analysis, training: list[TrainingProblem] | None = None) -> dict:
    training = training or []
    return {
        "valid": analysis.valid and not errors(training),
        "total_params": analysis.total_params,
        "total_macs": analysis.total_macs,
        "memory": _memory_report(design, analysis),
        "design_errors": [issue.message for issue in analysis.design_issues if issue.severity == "error"],
        "nodes": {
            node_id: {
                "type": design.node(node_id).type,
                "shape": list(info.shape) if info.shape is not None else None,
                "params": info.params,
                "shares": [{"tensor": s.tensor, "with": [s.owner, s.owner_tensor], "params": s.params}
                           for s in info.shared],
                "macs": info.macs,
                "errors": [i.message for i in info.errors],
                "warnings": [i.message for i in info.warnings],
            }
            for node_id, info in ((n, analysis.nodes[n]) for n in analysis.order)
        },
        "training": {
            "valid": not errors(training),
            "errors": [{"key": p.key, "message": p.message} for p in errors(training)],
            "warnings": [{"key": p.key, "message": p.message} for p in training if p.severity != "error"],
        },
    }


def _memory_report(design: Design, analysis: Analysis) -> dict:
    needed = estimate(analysis, batch_size(design))
    return {"weights_bytes": needed.weights, "batch_size": needed.batch_size, "training_bytes": needed.training,
            "available_bytes": available_ram(), "warning": memory_warning(design, analysis)}


def table(design: Design, analysis: Analysis, channels_last: bool = True,
          training: list[TrainingProblem] | None = None) -> str:
    rows = [("node", "type", "output shape", "params", "mult-adds")]
    notes: list[str] = []
    for node_id in analysis.order:
        info = analysis.nodes[node_id]
        marks = "".join(("!" if i.severity == "error" else "~") for i in info.issues)
        rows.append(
            (
                node_id + (f" {marks}" if marks else ""),
                design.node(node_id).type,
                format_shape(info.shape, channels_last),
                f"{info.params:,}" + (" shared" if any(s.params for s in info.shared) else ""),
                f"{info.macs:,}",
            )
        )
        notes += [f"  {node_id} {shared}: its {shared.params:,} parameters are counted once, at {shared.owner}"
                  for shared in info.shared if shared.params]
        for issue in info.issues:
            prefix = "error" if issue.severity == "error" else "warning"
            working = [p.fix.label for p in fixes_for(design, issue, analysis) if p.works]
            fix = f" [fix: {' or '.join(working)}]" if working else ""
            notes.append(f"  {prefix} in {node_id}: {issue.message}{fix}")
    for issue in analysis.design_issues:
        notes.append(f"  {issue.severity}: {issue.message}")
    for problem in training or []:
        notes.append(f"  {problem.severity} in training{f'.{problem.key}' if problem.key else ''}: {problem.message}")
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    align = ["<", "<", ">", ">", ">"]
    lines = ["  ".join(f"{cell:{a}{w}}" for cell, a, w in zip(row, align, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    layout = "channels last" if channels_last else "channels first"
    status = "valid" if analysis.valid else f"{len(analysis.errors)} error(s)"
    if errors(training or []):
        status += f", {len(errors(training or []))} training setting error(s)"
    lines.append("")
    lines.append(
        f"{design.name}: {status}, {len(analysis.warnings)} warning(s); "
        f"{analysis.total_params:,} parameters ({format_count(analysis.total_params)}"
        f"{', a shared tensor counted once' if any(i.shared for i in analysis.nodes.values()) else ''}), "
        f"{format_count(analysis.total_macs)} mult-adds per sample; shapes {layout}"
    )
    lines.append(f"memory: {estimate(analysis, batch_size(design)).describe()}")
    if notes:
        lines.append("")
        lines.extend(notes)
    return "\n".join(lines)
