"""Files that must be files: read only from regular files, with a bound, and written only over them.

Designs, run folders, metrics, data lists and images come from other people, and a name in them
may point at anything: ``/dev/zero`` never ends, a FIFO with no writer blocks forever, a socket
cannot be opened, a folder cannot be read. Every such input is opened without blocking, checked
to be a regular file on the open descriptor (not by name first: the name may change in between),
and read with a limit counted while reading (the size the file system reports is not trusted: a
file may grow while read). Outputs likewise replace only regular files
(:func:`refuse_special_output`): ``-o mynull`` must never turn a device into a file.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from cnnstudio.core.display import shorten


class NotReadable(ValueError):
    """A file that was not read; ``str()`` is a sentence naming it and why."""


def _what(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def kind_of(path: Path) -> str | None:
    """What stands at ``path`` when it is not a regular file ("a folder", "a pipe (FIFO)",
    "a socket", "a device"); None for a regular file or nothing at all. Follows links."""
    try:
        mode = os.stat(path).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else _what(mode)


def read_regular(path: Path, limit: int, what: str = "a file") -> bytes:
    """At most ``limit`` bytes of the regular file ``path``, or :class:`NotReadable` (``what``: what
    the file should be, for the sentence, e.g. "a design is a .json file")."""
    name = shorten(str(path), 200)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise NotReadable(f"{name}: no such file") from None
    except IsADirectoryError:
        raise NotReadable(f"{name}: is a folder, not {what}") from None
    except ValueError:  # a NUL character in the path
        raise NotReadable(f"{shorten(repr(str(path)), 200)}: not a valid file name") from None
    except OSError as error:  # a socket (ENXIO), no permission, a name too long
        kind = kind_of(path)
        if kind is not None:
            raise NotReadable(f"{name}: not a regular file ({kind}); it should be {what}") from None
        raise NotReadable(f"{name}: cannot be read ({error.strerror or error})") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        if stat.S_ISDIR(mode):
            raise NotReadable(f"{name}: is a folder, not {what}")
        raise NotReadable(f"{name}: not a regular file ({_what(mode)}); it should be {what}")
    with os.fdopen(fd, "rb") as handle:
        try:
            raw = read_at_most(handle, limit + 1)
        except OSError as error:
            raise NotReadable(f"{name}: cannot be read ({error.strerror or error})") from None
    if len(raw) > limit:
        raise NotReadable(f"{name}: the file is larger than {_size(limit)}; it should be {what}")
    return raw


def read_at_most(handle: BinaryIO, size: int, chunk: int = 2**20) -> bytes:
    """Up to ``size`` bytes, a chunk at a time: ``read(size)`` would reserve all of ``size`` first,
    however small the file."""
    parts = bytearray()
    while len(parts) < size:
        part = handle.read(min(chunk, size - len(parts)))
        if not part:
            break
        parts += part
    return bytes(parts)


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 2**10} KiB"


def refuse_special_output(path: Path) -> str | None:
    """Why ``path`` may not be written (it is a device, a pipe, a socket or a folder), or None: an
    output only ever replaces a regular file or creates a new one. Checked through links, since
    writing a link replaces its target."""
    kind = kind_of(path)
    if kind is None:
        return None
    if kind == "a folder":
        return f"{path} is a folder; give a file name"
    return f"{path} is {kind}, not a regular file: an output only replaces a regular file, so it was not written"
