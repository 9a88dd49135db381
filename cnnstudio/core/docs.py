"""Generate the layer reference (``docs/layers.md``) from the catalogue, so it cannot drift.

``python -m cnnstudio.core.docs docs/layers.md`` rewrites it; a test fails when the committed file
differs from what the catalogue says.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from cnnstudio.core import catalogue
from cnnstudio.core.catalogue import LayerType

CATEGORY_TITLES = {
    "input": "Input",
    "convolution": "Convolution",
    "pooling": "Pooling",
    "dense": "Dense head",
    "activation": "Activation",
    "normalization": "Normalization",
    "merge": "Merge",
    "blocks": "Blocks",
}


def _inputs(layer: LayerType) -> str:
    if layer.max_inputs == 0:
        return "none (it is where data enters)"
    if layer.max_inputs is None:
        return f"{layer.min_inputs} or more, in the order they are connected"
    return "one"


def _default(value: object) -> str:
    return f"`{json.dumps(list(value) if isinstance(value, tuple) else value)}`"


def layer_section(layer: LayerType) -> str:
    lines = [f"### {layer.name}", "", layer.help, "", f"Inputs: {_inputs(layer)}.", ""]
    if layer.params:
        lines += ["| parameter | allowed values | default | meaning |", "| --- | --- | --- | --- |"]
        for spec in layer.params:
            lines.append(f"| `{spec.name}` | {spec.describe()} | {_default(spec.default)} | {spec.help} |")
    else:
        lines.append("No parameters.")
    return "\n".join(lines) + "\n"


def reference() -> str:
    types = catalogue.all_types()
    parts = [
        "# Layer reference",
        "",
        "Generated from the layer catalogue by `python -m cnnstudio.core.docs docs/layers.md`; do not "
        "edit by hand. Every type and parameter here can be used in a design file "
        "(see [design-format.md](design-format.md)). Parameters left out take their defaults. "
        "`in_channels` and `in_features` are never given: they come from the graph.",
        "",
        "Where a parameter takes a size per spatial axis, one number applies to every axis and a "
        "list gives one per axis (in the order D, H, W). Axes counted by `dim`, `start_dim` and "
        "`end_dim` count the batch as 0, as in PyTorch.",
        "",
    ]
    for category, title in CATEGORY_TITLES.items():
        members = [t for t in types if t.category == category]
        parts.append(f"## {title}\n")
        parts.append(", ".join(f"[{t.name}](#{t.name.lower()})" for t in members) + "\n")
        parts.extend(layer_section(t) for t in members)
    return "\n".join(parts)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m cnnstudio.core.docs OUTPUT.md", file=sys.stderr)
        return 2
    Path(argv[0]).write_text(reference(), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
