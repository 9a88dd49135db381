"""How shapes and counts are written for people (the CLI and the studio share this)."""

from __future__ import annotations

import re
from collections.abc import Sequence


def format_shape(shape: Sequence[int] | None, channels_last: bool = True) -> str:
    """``(6, 24, 24)`` as ``24x24x6`` (channels last, as the chapter's figures) or ``6x24x24``."""
    if shape is None:
        return "?"
    dims = list(shape)
    if channels_last and len(dims) > 1:
        dims = dims[1:] + dims[:1]
    return "x".join(map(str, dims))


def format_shapes(shapes: Sequence[Sequence[int] | None], channels_last: bool = True) -> str:
    """Several shapes (a group's inputs or outputs): ``28x28x1, 28x28x3``; unknown ones as ``?``."""
    return ", ".join(format_shape(s, channels_last) for s in shapes) or "—"


def format_count(count: int) -> str:
    """``1234567`` as ``1.2 M``; small numbers stay exact."""
    for size, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if count >= 10 * size or (count >= size and suffix != "k"):
            return f"{count / size:.1f} {suffix}"
    return f"{count:,}"


def size_text(size: int) -> str:
    """Bytes for people: ``12.3 MB``, ``4.0 TB``."""
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= scale:
            return f"{size / scale:,.1f} {unit}"
    return f"{size} bytes"


def shorten(text: str, limit: int = 60) -> str:
    """A value from a file, as a message quotes it: cut when long (a 4,000-digit number, a huge id)."""
    return text if len(text) <= limit else f"{text[:limit - 20]}... ({len(text):,} characters)"


def file_stem(name: str) -> str:
    """A design name as a safe file or folder name: ``"Figure 21 / MNIST"`` as ``figure-21-mnist``."""
    return re.sub(r"[^\w.-]+", "-", name).strip("-").lower() or "design"
