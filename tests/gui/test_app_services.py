"""The services wired to the real main window: settings from the toolbar, files from a second
launch, the tray (absent offscreen) and the recovery prompt on attach."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QSystemTrayIcon
from pytestqt.qtbot import QtBot

from aipopup.core.engine import Engine
from aipopup.core.settings import Settings
from aipopup.gui import crash
from aipopup.gui.app_services import AppServices
from aipopup.gui.main_window import MainWindow
from aipopup.gui.single_instance import InstanceServer


@pytest.fixture
def services(qapp: QApplication, window: MainWindow, settings: Settings) -> Iterator[AppServices]:
    instance = InstanceServer(f"aipopup-test-{uuid.uuid4().hex[:12]}")
    assert instance.listen()
    made = AppServices(qapp, instance, crash.CrashHandler(), None)
    made.attach_window(window, settings)
    yield made
    made.shutdown()
    if made.settings_dialog is not None:
        made.settings_dialog.close()
    made.setParent(None)
    made.deleteLater()
    qapp.setQuitOnLastWindowClosed(True)


def test_settings_action_opens_the_dialog(qtbot: QtBot, window: MainWindow,
                                          services: AppServices) -> None:
    window.actions_.settings.trigger()
    assert services.settings_dialog is not None
    qtbot.waitUntil(services.settings_dialog.isVisible)


def test_files_from_a_second_launch_open_the_wizard(qtbot: QtBot, window: MainWindow,
                                                     services: AppServices, photos: Path) -> None:
    assert services.instance is not None
    services.instance.filesReceived.emit([str(photos)])
    assert window.batch_wizard is not None
    qtbot.waitUntil(window.batch_wizard.isVisible)


def test_attach_engine_without_tray_keeps_normal_close(
        qtbot: QtBot, window: MainWindow, engine: Engine, services: AppServices) -> None:
    services.attach_engine(engine)
    assert services.tray is not None
    assert not services.tray.available  # offscreen has no system tray
    assert services.recovery_dialog is None  # a fresh profile has nothing to recover
    window.close()
    assert not window.isVisible()



def test_with_a_tray_close_hides_to_it_and_its_quit_ends_the_app(
        qtbot: QtBot, qapp: QApplication, window: MainWindow, engine: Engine, settings: Settings,
        services: AppServices, monkeypatch: pytest.MonkeyPatch) -> None:
    # Offscreen has no system tray: the platform is told it has one, so the wiring runs for real.
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    services.attach_engine(engine)
    tray = services.tray
    assert tray is not None and tray.available and tray.menu is not None
    assert not qapp.quitOnLastWindowClosed()  # hidden to the tray is not the last window closed
    assert not window.close()  # refused: the window only hides, the app goes on in the tray
    assert window.isHidden() and not services.quitting

    settings.update({"close_to_tray": False})
    window.show()
    qtbot.waitExposed(window)
    assert window.close()  # with the setting off a close really closes
    quit_action = next(a for a in tray.menu.actions() if a.text() == "Quit")
    quit_action.trigger()
    assert services.quitting
