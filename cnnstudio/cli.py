"""The ``cnnstudio`` command: opens the studio, or runs a headless command (check, train, ...).

Every command is a module in :mod:`cnnstudio.commands` with ``configure(parser)`` and
``run(args) -> exit status``; it is imported only when used, so ``cnnstudio check`` never waits
for torch or Qt. No command lets a traceback reach the user (set CNNSTUDIO_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import errno
import importlib
import os
import sys
from collections.abc import Sequence

COMMANDS = {
    "check": "Validate a design and print every layer's shape, parameters and problems.",
    "export": "Write a design as standalone PyTorch code, TorchScript, torch.export, ONNX or safetensors.",
    "import": "Import a torchvision, timm, PyTorch, ONNX or torch.export model as a design with its weights.",
    "runs": "List a design's training runs (best and final metric, status, what changed), or --json.",
    "profile": "Time each layer's forward and backward pass and size its output, as the studio's overlay shows.",
    "train": "Train a design headless: progress, metrics.jsonl and checkpoints (Ctrl-C stops with a checkpoint).",
    "sweep": "Train a design many times with other layer parameters or settings (Optuna); workers share a sweep.",
    "sweeps": "List a design's sweeps: their trials, values, metric and best trial, or --json.",
    "stylize": "Gatys style transfer with a design's layers: the content of one image in the style of another.",
    "visualize": "What a layer's filters look for: the image that most excites each channel, as a PNG grid.",
}

EXIT_INTERRUPTED = 130
EXIT_NO_DISPLAY = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, as shell tools report it
EXIT_INTERNAL = 3
EXIT_FAILED = 1  # what every command returns when it did not do its work (the message says why)
_OUTPUT_ERRORS = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)  # writing stdout itself failed


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; given ``command``, only that command's module is imported (others may
    import torch, and ``cnnstudio check`` must not wait for it)."""
    parser = argparse.ArgumentParser(
        prog="cnnstudio",
        description="Design, train and look inside convolutional neural networks. "
        "Without a command, opens the studio (with DESIGN if given).",
    )
    from cnnstudio import __version__

    parser.add_argument("--version", action="version", version=f"CNN Studio {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, help_text in COMMANDS.items():
        sub = commands.add_parser(name, help=help_text, description=help_text)
        if command in (None, name):
            importlib.import_module(f"cnnstudio.commands.{name}").configure(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):  # any text prints, even to an ASCII terminal
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        if argv and (argv[0] in COMMANDS or argv[0] in ("-h", "--help", "--version")):
            args = _parser(argv[0] if argv[0] in COMMANDS else None).parse_args(argv)
            refused = _special_output(args)
            if refused:
                print(f"cnnstudio {args.command}: {refused}", file=sys.stderr)
                return EXIT_FAILED
            status = importlib.import_module(f"cnnstudio.commands.{args.command}").run(args)
            sys.stdout.flush()  # here, not at exit: a full disk behind stdout is then a sentence too
            return status
        return _open_studio(argv)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader left early (`cnnstudio check X | head`): not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_BROKEN_PIPE
    except OSError as error:
        if error.errno not in _OUTPUT_ERRORS or error.filename is not None:
            return _internal(error)
        # stdout on a full disk (`cnnstudio check X > /dev/full`): a sentence on stderr
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        print(f"cnnstudio: the output could not be written: {error.strerror}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # a bug of ours: say so plainly, never a traceback
        return _internal(error)


def _internal(error: Exception) -> int:
    """A bug of ours: said plainly, never a traceback."""
    if os.environ.get("CNNSTUDIO_DEBUG"):
        raise error
    print(f"cnnstudio: internal error: {type(error).__name__}: {error}", file=sys.stderr)
    print("Please report it; run with CNNSTUDIO_DEBUG=1 for the details.", file=sys.stderr)
    return EXIT_INTERNAL


def _special_output(args: argparse.Namespace) -> str | None:
    """Why a command's ``-o`` may not be written (a device, pipe, socket or folder), checked before
    any work; the atomic writer checks again when it writes (:mod:`cnnstudio.core.regular`)."""
    from pathlib import Path

    from cnnstudio.core.regular import refuse_special_output

    output = getattr(args, "output", None)
    return refuse_special_output(Path(output)) if output is not None else None


def _no_display() -> bool:
    """On Linux, Qt cannot start without an X or Wayland display, and its own message misleads."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _open_studio(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cnnstudio", add_help=False)
    parser.add_argument("design", nargs="?")
    args, rest = parser.parse_known_args(argv)
    if rest:
        _parser().parse_args(argv)  # prints usage and exits 2 on unknown arguments
    if _no_display():
        print("cnnstudio: no display to open the studio on (neither DISPLAY nor WAYLAND_DISPLAY is set). "
              "Run it in a desktop session, or use the headless commands: cnnstudio check, train, export "
              "(cnnstudio --help).", file=sys.stderr)
        return EXIT_NO_DISPLAY
    from cnnstudio.gui.platform_check import check_platform

    missing = check_platform()  # before any Qt GUI module: Qt would abort with a misleading message
    if missing:
        print(missing, file=sys.stderr)
        return EXIT_NO_DISPLAY
    from cnnstudio.gui.app import run_studio

    return run_studio(args.design)
