"""Files in the studio: save and reopen, templates, recent files, unsaved-changes prompts,
crash recovery from the autosave, and settings that persist between sessions."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QMessageBox

from cnnstudio.core.designfile import load_design
from cnnstudio.core.resources import templates
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import FIGURE21, TEMPLATES_DIR, answers, figure21, recovery_dir, settings, snapshot, window  # noqa: F401

Button = QMessageBox.StandardButton


def test_save_and_reopen_gives_the_same_design(figure21, tmp_path: Path) -> None:  # noqa: ANN001, F811
    win = figure21
    win.editor.set_param("conv1", "out_channels", 8)
    assert win.windowTitle() == "figure21.json[*] — CNN Studio" and win.isWindowModified()
    target = tmp_path / "mine.json"
    assert win.save_to(target)
    assert not win.isWindowModified() and win.windowTitle() == "mine.json[*] — CNN Studio"
    saved = snapshot(win)
    assert load_design(target).node("conv1").params["out_channels"] == 8
    win.new_design()
    assert len(win.doc.design) == 0
    assert win.open_path(target)
    assert snapshot(win) == saved and not win.isWindowModified()
    assert win.settings.recent_files[0] == str(target.resolve())


def test_every_template_is_listed_by_name_and_opens_valid(window) -> None:  # noqa: ANN001, F811
    found = templates()
    assert {"figure21.json", "residual.json", "inception.json"} <= {t.path.name for t in found}
    window._fill_templates()
    labels = [a.text() for a in window.templates_menu.actions()]
    assert labels == [t.name for t in found]
    for template in found:
        action = next(a for a in window.templates_menu.actions() if a.text() == template.name)
        action.trigger()
        assert window.doc.path is None and len(window.doc.design) > 0
        assert window.doc.analysis.valid, (template.name, window.doc.analysis.errors)
        assert all(node.pos is not None for node in window.doc.design.nodes)


def test_new_from_template_lists_any_json_dropped_in_the_folder(qtbot, settings, recovery_dir, answers, tmp_path: Path) -> None:  # noqa: ANN001, F811
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "mine.json").write_text(FIGURE21.read_text().replace("Figure 21 MNIST CNN", "My template"))
    win = MainWindow(settings, recovery_dir=recovery_dir, templates_dir=folder, probe_device=False)
    qtbot.addWidget(win)
    win._fill_templates()
    assert [a.text() for a in win.templates_menu.actions()] == ["My template"]


def test_a_design_without_positions_is_laid_out(window, tmp_path: Path) -> None:  # noqa: ANN001, F811
    data = json.loads(FIGURE21.read_text())
    for node in data["nodes"]:
        del node["pos"]
    path = tmp_path / "nopos.json"
    path.write_text(json.dumps(data))
    assert window.open_path(path)
    places = [window.doc.design.node(n).pos for n in window.doc.analysis.order]  # read in rows, as text is
    assert places == sorted(places, key=lambda p: (p[1], p[0])) and len(set(places)) == len(places)
    assert not window.isWindowModified()


def test_an_unreadable_design_shows_a_message_not_a_traceback(window, answers, tmp_path: Path) -> None:  # noqa: ANN001, F811
    path = tmp_path / "broken.json"
    path.write_text('{"format": "cnnstudio-design", "version": 1, "nodes": [')
    assert not window.open_path(path)
    assert "truncated" in answers.shown[-1]
    assert len(window.doc.design) == 0


def test_closing_with_unsaved_changes_asks(figure21, answers) -> None:  # noqa: ANN001, F811
    win = figure21
    win.editor.set_frozen("fc1", True)
    answers.queue.append(Button.Cancel)
    assert not win.close() and win.isVisible()
    assert "Save the changes to “figure21.json”" in answers.shown[-1]
    answers.queue.append(Button.Discard)
    assert win.close()


def test_opening_another_design_asks_before_dropping_changes(figure21, answers) -> None:  # noqa: ANN001, F811
    win = figure21
    win.editor.add_layer("ReLU", QPointF(0, 500))
    answers.queue.append(Button.Cancel)
    win.new_design()
    assert len(win.doc.design) == 15


def test_geometry_docks_and_view_settings_persist(qtbot, settings, recovery_dir, answers) -> None:  # noqa: ANN001, F811
    first = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(first)
    first.show()
    summary_toggle = next(a for a in first.panels_menu.actions() if a.text() == "Summary")
    summary_toggle.trigger()
    first.act_channels_last.trigger()
    first.close()
    second = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(second)
    second.show()
    assert not next(a for a in second.panels_menu.actions() if a.text() == "Summary").isChecked()
    assert not second.act_channels_last.isChecked() and second.settings.channels_last is False
    second.close()


CRASH = """
import os, sys
from pathlib import Path
from PySide6.QtCore import QCoreApplication
from cnnstudio.core.designfile import load_design
from cnnstudio.gui.autosave import AutoSaver
from cnnstudio.gui.commands import SetParams
from cnnstudio.gui.document import Document
app = QCoreApplication([])
doc = Document()
doc.load(load_design(sys.argv[1]), Path(sys.argv[1]))
saver = AutoSaver(doc, Path(sys.argv[2]))
doc.push(SetParams(doc, "conv1", {"out_channels": 7}))
saver.save_now()
os._exit(1)  # a crash: no clean-up, the lock stays behind
"""


def test_autosave_is_offered_after_a_crash_and_restores(qtbot, settings, recovery_dir, answers, tmp_path: Path) -> None:  # noqa: ANN001, F811
    own = tmp_path / "own.json"
    own.write_bytes(FIGURE21.read_bytes())
    crashed = subprocess.run([sys.executable, "-c", textwrap.dedent(CRASH), str(own), str(recovery_dir)], timeout=60)
    assert crashed.returncode == 1
    assert own.read_bytes() == FIGURE21.read_bytes()  # the autosave never touches the user's file
    assert list(recovery_dir.glob("recovery-*.json"))

    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    answers.queue.append(Button.Yes)
    win.start(None)
    assert "did not close properly" in answers.shown[-1] and "own.json" in answers.shown[-1]
    assert win.doc.design.node("conv1").params["out_channels"] == 7
    assert win.doc.path == own.resolve() and win.isWindowModified()
    assert load_design(own).node("conv1").params["out_channels"] == 6
    win.doc.undo_stack.setClean()
    win.close()
    assert not list(recovery_dir.glob("recovery-*.json"))  # a clean close leaves nothing


def test_declining_a_restore_discards_it_and_opens_the_design(qtbot, settings, recovery_dir, answers, tmp_path: Path) -> None:  # noqa: ANN001, F811
    subprocess.run([sys.executable, "-c", textwrap.dedent(CRASH), str(FIGURE21), str(recovery_dir)], timeout=60)
    win = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(win)
    answers.queue.append(Button.No)
    win.start(TEMPLATES_DIR / "residual.json")
    assert "block" in win.doc.design and not win.isWindowModified()
    assert not [f for f in recovery_dir.glob("recovery-*.json") if f != win.autosaver.path]
    win.close()


def test_a_running_studios_autosave_is_not_offered(figure21, qtbot, settings, recovery_dir, answers) -> None:  # noqa: ANN001, F811
    figure21.editor.set_param("conv1", "out_channels", 9)
    figure21.autosaver.save_now()
    assert figure21.autosaver.path.exists()
    other = MainWindow(settings, recovery_dir=recovery_dir, probe_device=False)
    qtbot.addWidget(other)
    assert not other.offer_recovery() and not answers.shown
    other.close()


def test_open_recent_lists_opened_files_and_reopens_them(window, tmp_path: Path) -> None:  # noqa: ANN001, F811
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_bytes(FIGURE21.read_bytes())
    second.write_bytes((TEMPLATES_DIR / "residual.json").read_bytes())
    assert window.open_path(first) and window.open_path(second)
    window._fill_recent()
    actions = [a for a in window.recent_menu.actions() if a.text() in ("a.json", "b.json")]
    assert [a.text() for a in actions] == ["b.json", "a.json"]
    actions[1].trigger()
    assert window.doc.path == first.resolve() and "conv1" in window.doc.design
