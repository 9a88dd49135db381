"""The import dialog's names list: kept in the user's cache by library versions, so it fills at once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cnnstudio.gui import import_dialog
from cnnstudio.gui.import_dialog import ImportDialog, cached_model_names, library_versions, model_names


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "cache" / "model-names.json"
    monkeypatch.setattr(import_dialog, "names_cache", lambda: path)
    monkeypatch.setattr("cnnstudio.importers.sources.torchvision_names", lambda: ["resnet18", "vgg11"])
    monkeypatch.setattr("cnnstudio.importers.sources.timm_names", lambda: ["convnext_atto"])
    return path


def test_the_names_are_kept_for_the_installed_versions_only(cache: Path) -> None:
    assert cached_model_names() is None
    names = model_names()
    assert names == ["torchvision:resnet18", "torchvision:vgg11", "timm:convnext_atto"]
    assert cached_model_names() == names
    data = json.loads(cache.read_text())
    assert data["versions"] == library_versions() and data["versions"]["torchvision"]
    for versions in ({**data["versions"], "torchvision": "0.0.1"}, {**data["versions"], "timm": None}):
        cache.write_text(json.dumps({**data, "versions": versions}))
        assert cached_model_names() is None  # another torchvision or timm: built again


@pytest.mark.parametrize("text", ["", "not json", "[]", '{"versions": 1}', '{"names": ["a"]}'])
def test_a_damaged_cache_is_ignored(cache: Path, text: str) -> None:
    cache.parent.mkdir(parents=True)
    cache.write_text(text)
    assert cached_model_names() is None
    data = {"versions": library_versions(), "names": [1, 2]}
    cache.write_text(json.dumps(data))
    assert cached_model_names() is None


def test_an_unwritable_cache_only_costs_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "file").write_text("")
    monkeypatch.setattr("cnnstudio.importers.sources.torchvision_names", lambda: ["resnet18"])
    monkeypatch.setattr("cnnstudio.importers.sources.timm_names", lambda: [])
    assert model_names(tmp_path / "file" / "names.json") == ["torchvision:resnet18"]


def test_the_dialog_fills_from_the_cache_at_once(cache: Path, qtbot, tmp_path: Path) -> None:  # noqa: ANN001
    model_names()
    dialog = ImportDialog(tmp_path)
    qtbot.addWidget(dialog)
    assert dialog.names_job is None  # nothing to wait for
    assert [dialog.list.item(i).text() for i in range(dialog.list.count())] == cached_model_names()
    dialog.search.setText("vgg")
    assert [dialog.list.item(i).text() for i in range(dialog.list.count()) if not dialog.list.item(i).isHidden()] == [
        "torchvision:vgg11"]


def test_without_a_cache_the_dialog_opens_at_once_and_fills_from_a_background_thread(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qtbot) -> None:  # noqa: ANN001
    """Building the names (seconds: importing torchvision and timm) never runs while the dialog
    opens: the dialog is usable with the names still held back, and they arrive from another thread."""
    import threading

    release, threads = threading.Event(), []

    def slow_names() -> list[str]:
        threads.append(threading.get_ident())
        assert release.wait(10), "the test never released the names"
        return ["resnet18", "vgg11"]

    monkeypatch.setattr(import_dialog, "names_cache", lambda: tmp_path / "cache" / "model-names.json")
    monkeypatch.setattr("cnnstudio.importers.sources.torchvision_names", slow_names)
    monkeypatch.setattr("cnnstudio.importers.sources.timm_names", lambda: [])
    dialog = ImportDialog(tmp_path)  # returns while slow_names waits: it is not called on this thread
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.list.count() == 0 and "Loading the model names" in dialog.status.text()
    dialog.search.setText("vgg")  # typing works meanwhile
    assert threading.get_ident() not in threads
    release.set()
    qtbot.waitUntil(lambda: dialog.list.count() == 2, timeout=10_000)
    assert threads and threads[0] != threading.get_ident()
    assert [dialog.list.item(i).text() for i in range(2) if not dialog.list.item(i).isHidden()] == ["torchvision:vgg11"]
