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


def templates(folder: Path = TEMPLATES) -> list[Template]:
    """Every template in ``folder``, sorted by name; one whose name cannot be read is listed by its
    file name, so opening it explains what is wrong with it."""
    found = []
    for path in folder.glob("*.json"):
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name") or path.stem
        except (OSError, ValueError, AttributeError):
            name = path.stem
        found.append(Template(str(name), path))
    return sorted(found, key=lambda t: t.name.lower())
