"""File > Export… (in the background, errors as sentences) and File > Export Training Job…."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QApplication

from cnnstudio.gui.export_dialog import ExportDialog, TrainingJobDialog
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401
from training_helpers import classifier


def test_export_has_a_menu_entry_and_ctrl_e(window: MainWindow) -> None:  # noqa: F811
    assert window.act_export.shortcut() == QKeySequence("Ctrl+E")
    file_menu = window.menuBar().actions()[0].menu()
    assert window.act_export in file_menu.actions() and window.act_export_job in file_menu.actions()


def test_the_export_dialog_writes_code_in_the_background(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001, F811
    window.show_design(classifier(), None)
    dialog = ExportDialog(window.doc, None, window)
    qtbot.addWidget(dialog)
    dialog.format.setCurrentIndex(dialog.format.findData("onnx"))
    assert dialog.target.text().endswith("tiny.onnx")
    dialog.format.setCurrentIndex(dialog.format.findData("code"))
    assert dialog.target.text().endswith("tiny.py")
    dialog.target.setText(str(tmp_path / "tiny.py"))
    with qtbot.waitSignal(dialog.export().done, timeout=60_000):
        assert dialog.busy.isVisibleTo(dialog) and not dialog.export_button.isEnabled()
    assert "class" in (tmp_path / "tiny.py").read_text()
    assert "Wrote" in dialog.result.text() and dialog.export_button.isEnabled()


def test_an_export_failure_is_a_sentence(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001, F811
    window.show_design(classifier(), None)
    dialog = ExportDialog(window.doc, str(tmp_path / "missing.pt"), window)
    qtbot.addWidget(dialog)
    dialog.target.setText(str(tmp_path / "tiny.py"))
    with qtbot.waitSignal(dialog.export().failed, timeout=60_000):
        pass
    assert "Export failed" in dialog.result.text() and "no such file" in dialog.result.text()
    assert "Traceback" not in dialog.result.text() and not (tmp_path / "tiny.py").exists()


def test_export_training_job_writes_the_folder_and_shows_the_command(window: MainWindow, qtbot, tmp_path: Path) -> None:  # noqa: ANN001, F811
    window.show_design(classifier(), None)
    dialog = TrainingJobDialog(window.doc, window)
    qtbot.addWidget(dialog)
    dialog.folder.setText(str(tmp_path / "job"))
    dialog.processes.setCurrentText("many")
    assert not dialog.write() and "must be a number" in dialog.result.text()
    dialog.processes.setCurrentText("2")
    assert dialog.write()
    assert {p.name for p in (tmp_path / "job").iterdir()} >= {"design.json", "run.sh", "README.txt"}
    assert "--nproc-per-node 2" in dialog.command.text() and dialog.command.isVisibleTo(dialog)
    dialog.copy.click()
    assert QApplication.clipboard().text() == dialog.command.text()
