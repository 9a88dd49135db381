"""Saved designs take their name from the file unless the user named them; one "CNN Studio"
in the studio's data paths."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QStandardPaths
from PySide6.QtWidgets import QApplication

from cnnstudio.core.designfile import load_design
from cnnstudio.gui.app import name_application
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import FIGURE21, answers, recovery_dir, settings, window  # noqa: F401


def test_an_untitled_design_takes_the_files_name(window: MainWindow, tmp_path: Path) -> None:  # noqa: F811
    window.editor.add_layer("Input", window.view.mapToScene(100, 100))
    assert window.save_to(tmp_path / "my_net.json")
    assert load_design(tmp_path / "my_net.json").name == "my_net"
    assert window.save_to(tmp_path / "renamed.json")  # named after its file: follows it
    assert load_design(tmp_path / "renamed.json").name == "renamed"


def test_a_design_the_user_named_keeps_its_name(window: MainWindow, tmp_path: Path) -> None:  # noqa: F811
    window.open_path(FIGURE21, ask=False)
    named = window.doc.design.name
    assert named != FIGURE21.stem
    assert window.save_to(tmp_path / "copy.json")
    assert load_design(tmp_path / "copy.json").name == named


def test_one_cnn_studio_in_the_data_paths(qapp) -> None:  # noqa: ANN001
    app = QApplication.instance()
    before = app.organizationName(), app.applicationName()
    try:
        name_application(app)
        folder = Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation))
        assert folder.name == "CNN Studio" and "CNN Studio" not in folder.parent.parts
    finally:
        app.setOrganizationName(before[0])
        app.setApplicationName(before[1])
