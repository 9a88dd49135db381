"""Atomic file replacement: readers see the old file or the new one, never a half-written mix.

Used for designs, exports, checkpoints and the views' PNG/CSV files. Only a regular file is
ever replaced: a device, pipe, socket or folder at the target is refused before anything is written. The new content goes to a
temporary file in the same folder (same file system, so the final rename is atomic), is flushed
to disk, gets the permissions of the file it replaces (or those of a normal new file), then
replaces the target; the folder is flushed too, so the rename survives a power cut. On any error
the temporary file is removed, the target is untouched, and :class:`WriteFailed` says in one
sentence what happened ("the disk holding /data is full: 12 MB needed").

Writers that serialise with C++ (TorchScript, torch.export, safetensors) must not write to the
disk themselves: on a full disk they raise ``RuntimeError`` or abort the whole process. They
serialise into memory, and :func:`atomic_write_bytes` writes the bytes.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path

from cnnstudio.core.regular import refuse_special_output

TEMP_SUFFIX = ".part"
_MAX_NAME_BYTES = 255  # the longest file name of common file systems (ext4, NTFS, APFS, tmpfs)
_TEMP_EXTRA = len(b"." + b"." + b"x" * 8 + TEMP_SUFFIX.encode())
# Temporary names: ".<target name, cut>.<8 random characters>.part".
TEMP_PATTERN = re.compile(rf"\..+\.[a-z0-9_]{{8}}{re.escape(TEMP_SUFFIX)}")


class WriteFailed(OSError):
    """A file that was not written; ``str()`` is a sentence, and the previous file is unchanged."""

    def __init__(self, error: OSError, sentence: str):
        super().__init__(error.errno, sentence)
        self.sentence = sentence

    def __str__(self) -> str:
        return self.sentence


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_NEW_FILE_MODE = 0o666 & ~_umask()  # read once, at import, while only one thread runs


def _megabytes(size: int) -> str:
    """Always in MB, as people think of free disk space (``0.1 MB``, ``28.4 MB``, ``1,200 MB``)."""
    return f"{max(size, 1) / 1e6:,.1f} MB" if size < 10e6 else f"{size / 1e6:,.0f} MB"


def explain(error: OSError, path: Path, size: int | None = None) -> str:
    """One sentence for an error writing ``path`` (``size``: bytes it needed, when known)."""
    folder = path.parent if str(path.parent) else Path(".")
    kept = "; the previous file is unchanged" if path.exists() else ""
    code = error.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        needed = f": {_megabytes(size)} needed" if size is not None else ""
        return f"the disk holding {folder} is full{needed}{kept}"
    if code == errno.EFBIG:
        needed = f" ({_megabytes(size)})" if size is not None else ""
        return f"{path}: the file would be larger than this system lets a program write{needed}{kept}"
    if code in (errno.EACCES, errno.EPERM):
        return f"{folder}: no permission to write there{kept}"
    if code == errno.EROFS:
        return f"{folder}: the folder is on a read-only file system{kept}"
    if code in (errno.ENOTDIR, errno.EEXIST) and not folder.is_dir():
        blocker = next((p for p in (folder, *folder.parents) if p.exists() and not p.is_dir()), folder)
        return f"{path} cannot be written: {blocker} is a file, not a folder"
    if code == errno.ENOENT and not folder.exists():
        return f"{folder}: no such folder"
    if code == errno.EISDIR or path.is_dir():
        return f"{path} is a folder; give a file name"
    if code == errno.ENAMETOOLONG:
        return f"{path.name[:40]}...: the file name is too long for this file system"
    return f"{path}: not written ({error.strerror or error}){kept}"


def target_of(path: Path) -> Path:
    """The file to replace: through symbolic links, so saving a linked file updates its target."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _temp_stem(path: Path) -> str:
    """The target's name, cut (on a character boundary) so the temporary name fits in 255 bytes."""
    return path.name.encode("utf-8", "surrogateescape")[: _MAX_NAME_BYTES - _TEMP_EXTRA].decode("utf-8", "ignore")


