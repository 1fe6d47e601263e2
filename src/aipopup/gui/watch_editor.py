"""The settings dialog's "Watch folders" section: folder, preset and output folder per row.

The list and the preset names are read, and the list saved, on a background runner: the dialog
opens at once and fills the table when they arrive. The running watcher notices the saved file
by itself (it re-reads it when it changes), so nothing else needs telling.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from aipopup.app.presets import PresetStore
from aipopup.core.watch import DEFAULT_OUTPUT_NAME, WatchError, WatchFolder, load_list, save_list
from aipopup.gui.i18n import tr
from aipopup.gui.watch_service import list_path
from aipopup.gui.worker import BackgroundRunner

log = logging.getLogger(__name__)

FOLDER, PRESET, OUTPUT = range(3)


class WatchFoldersEditor(QGroupBox):
    loaded = Signal()
    saved = Signal()
    failed = Signal(str)

    def __init__(self, parent: QWidget | None = None, *, path: Path | None = None,
                 presets_path: Path | None = None) -> None:
        super().__init__(tr("Watch folders"), parent)
        self.setObjectName("watchFolders")
        self.path = path
        self.presets_path = presets_path
        self.runner = BackgroundRunner(self, max_threads=1)  # one lane: a save never passes a load
        self.preset_names: list[str] = []
        self._ready = False  # never save over a list that was not (or could not be) read
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels([tr("Folder"), tr("Preset"), tr("Output folder")])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setMinimumHeight(100)
        self.table.setMaximumHeight(170)  # the settings form above needs the room more
        self.add_button = QPushButton(tr("Add…"), self)
        self.remove_button = QPushButton(tr("Remove"), self)
        self.add_button.setEnabled(False)  # until the preset names are in
        self.add_button.clicked.connect(self.ask_folder)
        self.remove_button.clicked.connect(self.remove_selected)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.hide()
        hint = QLabel(tr("Files that appear in these folders are processed with the preset. "
                         "Empty output folder: a new folder inside the watched one."), self)
        hint.setWordWrap(True)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.table)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        self._load()

    def _list_path(self) -> Path:
        return self.path or list_path()

    def _load(self) -> None:
        target, presets_path = self._list_path(), self.presets_path

        def work() -> tuple[list[WatchFolder], list[str]]:
            names = PresetStore.load(presets_path).names()
            return load_list(target), names

        self.runner.run(work, self._loaded, lambda exc: self._say(str(exc)))

    def _loaded(self, result: tuple[list[WatchFolder], list[str]]) -> None:
        folders, self.preset_names = result
        for watch in folders:
            self.add_row(watch)
        self.add_button.setEnabled(True)
        self._ready = True
        self.loaded.emit()

    def add_row(self, watch: WatchFolder) -> None:
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, FOLDER, QTableWidgetItem(watch.folder))
        combo = QComboBox(self.table)
        combo.addItems(self.preset_names)
        if watch.preset and watch.preset not in self.preset_names:
            combo.addItem(watch.preset)  # deleted since: kept, so saving does not change it
        combo.setCurrentText(watch.preset)
        self.table.setCellWidget(row, PRESET, combo)
        output = QTableWidgetItem(watch.output_dir)
        output.setToolTip(tr("Empty: \u201c{name}\u201d inside the watched folder").format(
            name=DEFAULT_OUTPUT_NAME))
        self.table.setItem(row, OUTPUT, output)

    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Watch a folder"))
        if folder:
            self.add_row(WatchFolder(folder, self.preset_names[0] if self.preset_names else ""))

    def remove_selected(self) -> None:
        for row in sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True):
            self.table.removeRow(row)

    def folders(self) -> list[WatchFolder]:
        """The rows, checked; raises WatchError naming the row at fault."""
        out = []
        for row in range(self.table.rowCount()):
            folder_item, output_item = self.table.item(row, FOLDER), self.table.item(row, OUTPUT)
            combo = self.table.cellWidget(row, PRESET)
            preset = combo.currentText() if isinstance(combo, QComboBox) else ""
            out.append(WatchFolder(folder_item.text().strip() if folder_item else "", preset,
                                   output_item.text().strip() if output_item else "").check())
        return out

    def save(self) -> bool:
        """Check now, write on the runner; False (and the reason shown) when a row is wrong."""
        if not self._ready:
            return True
        try:
            folders = self.folders()
        except WatchError as exc:
            self._say(str(exc))
            return False
        self.message.hide()
        target = self._list_path()
        self.runner.run(lambda: save_list(target, folders), lambda _: self.saved.emit(),
                        lambda exc: self._say(tr("Could not save the watch folders: {error}")
                                              .format(error=exc)))
        return True

    def _say(self, text: str) -> None:
        log.warning("watch folders: %s", text)
        self.message.setText(text)
        self.message.show()
        self.failed.emit(text)

    def shutdown(self) -> None:
        self.runner.shutdown()
