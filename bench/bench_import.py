"""Importing torchvision's ResNet-50 as a design (issue 10): goal under 3 s on this machine.

Run: ``.venv/bin/python bench/bench_import.py``. Measured side by side, interleaved, in one run:
torchvision building the model (random weights), the import (which builds it too, then traces,
converts and lays it out), and writing the design with its 98 MiB of weights. The ratio of
import to torchvision's own construction says what the import adds, whatever the machine's load.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import torchvision

from cnnstudio.importers import import_model, save_import

ROUNDS = 5


def timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    result = work()
    return time.perf_counter() - start, result


def main() -> None:
    import_model("torchvision:resnet18")  # warm-up: imports and caches
    construct, imports, writes = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(ROUNDS):
            construct.append(timed(lambda: torchvision.models.get_model("resnet50", weights=None))[0])
            seconds, imported = timed(lambda: import_model("torchvision:resnet50"))
            imports.append(seconds)
            writes.append(timed(lambda: save_import(imported, Path(folder) / "resnet50.json"))[0])
    c, i, w = (statistics.median(v) for v in (construct, imports, writes))
    print(f"resnet50, median of {ROUNDS} interleaved rounds ({len(imported.design)} nodes):")
    print(f"  torchvision builds the model     {c:6.2f} s")
    print(f"  cnnstudio import (incl. build)   {i:6.2f} s   ratio to building: {i / c:.2f}   goal: < 3 s")
    print(f"  writing design + safetensors     {w:6.2f} s   import + write: {i + w:.2f} s")


if __name__ == "__main__":
    main()
