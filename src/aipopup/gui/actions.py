"""Every action of the main window, with its shortcut, in one place (toolbar, menus and the
context menu share these objects, so enabling one enables it everywhere)."""

from __future__ import annotations

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QStyle, QWidget


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
        self.add_files = _action(window, "Add &files…", QKeySequence.StandardKey.Open,
                                 "Add photos or videos", sp.SP_FileIcon)
        self.add_folder = _action(window, "Add f&older…", "Ctrl+Shift+O", "Add a folder", sp.SP_DirIcon)
        self.add_links = _action(window, "Add &links…", "Ctrl+L", "Add links to download",
                                 sp.SP_DriveNetIcon)
        self.start_all = _action(window, "&Start all", "Ctrl+Return", "Start or resume every task",
                                 sp.SP_MediaPlay)
        self.pause_all = _action(window, "&Pause all", "Ctrl+Shift+P", "Pause every task",
                                 sp.SP_MediaPause)
        self.clear_finished = _action(window, "&Clear finished", "Ctrl+Shift+Del",
                                      "Remove finished tasks from the list", sp.SP_DialogResetButton)
        self.settings = _action(window, "S&ettings…", "Ctrl+,", "Settings", sp.SP_FileDialogDetailedView)
        self.quit = _action(window, "&Quit", QKeySequence.StandardKey.Quit, "Quit AI Popup")
        self.toolbar = [self.add_files, self.add_folder, self.add_links, self.start_all, self.pause_all,
                        self.clear_finished, self.settings]
        for action in [*self.toolbar, self.quit]:
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            window.addAction(action)


class TaskActions(QObject):
    """Actions on the selected tasks; shortcuts work while the table has focus."""

    def __init__(self, table: QWidget) -> None:
        super().__init__(table)
        self.open_output = _action(table, "&Open output", "Return", "Open the result")
        self.show_in_folder = _action(table, "Show in &folder", "Ctrl+Shift+E", "Show the result's folder")
        self.pause = _action(table, "&Pause", "Ctrl+Alt+P", "Pause the selected tasks")
        self.resume = _action(table, "&Resume", "Ctrl+Alt+R", "Resume the selected tasks")
        self.cancel = _action(table, "&Cancel", "Ctrl+.", "Cancel the selected tasks")
        self.retry = _action(table, "Re&try", "Ctrl+R", "Run the selected tasks again")
        self.move_to_top = _action(table, "Move to &top", "Ctrl+T", "Run the selected tasks next")
        self.remove = _action(table, "Re&move", QKeySequence.StandardKey.Delete,
                              "Remove the selected finished tasks")
        self.copy_error = _action(table, "Copy &error", QKeySequence.StandardKey.Copy,
                                  "Copy the selected tasks' errors")
        self.all = [self.open_output, self.show_in_folder, self.pause, self.resume, self.cancel,
                    self.retry, self.move_to_top, self.remove, self.copy_error]
        for action in self.all:
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            table.addAction(action)
