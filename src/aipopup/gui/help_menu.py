"""The window's Help menu: Run self-check, Open log folder and About. Kept out of
main_window.py, which only calls ``install_help_menu``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from aipopup.app import paths
from aipopup.gui import desktop
from aipopup.gui.about_dialog import AboutDialog
from aipopup.gui.i18n import tr
from aipopup.gui.selfcheck_dialog import SelfCheckDialog
from aipopup.gui.worker import BackgroundRunner


class HelpMenu(QMenu):
    def __init__(self, window: QMainWindow, runner: BackgroundRunner,
                 open_folder: Callable[[str], None] = desktop.open_path) -> None:
        super().__init__(tr("&Help"), window)
        self.setObjectName("helpMenu")
        self.window_ = window
        self.runner = runner
        self.open_folder = open_folder
        self.self_check = QAction(tr("Run &self-check…"), self)
        self.self_check.setObjectName("actionSelfCheck")
        # A bug report wants the log files, not only a crash: reachable without one.
        self.log_folder = QAction(tr("Open &log folder"), self)
        self.log_folder.setObjectName("actionOpenLogFolder")
        self.about = QAction(tr("&About AI Popup"), self)
        self.about.setObjectName("actionAbout")
        self.about.setMenuRole(QAction.MenuRole.AboutRole)
        self.addAction(self.self_check)
        self.addAction(self.log_folder)
        self.addAction(self.about)
        self.self_check.triggered.connect(self.open_self_check)
        self.log_folder.triggered.connect(self.open_log_folder)
        self.about.triggered.connect(self.open_about)

    def open_self_check(self) -> SelfCheckDialog:
        dialog = SelfCheckDialog(self.runner, self.window_)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        dialog.start()
        return dialog

    def open_log_folder(self) -> None:
        """On the runner: making the folder and launching the file manager are not GUI work."""
        def work() -> None:
            folder: Path = paths.log_dir()
            folder.mkdir(parents=True, exist_ok=True)
            self.open_folder(str(folder))

        self.runner.run(work, None, self._open_failed)

    def _open_failed(self, exc: Exception) -> None:
        status = self.window_.statusBar()
        status.showMessage(tr("Could not open the log folder: {error}").format(error=exc), 8000)

    def open_about(self) -> AboutDialog:
        dialog = AboutDialog(self.window_)
        dialog.open()
        return dialog


def install_help_menu(window: QMainWindow, runner: BackgroundRunner) -> HelpMenu:
    menu = HelpMenu(window, runner)
    window.menuBar().addMenu(menu)
    return menu
