"""The dataset browser: grid, histogram, class filter, pages, augmentation preview that follows the
settings, boxes and masks for their tasks, and streaming sources read a page at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from cnnstudio.core.resources import TEMPLATES
from cnnstudio.gui.dataset_browser import PAGE, DatasetBrowser
from cnnstudio.gui.main_window import MainWindow
from cnnstudio.gui.training.form import SetTraining
from cnnstudio.training.data.files import FileSource
from gui_fixtures import FIGURE21, answers, recovery_dir, settings, window  # noqa: F401 - fixtures
from test_training_splits import write_idx


def browse(win: MainWindow, design: Path, qtbot, **training) -> DatasetBrowser:  # noqa: ANN001
    assert win.open_path(design, ask=False)
    win.doc.design.training = {**win.doc.design.training, **training}
    win.show_dataset_browser()
    browser = win.dataset_browser
    qtbot.waitUntil(lambda: browser.grid.count() > 0, timeout=20_000)
    return browser


def grid_samples(browser: DatasetBrowser) -> list:
    return [browser.grid.item(k).data(0x0100) for k in range(browser.grid.count())]


def preview_images(browser: DatasetBrowser) -> list:
    return [tile.pixmap().toImage() for tile in browser.tiles]


def test_grid_histogram_filter_and_pages_on_mnist_files(window, qtbot, tmp_path: Path) -> None:
    train_labels = write_idx(tmp_path, "train", 130)
    val_labels = write_idx(tmp_path, "t10k", 20, first_label=1)
    browser = browse(window, FIGURE21, qtbot, data=f"idx:{tmp_path}")
    assert browser.histogram.counts == {"training": torch.bincount(train_labels, minlength=3).tolist(),
                                        "validation": torch.bincount(val_labels, minlength=3).tolist()}
    assert "the t10k-* files (20 samples)" in browser.status.text()
    assert browser.grid.count() == PAGE and browser.page_label.text() == f"1–{PAGE} of 130"
    browser.next.click()
    qtbot.waitUntil(lambda: browser.page_label.text() == f"{PAGE + 1}–{2 * PAGE} of 130")
    qtbot.waitUntil(lambda: [s.index for s in grid_samples(browser)[:1]] == [PAGE])
    browser.label_filter.setCurrentIndex(3)  # class 2
    qtbot.waitUntil(lambda: browser.grid.count() == int((train_labels == 2).sum()))
    assert {s.label for s in grid_samples(browser)} == {2} and browser.histogram.selected == 2
    browser.part.setCurrentIndex(1)  # validation
    qtbot.waitUntil(lambda: browser.grid.count() == int((val_labels == 2).sum()))
    browser.histogram.class_clicked.emit(0)  # a click on the first class's bars
    qtbot.waitUntil(lambda: browser.label_filter.currentIndex() == 1 and [s.label for s in grid_samples(browser)[:1]] == [0])


def test_augmentation_preview_regenerates_and_follows_the_settings(window, qtbot) -> None:
    browser = browse(window, FIGURE21, qtbot, augment={"rotation": 40, "shift": 0.2})
    qtbot.waitUntil(lambda: not browser.tiles[1].pixmap().isNull(), timeout=20_000)
    assert "shift 0.2, rotation 40" in browser.augment_text.text()
    first = preview_images(browser)
    assert first[1] != first[0] and first[1] != first[2]  # the copies differ from the sample and each other
    browser.regenerate.click()
    qtbot.waitUntil(lambda: preview_images(browser)[1:] != first[1:])
    assert preview_images(browser)[0] == first[0]  # the sample itself stays
    doc = window.doc
    doc.push(SetTraining(doc, {**doc.design.training, "augment": {}}, "augment"))
    qtbot.waitUntil(lambda: "augmentation is off" in browser.augment_text.text())
    qtbot.waitUntil(lambda: all(image == preview_images(browser)[0] for image in preview_images(browser)))


@pytest.mark.parametrize(("template", "task", "boxes", "masks"), [
    ("figure21", "classification", False, False), ("yolo_grid", "detection", True, False),
    ("unet_small", "segmentation", False, True)])
def test_boxes_and_masks_are_drawn_for_their_tasks(window, qtbot, template: str, task: str, boxes: bool,
                                                   masks: bool) -> None:
    browser = browse(window, TEMPLATES / f"{template}.json", qtbot, task=task)
    sample = grid_samples(browser)[0]
    assert (sample.boxes is not None, sample.mask is not None) == (boxes, masks)


def test_a_streaming_folder_is_read_a_page_at_a_time(window, qtbot, tmp_path: Path, monkeypatch) -> None:
    root = tmp_path / "images"  # tmp_path also holds the window's settings and recovery folder
    for name, level in (("dark", 30), ("light", 220)):
        (root / name).mkdir(parents=True)
        for i in range(90):
            Image.new("L", (12, 12), level).save(root / name / f"{i:03d}.png")
    (root / "dark" / "000.png").write_bytes(b"\x89PNG\r\n\x1a\nbroken")
    reads: list[int] = []
    original = FileSource.read

    def counted(self, index):  # noqa: ANN001, ANN202
        reads.append(len(index))
        return original(self, index)

    monkeypatch.setattr(FileSource, "read", counted)
    browser = browse(window, FIGURE21, qtbot, data=f"folder:{root}", validation="last")
    assert browser.histogram.counts == {"training": [90, 54], "validation": [0, 36]}
    assert browser.browsing.streaming
    assert max(reads) <= PAGE and sum(reads) < 180
    assert "dark/000.png" in browser.status.text() and browser.grid.count() == PAGE - 1
