"""Offer the links in the clipboard when the window comes to the front.

Only with the ``clipboard_links`` setting on: when it is off the clipboard is never read (the
read is behind the check, and ``reads`` counts them). The same links are offered once; the offer
is a bar above the window's contents, never a dialog in the way.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QPushButton, QToolBar, QWidget

from aipopup.core.settings import Settings
from aipopup.gui.drop_inputs import links_in
from aipopup.gui.i18n import tr


def clipboard_links() -> list[str]:
    clipboard = QGuiApplication.clipboard()
    mime = clipboard.mimeData()
    found: list[str] = []
    if mime is not None and mime.hasUrls():
        found = [u.toString() for u in mime.urls() if u.scheme().lower() in ("http", "https")]
    if not found:
        found = links_in(clipboard.text())
    return list(dict.fromkeys(found))


class ClipboardOffer(QToolBar):
    """A bar "3 links in the clipboard — Add… / Dismiss", hidden until there is something new."""

    offered = Signal(list)
    accepted = Signal(list)

    def __init__(self, window: QMainWindow, settings: Settings,
                 open_wizard: Callable[[list[str]], object]) -> None:
        super().__init__(window)
        self.setObjectName("clipboardOffer")
        self.setMovable(False)
        self.setFloatable(False)
        self.settings = settings
        self.open_wizard = open_wizard
        self.reads = 0
        self.links: list[str] = []
        self._last_offered: frozenset[str] = frozenset()
        box = QWidget(self)
        layout = QHBoxLayout(box)
        layout.setContentsMargins(8, 2, 8, 2)
        self.label = QLabel(box)
        self.add_button = QPushButton(tr("Add…"), box)
        self.dismiss_button = QPushButton(tr("Dismiss"), box)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.add_button)
        layout.addWidget(self.dismiss_button)
        self.addWidget(box)
        self.add_button.clicked.connect(self.accept)
        self.dismiss_button.clicked.connect(self.dismiss)
        window.addToolBarBreak(Qt.ToolBarArea.TopToolBarArea)
        window.addToolBar(Qt.ToolBarArea.TopToolBarArea, self)
        self.hide()
        window.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.WindowActivate:
            self.check()
        return super().eventFilter(watched, event)

    def check(self) -> None:
        if not self.settings.get("clipboard_links", False):
            return  # off: not even a look at what the clipboard holds
        self.reads += 1
        links = clipboard_links()
        if not links or frozenset(links) <= self._last_offered:
            return
        self._last_offered = frozenset(links)
        self.links = links
        self.label.setText(tr("{n} links in the clipboard").format(n=len(links)) if len(links) != 1
                           else tr("A link in the clipboard"))
        self.show()
        self.offered.emit(links)

    def accept(self) -> None:
        links, self.links = self.links, []
        self.hide()
        if links:
            self.accepted.emit(links)
            self.open_wizard(links)

    def dismiss(self) -> None:
        self.links = []
        self.hide()
