"""LiveText, the Training dock's progress line: a change repaints it and lays the window out
again only when the wrapped text needs another height (a QLabel lays it out on every change)."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from cnnstudio.gui.live_text import LiveText


class LayoutRequests(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt's name
        self.count += event.type() == QEvent.Type.LayoutRequest
        return False


WINDOWS: list[QWidget] = []  # kept while a test looks at its label


def layouts_after(qtbot, label: QWidget, texts: list[str]) -> int:  # noqa: ANN001
    """How often the label's window is laid out again while ``texts`` are shown one by one."""
    window = QWidget()
    qtbot.addWidget(window)
    WINDOWS.append(window)
    QVBoxLayout(window).addWidget(label)
    window.resize(600, 200)
    window.show()
    qtbot.waitExposed(window)
    qtbot.wait(20)  # the first layout is done
    requests = LayoutRequests()
    window.installEventFilter(requests)
    for text in texts:
        label.setText(text)
        qtbot.wait(5)
    return requests.count


def test_progress_of_one_line_lays_nothing_out_again_where_a_label_does(qtbot) -> None:  # noqa: ANN001
    lines = [f"Epoch 1 · step {step}/100 · loss {1 / step:.4g} · {900 + step} images/s" for step in range(1, 21)]
    assert layouts_after(qtbot, LiveText("Ready"), lines) == 0
    assert layouts_after(qtbot, QLabel("Ready", wordWrap=True), lines) > 0  # what it replaces


def test_a_line_that_wraps_gets_its_height(qtbot) -> None:  # noqa: ANN001
    text = LiveText("Ready")
    long = "Failed: " + "the training process ended unexpectedly " * 4
    assert layouts_after(qtbot, text, [long]) > 0
    assert text.text() == long and text.height() >= 3 * text.fontMetrics().height()