def temp_name(path: Path) -> str:
    """A temporary name no longer than the longest name a file system takes, whatever the target's."""
    random = "".join(secrets.choice("abcdefghijklmnopqrstuvwxyz0123456789_") for _ in range(8))
    return f".{_temp_stem(path)}.{random}{TEMP_SUFFIX}"


def stray_temps(folder: Path) -> list[Path]:
    """Temporary files left in ``folder`` by writers that were killed mid-write."""
    if not folder.is_dir():
        return []
    return [entry for entry in folder.iterdir() if TEMP_PATTERN.fullmatch(entry.name) and entry.is_file()]


def _fsync_folder(folder: Path) -> None:
    """Flush the folder's entry list, so the rename itself survives a crash (POSIX only)."""
    try:
        handle = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return  # Windows cannot open folders; its renames are journaled by NTFS
    try:
        os.fsync(handle)
    except OSError:
        pass  # some file systems (network mounts) refuse to flush a folder; the rename still happened
    finally:
        os.close(handle)


def _prepare(path: Path, parents: bool) -> Path:
    path = target_of(Path(path))
    try:
        if parents:
            path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise WriteFailed(error, explain(error, path)) from None
    if path.is_dir():
        error = IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
        raise WriteFailed(error, explain(error, path))
    refused = refuse_special_output(path)
    if refused:  # a device, FIFO or socket: renaming over it would replace /dev/null itself
        raise WriteFailed(OSError(errno.EINVAL, refused), refused)
    return path


def _write_temp(temp: Path, path: Path, data: bytes | bytearray | memoryview) -> None:
    """The new content of ``path`` in the flushed temporary file ``temp``."""
    with open(temp, "xb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(temp, path.stat().st_mode & 0o777 if path.exists() else _NEW_FILE_MODE)


def atomic_write(path: Path, write: Callable[[Path], None], parents: bool = False) -> None:
    """``write(temp)`` fills a temporary file, which then replaces ``path``; for writers that need
    a path of their own (the run folder's files, image encoders). ``write`` must raise OSError on
    failure: C++ writers (torch.save, TorchScript) go through :func:`atomic_write_bytes` instead.
    Raises :class:`WriteFailed`."""
    path = _prepare(path, parents)
    temp = path.parent / temp_name(path)
    try:
        try:
            write(temp)
            with open(temp, "rb+") as handle:
                os.fsync(handle.fileno())
            os.chmod(temp, path.stat().st_mode & 0o777 if path.exists() else _NEW_FILE_MODE)
            os.replace(temp, path)
        except OSError as error:
            raise WriteFailed(error, explain(error, path, temp.stat().st_size if temp.exists() else None)) from None
        _fsync_folder(path.parent)
    finally:
        temp.unlink(missing_ok=True)


def atomic_write_bytes(path: Path, data: bytes | bytearray | memoryview, parents: bool = False) -> None:
    """Replace ``path`` (through links) with ``data``; ``parents``: create missing folders.
    Raises :class:`WriteFailed`."""
    atomic_write_files([(path, data)], parents)


def atomic_write_text(path: Path, text: str, parents: bool = False) -> None:
    atomic_write_bytes(path, text.encode("utf-8", "surrogateescape"), parents)


def atomic_write_files(files: Iterable[tuple[Path, bytes | bytearray | memoryview]], parents: bool = False) -> None:
    """Write files that belong together (code and its weights): every temporary file is written
    and flushed first, then each is renamed over its target, so a full disk or an error while
    writing changes none of them. Only a crash between two renames (microseconds) can mix them."""
    prepared = [(_prepare(path, parents), data) for path, data in files]
    temps: list[Path] = []
    try:
        for path, data in prepared:
            temps.append(path.parent / temp_name(path))
            try:
                _write_temp(temps[-1], path, data)
            except OSError as error:
                raise WriteFailed(error, explain(error, path, sum(len(d) for _, d in prepared))) from None
        for temp, (path, data) in zip(temps, prepared):
            try:
                os.replace(temp, path)
            except OSError as error:
                raise WriteFailed(error, explain(error, path, len(data))) from None
            _fsync_folder(path.parent)
    finally:
        for temp in temps:
            temp.unlink(missing_ok=True)
