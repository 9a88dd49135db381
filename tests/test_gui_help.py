"""Help: the documentation pages in a viewer, a searchable list of every shortcut, first steps."""

from __future__ import annotations

from cnnstudio.gui.help import PAGES, ShortcutsDialog, shortcuts
from cnnstudio.gui.main_window import MainWindow
from gui_fixtures import answers, recovery_dir, settings, window  # noqa: F401


def test_help_menu_has_documentation_shortcuts_and_first_steps(window: MainWindow) -> None:  # noqa: F811
    help_menu = window.menuBar().actions()[-1].menu()
    texts = [a.text().replace("&", "") for a in help_menu.actions() if a.text()]
    assert texts[:3] == ["First Steps", "Documentation", "Keyboard Shortcuts"]


def test_first_steps_walks_through_template_training_and_views(window: MainWindow) -> None:  # noqa: F811
    viewer = window.show_help("First steps")
    text = viewer.browser.toPlainText()
    assert viewer.isVisible() and viewer.browser.source().path().endswith("docs/first-steps.md")
    for step in ("New from Template", "Start", "Activations", "Predictions"):
        assert step in text
    viewer.close()


def test_every_page_exists_and_links_between_pages_follow(window: MainWindow) -> None:  # noqa: F811
    assert all(path.exists() for _, path in PAGES)
    viewer = window.show_help("The studio")
    assert "The studio window" in viewer.browser.toPlainText()
    viewer.browser.setSource(viewer.browser.source().resolved("training.md"))
    assert viewer.pages.currentItem().text() == "Training"
    viewer.close()


def test_shortcuts_list_every_action_shortcut_and_filters(window: MainWindow) -> None:  # noqa: F811
    listed = shortcuts(window)
    keys = {key for s in listed for key in s.keys.split(", ")}
    assert {"Ctrl+Z", "Ctrl+S", "F5", "Ctrl+L", "Ctrl+/"} <= keys
    assert any(s.what == "Insert it into the connection" for s in listed)
    dialog = ShortcutsDialog(window)
    dialog.search.setText("zoom")
    rows = dialog.visible_rows()
    assert rows and all("zoom" in (k + w).lower() for k, w in rows)
    dialog.search.setText("ctrl+s")
    assert ("Ctrl+S", "Save") in dialog.visible_rows()
    dialog.deleteLater()
