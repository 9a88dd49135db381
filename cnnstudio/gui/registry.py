"""The studio's docks and actions, registered as data: the window is built from this list.

A dock is a :class:`DockSpec` (name, title, area, the workspaces that show it, and a factory that
takes the :class:`~cnnstudio.gui.state.StudioState`); an action is an :class:`ActionSpec`. A new view
is one file that calls :func:`register_dock`. Parts that make several docks from one object (the
training panels, the views fed by one probe) are a :class:`PartSpec`: the shell calls its factory
with the state and adds the docks and actions the part lists.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PySide6.QtWidgets import QWidget

    from cnnstudio.gui.state import StudioState

Area = Literal["left", "right", "bottom", "top"]
ALL_WORKSPACES = ("design", "train", "inspect", "data", "experiments")


@dataclass(frozen=True)
class DockSpec:
    """One dock; ``factory(state)`` makes its widget once, when the window is built. The studio's own
    docks are placed by the workspaces' layouts (``workspaces.py``); a dock they do not name is tabbed
    into the first of its ``workspaces`` (closed in the others: View › Panels opens it)."""

    name: str
    title: str
    area: Area
    factory: Callable[[StudioState], QWidget]
    workspaces: tuple[str, ...] = ALL_WORKSPACES


@dataclass(frozen=True)
class ActionSpec:
    """One menu action: ``run()`` when triggered; ``menu``: the menu it is listed in (None: only its
    shortcut and wherever its owner adds it)."""

    name: str
    text: str
    run: Callable[[], object]
    shortcut: str | Sequence[str] | None = None
    tip: str = ""
    menu: str | None = None


class Part(Protocol):
    docks: list[DockSpec]
    actions: list[ActionSpec]


@runtime_checkable
class Closing(Protocol):
    """A part with work to end when the window closes (a run of its own, a background job)."""

    def shutdown(self) -> None: ...


@dataclass(frozen=True)
class PartSpec:
    name: str
    factory: Callable[[StudioState], Part]


@dataclass
class Registry:
    """The docks and parts, in the order the window adds them."""

    docks: dict[str, DockSpec] = field(default_factory=dict)
    parts: dict[str, PartSpec] = field(default_factory=dict)

    def register_dock(self, spec: DockSpec) -> DockSpec:
        if spec.name in self.docks:
            raise ValueError(f"a dock named {spec.name!r} is registered already")
        self.docks[spec.name] = spec
        return spec

    def register_part(self, spec: PartSpec) -> PartSpec:
        if spec.name in self.parts:
            raise ValueError(f"a part named {spec.name!r} is registered already")
        self.parts[spec.name] = spec
        return spec


def builtin() -> Registry:
    """The studio's own docks: the palette, inspector and summary, then the training panels and the
    views (each a part of several docks), then Style Transfer (a dock and its action)."""
    from cnnstudio.gui.images.style_panel import StyleTransfer
    from cnnstudio.gui.inspector import Inspector
    from cnnstudio.gui.summary import Summary
    from cnnstudio.gui.training.panels import TrainingPanels
    from cnnstudio.gui.views.hub import Views

    registry = Registry()
    registry.register_dock(DockSpec("palette", "Layers", "left", _palette))
    registry.register_dock(DockSpec("inspector", "Inspector", "right", lambda s: Inspector(s.document, s.editor, s.settings)))
    registry.register_dock(DockSpec("summary", "Summary", "bottom", Summary))
    registry.register_part(PartSpec("training", TrainingPanels))
    registry.register_part(PartSpec("views", Views))
    registry.register_part(PartSpec("style", StyleTransfer))
    for spec in EXTRA.docks.values():
        registry.register_dock(spec)
    return registry


def _palette(state: StudioState) -> QWidget:
    from cnnstudio.gui.palette import Palette

    palette = Palette()
    palette.add_requested.connect(state.editor.add_after_selection)
    return palette


EXTRA = Registry()  # docks other modules add before the window is built (``register_dock``)


def register_dock(spec: DockSpec) -> DockSpec:
    """Add a dock to every studio window built from now on (a plugin view: one file, one call)."""
    return EXTRA.register_dock(spec)
