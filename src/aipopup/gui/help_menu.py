"""The window's Help menu: Run self-check and About. Kept out of main_window.py, which only
calls ``install_help_menu``."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMainWindow, QMenu

from aipopup.gui.about_dialog import AboutDialog
from aipopup.gui.i18n import tr
from aipopup.gui.selfcheck_dialog import SelfCheckDialog
from aipopup.gui.worker import BackgroundRunner


class HelpMenu(QMenu):
    def __init__(self, window: QMainWindow, runner: BackgroundRunner) -> None:
        super().__init__(tr("&Help"), window)
        self.setObjectName("helpMenu")
        self.window_ = window
        self.runner = runner
        self.self_check = QAction(tr("Run &self-check…"), self)
        self.self_check.setObjectName("actionSelfCheck")
        self.about = QAction(tr("&About AI Popup"), self)
        self.about.setObjectName("actionAbout")
        self.about.setMenuRole(QAction.MenuRole.AboutRole)
        self.addAction(self.self_check)
        self.addAction(self.about)
        self.self_check.triggered.connect(self.open_self_check)
        self.about.triggered.connect(self.open_about)

    def open_self_check(self) -> SelfCheckDialog:
        dialog = SelfCheckDialog(self.runner, self.window_)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        dialog.start()
        return dialog

    def open_about(self) -> AboutDialog:
        dialog = AboutDialog(self.window_)
        dialog.open()
        return dialog


def install_help_menu(window: QMainWindow, runner: BackgroundRunner) -> HelpMenu:
    menu = HelpMenu(window, runner)
    window.menuBar().addMenu(menu)
    return menu
