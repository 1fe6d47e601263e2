"""Light, dark or the system's look, switched live.

Dark and light use Fusion with an explicit palette, so they look the same on every platform;
"system" goes back to the style and palette the application started with.
"""

from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

THEMES = ("system", "light", "dark")

_original: tuple[str, QPalette] | None = None


def dark_palette() -> QPalette:
    palette = QPalette()
    role = QPalette.ColorRole
    group = QPalette.ColorGroup
    window = QColor(45, 45, 48)
    base = QColor(30, 30, 32)
    text = QColor(230, 230, 230)
    muted = QColor(128, 128, 128)
    highlight = QColor(42, 130, 218)
    for which, colour in (
        (role.Window, window), (role.WindowText, text), (role.Base, base),
        (role.AlternateBase, window), (role.ToolTipBase, QColor(60, 60, 64)),
        (role.ToolTipText, text), (role.PlaceholderText, muted), (role.Text, text),
        (role.Button, window), (role.ButtonText, text), (role.BrightText, QColor(255, 80, 80)),
        (role.Link, QColor(100, 170, 255)), (role.Highlight, highlight),
        (role.HighlightedText, QColor(255, 255, 255)), (role.Light, QColor(70, 70, 74)),
        (role.Midlight, QColor(58, 58, 62)), (role.Mid, QColor(40, 40, 42)),
        (role.Dark, QColor(20, 20, 22)), (role.Shadow, QColor(0, 0, 0)),
    ):
        palette.setColor(which, colour)
    for which in (role.Text, role.WindowText, role.ButtonText):
        palette.setColor(group.Disabled, which, muted)
    return palette


def apply_theme(theme: str, app: QApplication | None = None) -> None:
    global _original
    app = app or _app()
    if _original is None:
        _original = (app.style().name(), app.palette())
    if theme == "dark":
        app.setStyle("Fusion")
        app.setPalette(dark_palette())
    elif theme == "light":
        app.setStyle("Fusion")
        app.setPalette(app.style().standardPalette())
    else:
        app.setStyle(_original[0])
        app.setPalette(_original[1])


def is_dark(app: QApplication | None = None) -> bool:
    return (app or _app()).palette().color(QPalette.ColorRole.Window).lightness() < 128


def _app() -> QApplication:
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        raise RuntimeError("no QApplication")
    return app
