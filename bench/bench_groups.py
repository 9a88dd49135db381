"""Groups on the canvas: what a canvas refresh (after every edit) costs with groups, against the
same design without them, measured side by side in one run.

Run: ``.venv/bin/python bench/bench_groups.py`` (offscreen Qt; or ``make bench``).

The design is ``bench_core.residual_design(2000)``: each residual block (6 layers) is a group,
every 10 blocks a stage group around them, as an imported network is grouped. Half the stages are
open. The figure to watch is the ratio grouped / plain; groups only annotate, so it should stay
small (the canvas hides the closed groups' layers, so it can even be cheaper).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from PySide6.QtCore import QSettings  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from bench_core import residual_design  # noqa: E402
from cnnstudio.core.design import Design  # noqa: E402
from cnnstudio.core.layout import layered_positions  # noqa: E402
from cnnstudio.gui.canvas.scene import DesignScene  # noqa: E402
from cnnstudio.gui.document import Document  # noqa: E402
from cnnstudio.gui.settings import Settings  # noqa: E402

NODES = 2000
ROUNDS = 7


def grouped(design: Design) -> Design:
    """Every Add closes a block: the layers since the previous Add are one group; ten blocks a stage."""
    block: list[str] = []
    blocks: list[str] = []
    stages = 0
    for node in design.nodes:
        if node.type == "Input":
            continue
        block.append(node.id)
        if node.type == "Add":
            blocks.append(design.add_group(f"block{len(design.groups)}", block).id)
            block = []
        if len(blocks) == 10:
            design.add_group(f"stage{stages}", [], children=blocks, collapsed=stages % 2 == 0)
            stages += 1
            blocks = []
    return design


def scene_for(design: Design, settings: Settings) -> DesignScene:
    for node_id, pos in layered_positions(design).items():
        design.node(node_id).pos = pos
    return DesignScene(Document(design), settings)


def main() -> None:
    app = QApplication.instance() or QApplication(sys.argv[:1])
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(QSettings(str(Path(folder) / "settings.ini"), QSettings.Format.IniFormat))
        plain = scene_for(residual_design(NODES), settings)
        groups = scene_for(grouped(residual_design(NODES)), settings)
    times: dict[str, list[float]] = {"plain": [], "grouped": []}
    for _ in range(ROUNDS):  # interleaved, so both see the same machine
        for name, scene in (("plain", plain), ("grouped", groups)):
            start = time.perf_counter()
            scene.refresh()
            times[name].append(time.perf_counter() - start)
    median = {name: statistics.median(samples) for name, samples in times.items()}
    count = len(groups.doc.design.groups)
    print(f"canvas refresh, {NODES} layers: plain {median['plain'] * 1000:.0f} ms, "
          f"in {count} groups {median['grouped'] * 1000:.0f} ms, ratio {median['grouped'] / median['plain']:.2f}")
    app.quit()


if __name__ == "__main__":
    main()
