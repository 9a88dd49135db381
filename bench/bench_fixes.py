"""What trying fixes first costs: the fix previews of one error, against one validation.

    python bench/bench_fixes.py

The inspector previews the fixes of the selected layer's problems after every edit
(core/fixes.py): each candidate is a copy of the design and one analysis. The worst case is a
kernel too large for its input whose own fix breaks the next layer, so the alternatives are
searched too. Printed per design size: milliseconds, and the ratio to one validation measured
in the same run.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_core import residual_design  # noqa: E402
from cnnstudio.core.analysis import analyze  # noqa: E402
from cnnstudio.core.fixes import fixes_for  # noqa: E402


def measure(nodes: int, repeats: int) -> tuple[float, float, int]:
    design = residual_design(nodes)
    conv = next(n.id for n in design.nodes if n.type == "Conv2d")
    design.set_param(conv, "padding", "valid")
    design.set_param(conv, "kernel_size", 33)  # larger than the 32x32 input
    analysis = analyze(design)
    (issue,) = analysis.errors
    start = time.perf_counter()
    for _ in range(repeats):
        analyze(design)
    validate = (time.perf_counter() - start) / repeats
    start = time.perf_counter()
    for _ in range(repeats):
        previews = fixes_for(design, issue, analysis)
    preview = (time.perf_counter() - start) / repeats
    return validate, preview, len(previews)


def main() -> None:
    print("nodes  validate ms  fix previews ms  ratio  offered")
    for nodes, repeats in ((100, 10), (1_000, 3)):
        validate, preview, offered = measure(nodes, repeats)
        print(f"{nodes:5}  {validate * 1e3:11.1f}  {preview * 1e3:15.1f}  {preview / validate:5.1f}  {offered - 1}")


if __name__ == "__main__":
    main()
