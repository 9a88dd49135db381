"""The studio window (PySide6). Start it with :func:`cnnstudio.gui.app.run_studio`, or from Python
with :func:`open` (a console, a script, Jupyter with ``%gui qt``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnnstudio.core.design import Design
    from cnnstudio.gui.app import Studio


def open(design: str | Path | Design | Any = None, show: bool = True, **options: Any) -> Studio:  # noqa: A001
    """Open the studio on ``design`` (a design file's path, a ``Design`` or a torch ``nn.Module``)
    and return a :class:`~cnnstudio.gui.app.Studio`: ``.state``, ``.window``, ``.workspace``.
    ``options``: ``input_shape`` for a module, ``settings`` and ``recovery_dir`` (tests). Qt is
    imported here, not with the package."""
    from cnnstudio.gui.app import open_studio

    return open_studio(design, show, **options)
