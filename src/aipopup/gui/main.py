"""Start the desktop app: the window first, then the engine (opened on a worker: replaying the
journal is file work), then whatever the command line handed us.

Threading rules (one page, so nobody has to guess):
- GUI thread: widgets, models, the bridge's 50 ms flush. No file, image or network work.
- Engine pool (``QtExecutor``): task code, scheduled by the engine. Never touches Qt widgets.
- Background runner (``worker.BackgroundRunner``): planning, engine control calls, previews,
  opening files; results come back to the GUI thread as callbacks.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from typing import Any

from PySide6.QtCore import QLibraryInfo, QLocale, QTimer, QTranslator
from PySide6.QtWidgets import QApplication, QMessageBox

from aipopup.app import paths
from aipopup.core.engine import Engine
from aipopup.core.settings import Settings, SettingsError
from aipopup.gui import i18n, last_used
from aipopup.gui.about_dialog import app_icon
from aipopup.gui.app_services import AppServices, start_services
from aipopup.gui.executor import QtExecutor
from aipopup.gui.i18n import tr
from aipopup.gui.main_window import MainWindow

log = logging.getLogger(__name__)

QUIT_TIMEOUT_S = 2.0
# Set by the benchmark and launch-time checks: quit as soon as the window is on screen.
QUIT_WHEN_SHOWN_ENV = "AIPOPUP_QUIT_WHEN_SHOWN"


def preload_heavy_modules() -> threading.Thread:
    """Import OpenCV and NumPy on a thread of their own once the window is up.

    Nothing on the GUI thread imports them, and the window never waits for them. But importing
    a big extension module holds the GIL for long stretches of its initialisation: left to the
    first task, that froze the window for 100-250 ms right after a batch was queued. Done while
    the freshly opened window sits idle, nobody notices it.
    """
    def load() -> None:
        try:
            import aipopup.ops.images  # noqa: F401 - cv2 and numpy
        except Exception:  # the first task will report it properly
            log.exception("preloading OpenCV failed")

    # not a daemon: an interpreter exiting mid-import (a quick quit) must wait for it
    thread = threading.Thread(target=load, name="aipopup-preload")
    thread.start()
    return thread


def create_app(argv: list[str] | None = None) -> QApplication:
    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        return existing
    app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("AI Popup")
    app.setOrganizationName("aipopup")
    app.setApplicationDisplayName("AI Popup")
    app.setWindowIcon(app_icon())
    return app


# Qt's translators must outlive every widget; the application holds only a pointer to them.
_qt_translators: list[QTranslator] = []


def apply_language(app: QApplication, setting: str) -> str:
    """Pick the interface language from the ``language`` setting ("system": the desktop's locale),
    and install Qt's own translation of its standard strings (dialog buttons, file dialogs,
    context menus) for it. Returns the language in force (English when a catalog is missing)."""
    i18n.set_language(i18n.resolve(setting, QLocale.system().name()))
    code = i18n.current_language()
    while _qt_translators:
        app.removeTranslator(_qt_translators.pop())
    if code != i18n.ENGLISH:
        translator = QTranslator(app)
        folder = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        if translator.load(f"qtbase_{code}", folder):
            app.installTranslator(translator)
            _qt_translators.append(translator)
        else:
            log.warning("no Qt translation qtbase_%s in %s", code, folder)
    return code


def load_settings() -> Settings:
    try:
        return Settings.load(paths.settings_file())
    except SettingsError as exc:
        QMessageBox.critical(None, "AI Popup", str(exc))
        raise


class Session:
    """One running app: the window, the engine once open, and an orderly quit."""

    def __init__(self, app: QApplication, settings: Settings, inputs: list[str],
                 started: float | None = None, services: AppServices | None = None) -> None:
        self.app = app
        self.services = services
        self.settings = settings
        self.inputs = inputs
        self.started = started if started is not None else time.perf_counter()
        self.engine: Engine | None = None
        self.executor = QtExecutor()
        self.window = MainWindow(settings)
        self.window.quitRequested.connect(app.quit)
        if services is not None:
            services.attach_window(self.window, settings)
        app.aboutToQuit.connect(self.shutdown)
        self._closed = False

    def start(self) -> None:
        self.window.show()
        shown = time.perf_counter() - self.started
        log.info("window shown %.3f s after launch", shown)
        if os.environ.get(QUIT_WHEN_SHOWN_ENV):
            # wall-clock time, so a parent that noted when it spawned us can measure the launch
            print(f"window shown at {time.time():.3f} ({shown:.3f} s after run_gui)", flush=True)
            QTimer.singleShot(0, self.app.quit)
            return
        preload_heavy_modules()
        self.window.runner.run(last_used.preload)  # the wizard's and the tray's last choices
        state_dir, settings, executor = paths.state_dir(), self.settings, self.executor

        def open_engine() -> Engine:
            state_dir.mkdir(parents=True, exist_ok=True)
            return Engine(state_dir, settings=settings, executor=executor, start_existing=False)

        self.window.runner.run(open_engine, self._engine_opened, self._engine_failed)

    def _engine_opened(self, engine: Engine) -> None:
        if self._closed:
            engine.close(QUIT_TIMEOUT_S)
            return
        self.engine = engine
        self.window.attach(engine)
        if self.services is not None:
            self.services.attach_engine(engine)  # tray, and the recovery prompt
        unfinished = engine.recovery.unfinished
        if unfinished and self.services is None:
            self.window.status.showMessage(tr(
                "{n} unfinished tasks from your last session: Start all resumes them.").format(n=unfinished))
        if self.inputs:
            self.window.open_wizard(self.inputs)

    def _engine_failed(self, exc: Exception) -> None:
        log.error("could not open the task journal: %s", exc, exc_info=exc)
        QMessageBox.critical(self.window, tr("AI Popup"),
                             tr("Could not open the task journal:\n{error}").format(error=exc))
        self.app.exit(1)

    def shutdown(self) -> None:
        """Stop taking work, let running tasks reach a safe point (2 s), flush, release."""
        if self._closed:
            return
        self._closed = True
        self.window.shutdown()
        if self.engine is not None:
            if not self.engine.close(QUIT_TIMEOUT_S):
                log.warning("some tasks did not stop within %.0f s; they resume next start",
                            QUIT_TIMEOUT_S)
        else:
            self.executor.shutdown(wait=True)
        self.window.close()


# Worker threads run Python too; with the default 5 ms GIL switch interval the GUI thread can
# wait 5 ms each time it takes the GIL back after a Qt call released it, several times a frame.
GIL_SWITCH_INTERVAL_S = 0.001


def run_gui(inputs: list[str], argv: list[str] | None = None) -> int:
    started = time.perf_counter()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    app = create_app(argv)
    try:
        settings = load_settings()
    except SettingsError:
        return 2
    apply_language(app, str(settings.get("language") or "system"))
    services = start_services(app, list(inputs))
    if services is None:
        return 0  # the running instance took the inputs
    session = Session(app, settings, list(inputs), started, services)
    session.start()
    code = app.exec()
    session.shutdown()
    services.shutdown()
    return int(code)


def main(argv: Any = None) -> int:  # `python -m aipopup.gui.main`
    return run_gui(list(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    sys.exit(main())
