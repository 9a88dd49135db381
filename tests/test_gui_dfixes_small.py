"""Issue 23, D16-D19: the Inspector wraps long text inside its panel, the Embeddings classes sit
beside the plot (not over the points), the shortcuts dialog shows its third column whole, a fix
that breaks another layer is one sentence with one full stop, and the import dialog counts what
the search leaves; the rename dialog (D19) shows its title and the whole old name."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from PySide6.QtWidgets import QLabel

from cnnstudio.gui.help import ShortcutsDialog
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import answers, figure21, recovery_dir, settings, window  # noqa: F401


@pytest.mark.parametrize("width", [250, 320])
def test_the_inspector_never_widens_past_its_panel(figure21, qtbot, width: int) -> None:  # noqa: F811
    win = figure21
    win.select_node("conv3")
    win.inspector.editors["kernel_size"].spins[0].setValue(11)  # a problem, a fix note and formulas
    win.inspector.setFixedWidth(width)
    qtbot.wait(50)  # the layouts settle
    viewport = win.inspector.viewport().width()
    assert win.inspector.body.width() <= viewport
    for label in win.inspector.live.findChildren(QLabel):
        right = label.mapTo(win.inspector.viewport(), label.rect().topRight()).x()
        assert right <= viewport, label.text()


def test_a_fix_note_ends_with_one_full_stop(figure21) -> None:  # noqa: F811
    win = figure21
    win.select_node("conv3")
    win.inspector.editors["kernel_size"].spins[0].setValue(11)
    note = win.inspector.live.findChild(QLabel, "fix-breaks").text()
    assert note.endswith(".") and not note.endswith("..")


def test_the_shortcuts_dialogs_third_column_is_whole(window: MainWindow, qtbot) -> None:  # noqa: F811
    dialog = ShortcutsDialog(window)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    header, table = dialog.table.header(), dialog.table
    metrics = table.fontMetrics()
    widest = max(metrics.horizontalAdvance(table.topLevelItem(i).text(2)) for i in range(table.topLevelItemCount()))
    assert header.sectionSize(2) >= widest
    assert header.sectionViewportPosition(2) + header.sectionSize(2) <= table.viewport().width()


def test_the_import_dialog_counts_what_the_search_leaves(window: MainWindow, qtbot, tmp_path: Path,  # noqa: F811
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from cnnstudio.gui import import_dialog

    names = ["torchvision:resnet18", "torchvision:resnet50", "torchvision:vgg16", "timm:resnet18d"]
    monkeypatch.setattr(import_dialog, "cached_model_names", lambda: None)  # as on a first start: listed anew
    monkeypatch.setattr(import_dialog, "model_names", lambda: names)
    dialog = import_dialog.ImportDialog(tmp_path, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == len(names))
    assert ">4 models." in dialog.status.text()
    dialog.search.setText("resnet 18")
    assert "2 of 4 models match 'resnet 18'" in dialog.status.text()
    dialog.search.setText("nothing")
    assert "0 of 4 models" in dialog.status.text()
    dialog.search.setText("")
    assert ">4 models." in dialog.status.text()


def test_the_embeddings_classes_are_beside_the_plot(qtbot) -> None:
    from types import SimpleNamespace

    import torch

    from cnnstudio.gui.views.embeddings import Embeddings

    view = Embeddings()
    qtbot.addWidget(view)
    view.resize(700, 400)
    view.show()
    embedding = SimpleNamespace(points=torch.randn(30, 2), features=torch.randn(30, 4), labels=torch.arange(30) % 3,
                                images=torch.zeros(30, 1, 4, 4), node="fc")
    view.show_snapshot(SimpleNamespace(step=1, epoch=1, embedding=embedding),
                       SimpleNamespace(task="metric", class_name=lambda c: f"class {c}"))
    assert all(f"class {c}" in view.legend.text() for c in range(3))
    assert not view.plot.getPlotItem().legend  # nothing drawn over the points
    plot = view.plot.geometry()
    legend = view.legend.geometry().translated(view.legend.parentWidget().mapTo(view.plot.parentWidget(), view.legend.pos()) - view.legend.pos())
    assert not plot.intersects(legend)


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kind=st.sampled_from(["Run", "Group"]),
       old=st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Mn", "Me", "Cf")),
                   min_size=1, max_size=60))
def test_the_rename_dialog_shows_its_title_and_the_whole_old_name(qtbot, kind: str, old: str) -> None:
    from PySide6.QtWidgets import QLineEdit

    from cnnstudio.gui.rename_dialog import TITLE_BAR, WIDEST, rename_dialog

    dialog = rename_dialog(None, kind, old)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.windowTitle() == f"Rename {kind}" and old in dialog.labelText()
    field = dialog.findChild(QLineEdit)
    assert field.text() == old
    if field.fontMetrics().horizontalAdvance(old) + 40 < WIDEST - 60:  # a name that fits is shown whole
        assert field.contentsRect().width() >= field.fontMetrics().horizontalAdvance(old)
    assert dialog.width() >= dialog.fontMetrics().horizontalAdvance(dialog.windowTitle()) + TITLE_BAR
    dialog.reject()
