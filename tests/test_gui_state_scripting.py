"""The scripting entry: docs/scripting.md's example runs as written (an nn.Module opened, trained,
its activations read from the state); a design path opens as File › Open does; a bad path raises
its sentence before any dialog."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

import cnnstudio.gui
from cnnstudio.core.designfile import DesignFileError
from cnnstudio.gui import main_window
from gui_fixtures import FIGURE21, answers, recovery_dir, settings  # noqa: F401

DOC = Path(__file__).parents[1] / "docs" / "scripting.md"


def test_the_documented_example_runs_as_written(monkeypatch, settings, recovery_dir, capsys) -> None:  # noqa: ANN001, F811
    monkeypatch.setattr(main_window, "Settings", lambda: settings)  # not the user's settings
    monkeypatch.setattr(main_window.autosave, "default_directory", lambda: recovery_dir)
    example = re.search(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.DOTALL).group(1)
    exec(compile(example, str(DOC), "exec"), {})  # noqa: S102 - our own documentation
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == "weights: Sequential.safetensors"
    assert re.fullmatch(r"weights: \S+, last accuracy \d+\.\d%", printed[1])
    assert printed[2] == "0 (8, 16, 16)"
    assert not [w for w in QApplication.topLevelWidgets() if isinstance(w, main_window.MainWindow) and w.isVisible()]


def test_a_path_opens_as_file_open_and_a_bad_one_raises_its_sentence(qtbot, settings, recovery_dir, answers,  # noqa: ANN001, F811
                                                                       tmp_path) -> None:
    studio = cnnstudio.gui.open(FIGURE21, show=False, settings=settings, recovery_dir=recovery_dir)
    qtbot.addWidget(studio.window)
    assert len(studio.state.design) == len(main_window.load_design(FIGURE21))
    assert studio.window.doc.path == FIGURE21.resolve() and str(FIGURE21.resolve()) in settings.recent_files
    assert studio.workspace == "design" and not studio.window.isVisible()
    studio.close()
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(DesignFileError):
        cnnstudio.gui.open(broken, show=False, settings=settings, recovery_dir=recovery_dir)
    assert answers.shown == []  # no dialog was asked to show it
