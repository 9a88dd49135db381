"""Where the bundled resources (design templates) are: ``resources/`` beside the package.

The studio runs from its source checkout (``make run`` installs it in editable mode), so the
folder is found relative to this file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
TEMPLATES = RESOURCES / "templates"


@dataclass(frozen=True)
class Template:
    name: str  # the design's "name", shown in menus
    path: Path


def templates() -> list[Template]:
    """Every bundled template, sorted by name; unreadable files are left out, not fatal."""
    found = []
    for path in sorted(TEMPLATES.glob("*.json")):
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name") or path.stem
        except (OSError, ValueError, AttributeError):
            continue
        found.append(Template(str(name), path))
    return sorted(found, key=lambda t: t.name.lower())
