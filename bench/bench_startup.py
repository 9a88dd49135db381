"""How long the studio takes from process start to the first paint of its window.

Each run starts a fresh ``python -m cnnstudio`` on the offscreen platform with
``CNNSTUDIO_EXIT_AFTER_PAINT=1``: the app prints the seconds since ``CNNSTUDIO_STARTUP_T0`` (taken
here just before the process starts) when the canvas first paints, then quits. For reference it
also times ``import torch`` alone in a fresh process, the cost the studio keeps off that path.

    python bench/bench_startup.py [--runs 5] [--design FILE]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def first_paint(design: Path | None, home: str) -> float:
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "CNNSTUDIO_EXIT_AFTER_PAINT": "1",
        "XDG_CONFIG_HOME": home,  # fresh settings: no restored layout, no recovery offers
        "XDG_DATA_HOME": home,
        "CNNSTUDIO_STARTUP_T0": repr(time.time()),
    }
    command = [sys.executable, "-m", "cnnstudio", *([str(design)] if design else [])]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, cwd=ROOT)
    match = re.search(r"first paint ([\d.]+) s", result.stdout)
    if result.returncode != 0 or match is None:
        raise SystemExit(f"the studio did not report its first paint:\n{result.stdout}\n{result.stderr}")
    return float(match.group(1))


def import_torch() -> float:
    start = time.time()
    subprocess.run([sys.executable, "-c", "import torch"], check=True, timeout=120)
    return time.time() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--design", type=Path, default=ROOT / "resources" / "templates" / "figure21.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home:
        first_paint(args.design, home)  # warm the file cache; not counted
        paints = [first_paint(args.design, home) for _ in range(args.runs)]
    torch_times = [import_torch() for _ in range(args.runs)]
    print(f"studio start to first paint ({args.design.name}), {args.runs} runs:")
    print(f"  median {statistics.median(paints):.2f} s   (min {min(paints):.2f}, max {max(paints):.2f})")
    print("python -c 'import torch' (process start to exit), for reference:")
    print(f"  median {statistics.median(torch_times):.2f} s   (min {min(torch_times):.2f}, max {max(torch_times):.2f})")


if __name__ == "__main__":
    main()
