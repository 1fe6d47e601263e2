"""The window's Tools menu: History (Ctrl+H) and Presets. Kept out of main_window.py, which
only calls ``install_tools_menu``."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMainWindow, QMenu

from aipopup.app import paths
from aipopup.gui.history_dialog import HistoryDialog
from aipopup.gui.i18n import tr
from aipopup.gui.preset_manager import PresetManager
from aipopup.gui.worker import BackgroundRunner


class ToolsMenu(QMenu):
    def __init__(self, window: QMainWindow, runner: BackgroundRunner) -> None:
        super().__init__(tr("&Tools"), window)
        self.setObjectName("toolsMenu")
        self.window_ = window
        self.runner = runner
        self.history = QAction(tr("&History…"), self)
        self.history.setObjectName("actionHistory")
        self.history.setShortcut(QKeySequence("Ctrl+H"))
        self.history.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self.presets = QAction(tr("&Presets…"), self)
        self.presets.setObjectName("actionPresets")
        self.addAction(self.history)
        self.addAction(self.presets)
        window.addAction(self.history)  # the shortcut works with the menu closed
        self.history.triggered.connect(self.open_history)
        self.presets.triggered.connect(self.open_presets)

    def state_dir(self) -> Path:
        engine = getattr(self.window_, "engine", None)
        return Path(engine.state_dir) if engine is not None else paths.state_dir()

    def open_history(self) -> HistoryDialog:
        dialog = HistoryDialog(self.state_dir(), self.runner, self.window_)
        bridge = getattr(self.window_, "bridge", None)
        if bridge is not None:
            dialog.follow(bridge)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog

    def open_presets(self) -> PresetManager:
        dialog = PresetManager(parent=self.window_)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.open()
        return dialog


def install_tools_menu(window: QMainWindow, runner: BackgroundRunner) -> ToolsMenu:
    menu = ToolsMenu(window, runner)
    window.menuBar().addMenu(menu)
    return menu
