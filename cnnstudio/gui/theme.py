"""The look: Fusion with a light or dark palette following the system, and the canvas colours.

Every colour the studio paints with comes from :func:`colors`, derived from the application palette,
so switching the system between light and dark restyles the canvas, the palette dock and the
summary alike. Category colours are tuned per scheme to stay readable on either background.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QApplication

CATEGORY_COLORS = {  # (light scheme, dark scheme)
    "input": ("#0f8f7e", "#3cc9b4"),
    "convolution": ("#2f63c8", "#6b9cf5"),
    "pooling": ("#7446c2", "#a987e8"),
    "dense": ("#d0662a", "#f2995e"),
    "activation": ("#2e8f4f", "#5fcb85"),
    "normalization": ("#b83c8f", "#e47bc1"),
    "merge": ("#5a6b82", "#9aaac0"),
    "blocks": ("#946024", "#d39b5a"),
    "group": ("#6b7d12", "#b5c94a"),  # group cards and frames on the canvas
}


@dataclass(frozen=True)
class Colors:
    dark: bool
    canvas: QColor
    grid_minor: QColor
    grid_major: QColor
    node_fill: QColor
    node_border: QColor
    text: QColor
    muted: QColor
    selection: QColor
    edge: QColor
    label_fill: QColor
    error: QColor
    error_fill: QColor
    warning: QColor
    warning_fill: QColor
    ok: QColor

    def category(self, name: str) -> QColor:
        light, dark = CATEGORY_COLORS.get(name, ("#777777", "#aaaaaa"))
        return QColor(dark if self.dark else light)

    def severity(self, severity: str | None) -> QColor | None:
        return {"error": self.error, "warning": self.warning}.get(severity or "")


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def colors() -> Colors:
    palette = QGuiApplication.palette()
    return _colors(is_dark(palette), palette.color(QPalette.ColorRole.Highlight).name())


@lru_cache(maxsize=4)
def _colors(dark: bool, highlight: str) -> Colors:
    if dark:
        return Colors(
            dark=True,
            canvas=QColor("#1e2127"),
            grid_minor=QColor("#262a31"),
            grid_major=QColor("#2f343c"),
            node_fill=QColor("#2b3038"),
            node_border=QColor("#414854"),
            text=QColor("#e8eaed"),
            muted=QColor("#9aa3ae"),
            selection=QColor(highlight),
            edge=QColor("#7d8794"),
            label_fill=QColor("#1e2127"),
            error=QColor("#f26d6d"),
            error_fill=QColor("#3a2628"),
            warning=QColor("#e8b14a"),
            warning_fill=QColor("#3a3224"),
            ok=QColor("#5fcb85"),
        )
    return Colors(
        dark=False,
        canvas=QColor("#f4f5f7"),
        grid_minor=QColor("#e9ebef"),
        grid_major=QColor("#dde0e6"),
        node_fill=QColor("#ffffff"),
        node_border=QColor("#c9ced6"),
        text=QColor("#1f2329"),
        muted=QColor("#66707c"),
        selection=QColor(highlight),
        edge=QColor("#8a94a3"),
        label_fill=QColor("#f4f5f7"),
        error=QColor("#d23c3c"),
        error_fill=QColor("#fdeeee"),
        warning=QColor("#c98a00"),
        warning_fill=QColor("#fdf5e3"),
        ok=QColor("#2e8f4f"),
    )


def apply(app: QApplication, dark: bool | None = None) -> None:
    """Fusion, a light or dark palette (``None``: the system's, following its changes), and a
    comfortable default font size."""
    app.setStyle("Fusion")
    hints = QGuiApplication.styleHints()
    if dark is None:
        hints.colorSchemeChanged.connect(lambda scheme: _set_palette(app, scheme == Qt.ColorScheme.Dark))
        dark = hints.colorScheme() == Qt.ColorScheme.Dark
    _set_palette(app, dark)
    font = app.font()
    if font.pointSizeF() < 10:
        font.setPointSizeF(10)
        app.setFont(font)
    app.setStyleSheet(STYLE_SHEET)


def _set_palette(app: QApplication, dark: bool) -> None:
    app.setPalette(_dark_palette() if dark else _light_palette())  # widgets repaint on the change


def _light_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#eef0f3",
        QPalette.ColorRole.WindowText: "#1f2329",
        QPalette.ColorRole.Base: "#ffffff",
        QPalette.ColorRole.AlternateBase: "#f5f6f8",
        QPalette.ColorRole.Text: "#1f2329",
        QPalette.ColorRole.Button: "#f7f8fa",
        QPalette.ColorRole.ButtonText: "#1f2329",
        QPalette.ColorRole.Highlight: "#2f6fe0",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#ffffff",
        QPalette.ColorRole.ToolTipText: "#1f2329",
        QPalette.ColorRole.PlaceholderText: "#8a939e",
        QPalette.ColorRole.Mid: "#c9ced6",
        QPalette.ColorRole.Light: "#ffffff",
        QPalette.ColorRole.Midlight: "#e3e6eb",
        QPalette.ColorRole.Dark: "#a7aeb8",
        QPalette.ColorRole.Link: "#2f6fe0",
    }
    return _palette(palette, roles, "#9aa2ad")


def _dark_palette() -> QPalette:
    palette = QPalette()
    roles = {
        QPalette.ColorRole.Window: "#24272e",
        QPalette.ColorRole.WindowText: "#e8eaed",
        QPalette.ColorRole.Base: "#1b1e23",
        QPalette.ColorRole.AlternateBase: "#22262c",
        QPalette.ColorRole.Text: "#e8eaed",
        QPalette.ColorRole.Button: "#2e323a",
        QPalette.ColorRole.ButtonText: "#e8eaed",
        QPalette.ColorRole.Highlight: "#4c8dff",
        QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.ToolTipBase: "#2e323a",
        QPalette.ColorRole.ToolTipText: "#e8eaed",
        QPalette.ColorRole.PlaceholderText: "#7d8692",
        QPalette.ColorRole.Mid: "#414854",
        QPalette.ColorRole.Light: "#3a3f48",
        QPalette.ColorRole.Midlight: "#343942",
        QPalette.ColorRole.Dark: "#16181c",
        QPalette.ColorRole.Link: "#6b9cf5",
    }
    return _palette(palette, roles, "#6c737d")


def _palette(palette: QPalette, roles: dict[QPalette.ColorRole, str], disabled: str) -> QPalette:
    for role, color in roles.items():
        palette.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(disabled))
    return palette


STYLE_SHEET = """
QDockWidget::title { padding: 6px 8px; font-weight: 600; }
QToolBar { spacing: 2px; padding: 3px 6px; border: none; }
QToolBar QToolButton { padding: 4px 9px; border-radius: 4px; }
QToolBar QToolButton:hover { background: palette(midlight); }
QStatusBar QLabel { padding: 0 8px; }
QTreeView::item, QListView::item { padding: 3px 2px; }
"""


def heading_font(base: QFont, scale: float = 1.0, weight: QFont.Weight = QFont.Weight.DemiBold) -> QFont:
    font = QFont(base)
    font.setPointSizeF(base.pointSizeF() * scale)
    font.setWeight(weight)
    return font


def swatch(color: QColor, size: int = 14, radius: float = 3.5) -> QIcon:
    """A small rounded square of ``color``: the category marker in lists and the status bar."""
    return _swatch(color.name(), size, radius)


@lru_cache(maxsize=64)
def _swatch(color: str, size: int, radius: float) -> QIcon:
    ratio = QGuiApplication.primaryScreen().devicePixelRatio() if QGuiApplication.primaryScreen() else 1.0
    pixmap = QPixmap(int(size * ratio), int(size * ratio))
    pixmap.setDevicePixelRatio(ratio)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(color))
    painter.drawRoundedRect(1, 1, size - 2, size - 2, radius, radius)
    painter.end()
    return QIcon(pixmap)
