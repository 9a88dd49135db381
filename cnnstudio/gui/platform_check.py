"""Before the first window: are the system libraries Qt's X11 plugin needs installed?

Without them Qt aborts (exit 134) with a message that blames ``xcb-cursor0`` whatever is really
missing. This looks for each library the plugin (``libQt6XcbQpa``) links, the way the dynamic
loader would, and names the missing ones with the command that installs them. It loads no Qt
module: it runs before the QApplication exists.
"""

from __future__ import annotations

import ctypes
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

# The system libraries PySide6 6.11's X11 plugin (libqxcb.so, libQt6XcbQpa.so.6) and libQt6Gui
# link (their DT_NEEDED entries), with the package that has each one on Debian/Ubuntu and Fedora.
# A library missing from this list is still found: loading the plugin names it.
PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libGL.so.1": ("libgl1", "mesa-libGL"),
    "libEGL.so.1": ("libegl1", "mesa-libEGL"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
}
MISSING = re.compile(r"(lib[\w.+-]+\.so[\w.]*): cannot open shared object file|(lib[\w.+-]+\.so[\w.]*): file too short")


@dataclass(frozen=True)
class MissingLibraries:
    """What cannot be loaded, and how to install it."""

    libraries: tuple[str, ...]

    def message(self) -> str:
        known = [lib for lib in self.libraries if lib in PACKAGES]
        debian = sorted({PACKAGES[lib][0] for lib in known})
        fedora = sorted({PACKAGES[lib][1] for lib in known})
        lines = [
            "cnnstudio: the studio cannot open a window: Qt's X11 (xcb) platform plugin needs system "
            "libraries that are not installed:",
            f"  {', '.join(self.libraries)}",
        ]
        if known:
            lines += [
                "Install them with:",
                f"  Debian/Ubuntu:  sudo apt install {' '.join(debian)}",
                f"  Fedora:         sudo dnf install {' '.join(fedora)}",
            ]
        unknown = [lib for lib in self.libraries if lib not in PACKAGES]
        if unknown:
            lines.append(f"  (find the package that has {', '.join(unknown)} with apt-file search or dnf provides)")
        lines.append("The headless commands work without them: cnnstudio check, train, export (cnnstudio --help).")
        return "\n".join(lines)


Loader = Callable[[str], None]


def _load(name: str) -> None:
    ctypes.CDLL(name)


def uses_xcb(environ: dict[str, str] | os._Environ = os.environ, platform: str = sys.platform) -> bool:
    """Whether Qt would pick its X11 plugin here (Linux, not forced elsewhere, not on Wayland)."""
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "")
    if chosen:
        return chosen.split(":")[0].split(";")[0] == "xcb"
    return not (environ.get("WAYLAND_DISPLAY") and environ.get("XDG_SESSION_TYPE") == "wayland")


def plugin_library() -> Path | None:
    """PySide6's libQt6XcbQpa, found without importing any Qt module."""
    import importlib.util

    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return None
    found = Path(next(iter(spec.submodule_search_locations))) / "Qt" / "lib" / "libQt6XcbQpa.so.6"
    return found if found.exists() else None


def missing_libraries(load: Loader | None = None, plugin: Path | None = None) -> MissingLibraries | None:
    """Each library the X11 plugin needs that the loader cannot open; None if all are there."""
    load = load or _load
    missing = []
    for name in PACKAGES:
        try:
            load(name)
        except OSError:
            missing.append(name)
    plugin = plugin if plugin is not None else plugin_library()
    if plugin is not None and not missing:
        try:  # a library this list does not know: the loader names it
            load(str(plugin))
        except OSError as error:
            found = MISSING.search(str(error))
            missing.append(next(g for g in found.groups() if g) if found else str(error))
    return MissingLibraries(tuple(missing)) if missing else None


def check_platform(load: Loader | None = None, environ: dict[str, str] | os._Environ | None = None) -> str | None:
    """The message to print instead of opening the studio, or None when it can start."""
    if not uses_xcb(os.environ if environ is None else environ):
        return None
    missing = missing_libraries(load)
    return missing.message() if missing else None
