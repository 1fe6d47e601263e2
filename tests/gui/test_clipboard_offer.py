"""The clipboard offer: links in the clipboard are offered when the window is activated, once;
with the setting off the clipboard is not read at all."""

from __future__ import annotations

from PySide6.QtCore import QEvent
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from aipopup.core.settings import Settings
from aipopup.gui.main_window import MainWindow

LINKS = "see https://example.org/a.jpg and http://example.org/b.png, also https://example.org/c"


def activate(window: MainWindow) -> None:
    QApplication.sendEvent(window, QEvent(QEvent.Type.WindowActivate))


def test_links_are_offered_once_and_add_opens_the_wizard(qtbot: QtBot, window: MainWindow,
                                                         settings: Settings) -> None:
    settings.update({"clipboard_links": True})
    QGuiApplication.clipboard().setText(LINKS)
    offer = window.clipboard_offer
    with qtbot.waitSignal(offer.offered) as offered:
        activate(window)
    expected = ["https://example.org/a.jpg", "http://example.org/b.png", "https://example.org/c"]
    assert offered.args[0] == expected
    assert offer.isVisible() and offer.label.text() == "3 links in the clipboard"
    offer.dismiss_button.click()
    assert not offer.isVisible()
    activate(window)  # the same links again: not offered twice
    assert not offer.isVisible() and offer.reads == 2

    QGuiApplication.clipboard().setText("https://example.org/new.jpg")
    activate(window)
    assert offer.isVisible() and offer.label.text() == "A link in the clipboard"
    with qtbot.waitSignal(window.wizardOpened) as opened:
        offer.add_button.click()
    assert not offer.isVisible()
    wizard = opened.args[0]
    assert "https://example.org/new.jpg" in wizard.choices.inputs
    wizard.reject()


def test_with_the_setting_off_the_clipboard_is_never_read(qtbot: QtBot, window: MainWindow,
                                                          settings: Settings) -> None:
    assert settings.get("clipboard_links") is False  # the default
    QGuiApplication.clipboard().setText(LINKS)
    offer = window.clipboard_offer
    offered: list[list[str]] = []
    offer.offered.connect(offered.append)
    activate(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window, timeout=5000)
    assert offer.reads == 0 and offered == [] and not offer.isVisible()
