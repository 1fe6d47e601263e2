"""The services around the main window, wired in one place so ``main.py`` stays a short story:
logging, the crash hooks, single instance, theme, settings dialog, tray, close-to-tray and the
recovery prompt. Each piece is usable (and tested) on its own; this only connects them.

Order at start-up: ``start_services`` (before the window: it may find another instance and
hand the files over), ``attach_window``, then ``attach_engine`` once the engine is open.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QApplication

from aipopup.app import logging_setup, paths
from aipopup.core.engine import Engine
from aipopup.core.planner import BatchRequest
from aipopup.core.settings import Settings
from aipopup.gui import crash, desktop, last_used
from aipopup.gui.recovery_dialog import RecoveryDialog, offer_recovery
from aipopup.gui.settings_dialog import SettingsDialog
from aipopup.gui.single_instance import InstanceServer, claim_or_forward
from aipopup.gui.theme import apply_theme
from aipopup.gui.tray import TrayController
from aipopup.gui.watch_service import WatchService
from aipopup.gui.when_done import WhenDone

if TYPE_CHECKING:  # main_window may import this module; the type is all we need from it
    from aipopup.gui.main_window import MainWindow

log = logging.getLogger(__name__)


class AppServices(QObject):
    def __init__(self, app: QApplication, instance: InstanceServer | None,
                 crash_handler: crash.CrashHandler, native_crash: crash.NativeCrash | None) -> None:
        super().__init__(app)
        self.app = app
        self.instance = instance
        self.crash_handler = crash_handler
        self.native_crash = native_crash
        self.window: MainWindow | None = None
        self.settings: Settings | None = None
        self.tray: TrayController | None = None
        self.settings_dialog: SettingsDialog | None = None
        self.recovery_dialog: RecoveryDialog | None = None
        self.when_done: WhenDone | None = None
        self.watch: WatchService | None = None
        self.quitting = False
        app.aboutToQuit.connect(self._about_to_quit)

    # -- the window ------------------------------------------------------------------------------
    def attach_window(self, window: MainWindow, settings: Settings) -> None:
        self.window = window
        self.settings = settings
        apply_theme(str(settings.get("theme", "system")), self.app)
        window.settingsRequested.connect(self.show_settings)
        window.quitRequested.connect(self.quit)
        window.installEventFilter(self)
        if self.instance is not None:
            self.instance.filesReceived.connect(self.files_from_another_launch)

    def show_settings(self) -> None:
        assert self.settings is not None
        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self.settings, self.window)
            self.settings_dialog.finished.connect(self._forget_settings_dialog)
            self.settings_dialog.open()
        self.settings_dialog.raise_()

    def _forget_settings_dialog(self) -> None:
        if self.settings_dialog is not None:
            self.settings_dialog.deleteLater()
            self.settings_dialog = None

    def show_window(self) -> None:
        if self.window is not None:
            self.window.showNormal()
            self.window.raise_()
            self.window.activateWindow()

    def files_from_another_launch(self, files: list[str]) -> None:
        self.show_window()
        if files and self.window is not None:
            self.window.open_wizard(files)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (watched is self.window and event.type() == QEvent.Type.Close and not self.quitting
                and self.tray is not None and self.tray.hides_on_close()):
            event.ignore()
            self.window.hide()
            return True
        return super().eventFilter(watched, event)

    def quit(self) -> None:
        self.quitting = True
        self.app.quit()

    # -- the engine ------------------------------------------------------------------------------
    def attach_engine(self, engine: Engine) -> None:
        window = self.window
        assert window is not None and self.settings is not None
        assert window.bridge is not None, "attach the engine to the window first"
        control = window.control
        self.tray = TrayController(engine.scheduler, self.settings,
                                   updates=window.bridge.updated,
                                   runner=control, queue_files=self.queue_with_last_job,
                                   open_folder=desktop.open_path, parent=self)
        self.tray.showWindowRequested.connect(self.show_window)
        self.tray.quitRequested.connect(self.quit)
        # Hidden to the tray is not "closed": only Quit ends the app while the tray is there.
        self.app.setQuitOnLastWindowClosed(not self.tray.available)
        self.recovery_dialog = offer_recovery(
            engine.scheduler, engine.recovery, self.native_crash,
            lambda fn: control.run(fn), window)
        self.when_done = WhenDone(engine.scheduler, self.settings, window.bridge.updated,
                                  runner=window.runner, parent=self)
        self.when_done.quitRequested.connect(self.quit)
        self.watch = WatchService(window, parent=self)
        self.watch.start()

    def queue_with_last_job(self, files: list[str]) -> None:
        """Files dropped on the tray popup: the last batch's choices, or the wizard if none."""
        window = self.window
        assert window is not None
        last = last_used.load()
        if not last.op or not last.output_dir:
            self.show_window()
            window.open_wizard(files)
            return
        window.submit(BatchRequest(
            op=last.op, inputs=files, output_dir=last.output_dir,
            params=last.params.get(last.op, {}), recursive=last.recursive))

    # -- the end ---------------------------------------------------------------------------------
    def _about_to_quit(self) -> None:
        self.quitting = True
        if self.watch is not None:  # before the window stops taking batches
            self.watch.close()

    def shutdown(self) -> None:
        """After the event loop: release what outlives the window."""
        if self.watch is not None:
            self.watch.close()
        if self.tray is not None:
            self.tray.close()
            self.tray = None
        if self.instance is not None:
            self.instance.close()
        self.crash_handler.uninstall()
        crash.disable_faulthandler()
        logging_setup.shutdown_logging()


def start_services(app: QApplication, inputs: list[str], log_dir: Path | None = None) -> AppServices | None:
    """Logging, crash hooks, then single instance. None: a running instance took ``inputs``."""
    folder = log_dir or paths.log_dir()
    logging_setup.setup_logging(folder)
    handler, native = crash.install(folder)
    instance = claim_or_forward(inputs)
    if instance is None:
        log.info("handed %d input(s) to the running instance", len(inputs))
        handler.uninstall()
        crash.disable_faulthandler()
        logging_setup.shutdown_logging()
        return None
    services = AppServices(app, instance, handler, native)
    return services
