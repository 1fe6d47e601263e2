"""Every action of the main window, with its shortcut, in one place (toolbar, menus and the
context menu share these objects, so enabling one enables it everywhere)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QWidget

from aipopup.gui.i18n import tr


def _action(parent: QWidget, text: str, shortcut: QKeySequence | QKeySequence.StandardKey | str, tip: str,
            icon: QStyle.StandardPixmap | None = None) -> QAction:
    action = QAction(text, parent)
    action.setShortcut(QKeySequence(shortcut))
    action.setToolTip(f"{tip} ({QKeySequence(shortcut).toString(QKeySequence.SequenceFormat.NativeText)})")
    action.setStatusTip(tip)
    if icon is not None:
        action.setIcon(parent.style().standardIcon(icon))
    return action


class WindowActions(QObject):
    def __init__(self, window: QWidget) -> None:
        super().__init__(window)
        sp = QStyle.StandardPixmap
        self.add_files = _action(window, tr("Add &files…"), QKeySequence.StandardKey.Open,
                                 tr("Add photos or videos"), sp.SP_FileIcon)
        self.add_folder = _action(window, tr("Add f&older…"), "Ctrl+Shift+O", tr("Add a folder"),
                                  sp.SP_DirIcon)
        self.add_links = _action(window, tr("Add &links…"), "Ctrl+L", tr("Add links to download"),
                                 sp.SP_DriveNetIcon)
        self.start_all = _action(window, tr("&Start all"), "Ctrl+Return", tr("Start or resume every task"),
                                 sp.SP_MediaPlay)
        self.pause_all = _action(window, tr("&Pause all"), "Ctrl+Shift+P", tr("Pause every task"),
                                 sp.SP_MediaPause)
        self.clear_finished = _action(window, tr("&Clear finished"), "Ctrl+Shift+Del",
                                      tr("Remove finished tasks from the list"), sp.SP_DialogResetButton)
        self.settings = _action(window, tr("S&ettings…"), "Ctrl+,", tr("Settings"),
                                sp.SP_FileDialogDetailedView)
        self.quit = _action(window, tr("&Quit"), QKeySequence.StandardKey.Quit, tr("Quit AI Popup"))
        self.toolbar = [self.add_files, self.add_folder, self.add_links, self.start_all, self.pause_all,
                        self.clear_finished, self.settings]
        for action in [*self.toolbar, self.quit]:
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(action)


class TaskActions(QObject):
    """Actions on the selected tasks; shortcuts work while the table has focus."""

    def __init__(self, table: QWidget) -> None:
        super().__init__(table)
        self.open_output = _action(table, tr("&Open output"), "Return", tr("Open the result"))
        self.show_in_folder = _action(table, tr("Show in &folder"), "Ctrl+Shift+E",
                                      tr("Show the result's folder"))
        self.pause = _action(table, tr("&Pause"), "Ctrl+Alt+P", tr("Pause the selected tasks"))
        self.resume = _action(table, tr("&Resume"), "Ctrl+Alt+R", tr("Resume the selected tasks"))
        self.cancel = _action(table, tr("&Cancel"), "Ctrl+.", tr("Cancel the selected tasks"))
        self.retry = _action(table, tr("Re&try"), "Ctrl+R", tr("Run the selected tasks again"))
        self.move_to_top = _action(table, tr("Move to &top"), "Ctrl+T", tr("Run the selected tasks next"))
        self.remove = _action(table, tr("Re&move"), QKeySequence.StandardKey.Delete,
                              tr("Remove the selected finished tasks"))
        self.copy_error = _action(table, tr("Copy &error"), QKeySequence.StandardKey.Copy,
                                  tr("Copy the selected tasks' errors"))
        self.all = [self.open_output, self.show_in_folder, self.pause, self.resume, self.cancel,
                    self.retry, self.move_to_top, self.remove, self.copy_error]
        for action in self.all:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            table.addAction(action)
