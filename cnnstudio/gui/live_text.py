"""A label for text that changes several times a second, such as a run's progress line.

``QLabel.setText`` asks the layout to run again on every change, and through each parent up to the
main window, which lays out every dock anew (and animates the docks' geometry): measured while a
run trained, the progress line alone made the window lay itself out five times a second. A
:class:`LiveText` repaints itself on a change and asks for a layout only when the wrapped text
needs another height.
"""

from __future__ import annotations

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QSizePolicy, QWidget

FLAGS = Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop


class LiveText(QWidget):
    """Plain, word-wrapped text; ``setText`` and ``text`` as a QLabel's."""

    def __init__(self, text: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self._text = text
        policy = QSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:  # noqa: N802 - as QLabel's
        if text == self._text:
            return
        resized = self._height(self._text, self.width()) != self._height(text, self.width())
        self._text = text
        if resized:
            self.updateGeometry()
        self.update()

    def _height(self, text: str, width: int) -> int:
        return self.fontMetrics().boundingRect(QRect(0, 0, max(width, 1), 1 << 20), FLAGS, text or " ").height()

    def hasHeightForWidth(self) -> bool:  # noqa: N802 - Qt's name
        return True

    def heightForWidth(self, width: int) -> int:  # noqa: N802 - Qt's name
        return self._height(self._text, width)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt's name; a width that does not follow the text
        return QSize(200, self.fontMetrics().height())

    def minimumSizeHint(self) -> QSize:  # noqa: N802 - Qt's name
        return QSize(40, self.fontMetrics().height())

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt's name
        painter = QPainter(self)
        painter.setPen(self.palette().color(self.foregroundRole()))
        painter.drawText(self.rect(), FLAGS, self._text)
