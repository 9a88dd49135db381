"""``cnnstudio profile DESIGN``: each layer's forward and backward time and output memory, the
numbers the studio's canvas overlay colours cards by (:mod:`cnnstudio.training.profile`).

Exit status: 0 profiled, 1 a design that cannot run (with a sentence), 2 an unreadable file.
"""

from __future__ import annotations

import argparse
import json
import sys

from cnnstudio.core.designfile import DesignFileError, load_design

EXIT_OK, EXIT_FAILED, EXIT_UNREADABLE = 0, 1, 2


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("design", help="design file (.json)")
    parser.add_argument("--batch-size", type=int, default=8, help="samples per pass (default 8)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")
    parser.add_argument("--repeats", type=int, default=3, help="timed passes after a warm-up; the median is shown")
    parser.add_argument("--json", action="store_true", help="one JSON object: the settings and every layer's costs")


def run(args: argparse.Namespace) -> int:
    try:
        design = load_design(args.design)
    except DesignFileError as error:
        print(f"cnnstudio profile: {error}", file=sys.stderr)
        return EXIT_UNREADABLE
    from cnnstudio.training.errors import TrainingError
    from cnnstudio.training.profile import ProfileError, profile_design

    try:
        profile = profile_design(design, args.batch_size, args.device, args.repeats)
    except (ProfileError, TrainingError) as error:
        print(f"cnnstudio profile: {error}", file=sys.stderr)
        return EXIT_FAILED
    print(json.dumps(profile.to_json(), indent=1) if args.json else table(profile))
    return EXIT_OK


def table(profile) -> str:
    from cnnstudio.core.display import size_text

    header = ("layer", "forward ms", "backward ms", "total ms", "output")
    rows = [(c.node, f"{c.forward_ms:.3f}", f"{c.backward_ms:.3f}", f"{c.time_ms:.3f}", size_text(c.activation_bytes))
            for c in profile.layers]
    total = sum(c.time_ms for c in profile.layers)
    rows.append(("total", f"{sum(c.forward_ms for c in profile.layers):.3f}",
                 f"{sum(c.backward_ms for c in profile.layers):.3f}", f"{total:.3f}",
                 size_text(sum(c.activation_bytes for c in profile.layers))))
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths, strict=True)))
             for row in (header, *rows)]
    return (f"{profile.design} on {profile.device}, batch size {profile.batch_size}, "
            f"median of {profile.repeats} passes\n" + "\n".join(lines))
