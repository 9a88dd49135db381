"""The design templates shipped in ``resources/templates``: every ``*.json`` there, by its name."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "resources" / "templates"


@dataclass(frozen=True)
class Template:
    name: str
    path: Path


def templates(directory: Path = TEMPLATES_DIR) -> list[Template]:
    """All templates, sorted by name; a file whose name cannot be read is listed by its stem."""
    found = []
    for path in directory.glob("*.json"):
        try:
            name = json.loads(path.read_text(encoding="utf-8")).get("name") or path.stem
        except (OSError, ValueError, AttributeError):
            name = path.stem
        found.append(Template(str(name), path))
    return sorted(found, key=lambda t: t.name.lower())
