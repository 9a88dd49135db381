"""Issue 13 item 2: recovery files are keyed by a unique id per studio instance, not by process
id; a studio that gets a crashed studio's pid still offers its file; no studio deletes a file it
did not write."""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtWidgets import QMessageBox

from cnnstudio.core.designfile import load_design, to_dict
from cnnstudio.gui.autosave import AutoSaver, ProcessLock, claim_orphan
from cnnstudio.gui.document import Document
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import FIGURE21, answers, recovery_dir, settings  # noqa: F401

Button = QMessageBox.StandardButton


def _crashed_file(directory: Path, name: str) -> Path:
    """What a studio that crashed leaves: a recovery file and its lock file, the lock released."""
    directory.mkdir(parents=True, exist_ok=True)
    design = load_design(FIGURE21)
    design.name = "Crashed work"
    file = directory / f"{name}.json"
    file.write_text(json.dumps({"format": "cnnstudio-recovery", "source": None, "saved": "2026-01-01T10:00:00",
                                "design": to_dict(design)}))
    # The old QLockFile format: the pid of the crashed studio, which is now ours.
    file.with_suffix(".lock").write_text(f"{os.getpid()}\ncnnstudio\nlocalhost\n")
    return file


def test_two_instances_in_one_process_have_their_own_files(qtbot, recovery_dir: Path) -> None:  # noqa: F811
    first, second = Document(), Document()
    a, b = AutoSaver(first, recovery_dir), AutoSaver(second, recovery_dir)
    assert a.path != b.path
    b.path.write_text("{}")  # b's autosave
    a.close()
    assert b.path.exists()
    assert claim_orphan(recovery_dir) is None  # b is running: its file is not an orphan
    b.close()


def test_a_crashed_studio_with_our_pid_is_offered(qtbot, settings, recovery_dir: Path, answers) -> None:  # noqa: F811
    crashed = _crashed_file(recovery_dir, f"recovery-{os.getpid()}")
    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    answers.queue.append(Button.Yes)
    win.start(None)
    assert "Crashed work" in answers.shown[-1]
    assert win.doc.design.name == "Crashed work"
    assert not crashed.exists()  # answered: the offered file is done with
    win.doc.undo_stack.setClean()
    win.close()


def test_a_normal_close_never_deletes_another_studios_file(qtbot, settings, recovery_dir: Path, answers) -> None:  # noqa: F811
    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    crashed = _crashed_file(recovery_dir, f"recovery-{os.getpid()}")  # appears while this studio runs
    unreadable = recovery_dir / "recovery-0123.json"
    unreadable.write_text("not json")
    win.close()
    assert crashed.exists() and unreadable.exists()
    recovery = claim_orphan(recovery_dir)
    assert recovery is not None and recovery.file == crashed
    assert claim_orphan(recovery_dir) is None  # claimed: not offered twice at once
    recovery.release()
    assert unreadable.exists()  # unreadable, not ours: left alone


def test_the_lock_excludes_other_instances_of_this_process(tmp_path: Path) -> None:
    first, second = ProcessLock(tmp_path / "x.lock"), ProcessLock(tmp_path / "x.lock")
    assert first.acquire() and not second.acquire()
    first.release()
    assert second.acquire()
    second.release(remove=True)
    assert not (tmp_path / "x.lock").exists()
