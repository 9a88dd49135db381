"""A machine without the X11 libraries Qt needs: the studio names them and the install command
(Debian/Ubuntu, Fedora) instead of Qt's abort; the headless commands are not affected."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnnstudio import cli
from cnnstudio.gui import platform_check
from cnnstudio.gui.platform_check import PACKAGES, check_platform, missing_libraries, uses_xcb

GONE = ("libxcb-icccm.so.4", "libxcb-keysyms.so.1")
ROOT = Path(__file__).resolve().parents[1]


def loader_without(*names: str):  # noqa: ANN201
    def load(name: str) -> None:
        if name in names:
            raise OSError(f"{name}: cannot open shared object file: No such file or directory")

    return load


def test_the_message_names_the_libraries_and_both_install_commands() -> None:
    missing = missing_libraries(loader_without(*GONE))
    assert missing is not None and missing.libraries == GONE
    text = missing.message()
    assert "libxcb-icccm.so.4, libxcb-keysyms.so.1" in text
    assert "Debian/Ubuntu:  sudo apt install libxcb-icccm4 libxcb-keysyms1" in text
    assert "Fedora:         sudo dnf install xcb-util-keysyms xcb-util-wm" in text
    assert "cnnstudio check, train, export" in text


def test_a_library_not_in_the_list_is_named_by_the_loader(tmp_path: Path) -> None:
    def load(name: str) -> None:
        if name.endswith("libQt6XcbQpa.so.6"):
            raise OSError("libxcb-foo.so.7: cannot open shared object file: No such file or directory")

    missing = missing_libraries(load, plugin=tmp_path / "libQt6XcbQpa.so.6")
    assert missing is not None and missing.libraries == ("libxcb-foo.so.7",)
    assert "apt-file search" in missing.message()


def test_nothing_missing_means_no_message() -> None:
    assert check_platform(loader_without(), {"DISPLAY": ":0"}) is None


def test_only_the_x11_plugin_is_checked() -> None:
    assert uses_xcb({"DISPLAY": ":0"}, "linux")
    assert uses_xcb({"QT_QPA_PLATFORM": "xcb"}, "linux")
    assert not uses_xcb({"QT_QPA_PLATFORM": "offscreen"}, "linux")
    assert not uses_xcb({"WAYLAND_DISPLAY": "wayland-0", "XDG_SESSION_TYPE": "wayland"}, "linux")
    assert not uses_xcb({"DISPLAY": ":0"}, "darwin")
    assert check_platform(loader_without(*GONE), {"QT_QPA_PLATFORM": "offscreen"}) is None


def test_cnnstudio_prints_the_command_and_never_starts_qt(monkeypatch, capsys) -> None:  # noqa: ANN001
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.setattr(platform_check, "_load", loader_without(*GONE))
    import cnnstudio.gui.app as app

    monkeypatch.setattr(app, "run_studio", lambda *a: pytest.fail("the studio started"))
    assert cli.main([]) == cli.EXIT_NO_DISPLAY
    err = capsys.readouterr().err
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in err and "Traceback" not in err


def test_the_listed_libraries_are_the_ones_the_plugin_links() -> None:
    plugin = platform_check.plugin_library()
    if plugin is None or not shutil.which("objdump"):
        pytest.skip("needs PySide6's X11 plugin and objdump")
    needed = set()
    for library in (plugin, plugin.parent.parent / "plugins" / "platforms" / "libqxcb.so"):
        out = subprocess.run(["objdump", "-p", str(library)], capture_output=True, text=True).stdout
        needed |= {line.split()[1] for line in out.splitlines() if "NEEDED" in line}
    xcb = {name for name in needed if "xcb" in name or "xkb" in name}
    assert xcb <= set(PACKAGES)


@pytest.mark.skipif(not (sys.platform.startswith("linux") and shutil.which("unshare") and os.geteuid() == 0),
                    reason="hides system libraries in a private mount namespace: needs Linux, unshare and root")
def test_for_real_with_the_libraries_hidden(tmp_path: Path) -> None:
    """The libraries are covered by empty files in a mount namespace of this command only."""
    libs = [str(p) for p in Path("/").glob("usr/lib/*-linux-gnu/libxcb-icccm.so.4*")] + \
           [str(p) for p in Path("/").glob("usr/lib/*-linux-gnu/libxcb-keysyms.so.1*")]
    if not libs:
        pytest.skip("the libraries are not installed here to hide")
    hide = "; ".join(f"mount --bind /dev/null {lib}" for lib in libs)
    env = {k: v for k, v in os.environ.items() if k != "QT_QPA_PLATFORM"} | {"DISPLAY": ":99", "PYTHONPATH": str(ROOT)}
    script = f"{hide}; exec {sys.executable} -m cnnstudio"
    done = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == cli.EXIT_NO_DISPLAY, done.stderr
    assert "sudo apt install libxcb-icccm4 libxcb-keysyms1" in done.stderr
    assert "sudo dnf install xcb-util-keysyms xcb-util-wm" in done.stderr
