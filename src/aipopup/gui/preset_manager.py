"""The preset manager: the built-in presets (read-only: duplicate or export them) and the
user's (rename, delete, import, export).

Every read and write of the presets file runs on the dialog's own one-thread lane, in order,
because ``PresetStore`` has one owner at a time; the list is redrawn from what the lane returns.
Bad imports are refused whole with the store's message, which names the preset and the option.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aipopup.app.presets import Preset, PresetError, PresetStore
from aipopup.gui.file_prompt import ask_file
from aipopup.gui.forms import preset_name
from aipopup.gui.i18n import tr
from aipopup.gui.worker import BackgroundRunner

log = logging.getLogger(__name__)

JSON_FILTER = "JSON (*.json)"


class PresetManager(QDialog):
    loaded = Signal()  # the list shows the store's presets (after every change too)
    failed = Signal(str)  # a message for the person (also shown in the dialog)

    def __init__(self, path: Path | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("presetManager")
        self.setWindowTitle(tr("Presets"))
        self.resize(640, 420)
        self.path = path
        # Only the lane touches the store (workers never see the widget): loaded on first use.
        self._store: list[PresetStore] = []
        self.presets: list[Preset] = []
        self.native_dialogs = True  # tests drive Qt's own file dialog
        self.file_dialog: QWidget | None = None
        self.prompt: QDialog | None = None  # the rename or delete question now open
        self.lane = BackgroundRunner(self, max_threads=1)
        # The last change reaches the file before the dialog goes (closing never loses it).
        self.finished.connect(lambda _result: self.lane.shutdown())

        self.list = QListWidget(self)
        self.list.setObjectName("presetList")
        # Several at once for Export (one file to share a set); the others act on the current one.
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.details = QPlainTextEdit(self)
        self.details.setReadOnly(True)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.duplicate_button = QPushButton(tr("&Duplicate"), self)
        self.rename_button = QPushButton(tr("&Rename…"), self)
        self.delete_button = QPushButton(tr("De&lete…"), self)
        self.import_button = QPushButton(tr("&Import…"), self)
        self.export_button = QPushButton(tr("&Export…"), self)
        buttons = QVBoxLayout()
        for button in (self.duplicate_button, self.rename_button, self.delete_button,
                       self.import_button, self.export_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        top = QHBoxLayout()
        top.addWidget(self.list, 2)
        top.addLayout(buttons)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(top, 3)
        layout.addWidget(self.details, 2)
        layout.addWidget(self.message)
        layout.addWidget(close)

        self.list.currentRowChanged.connect(self._current_changed)
        self.duplicate_button.clicked.connect(self.duplicate_selected)
        self.rename_button.clicked.connect(self.ask_rename)
        self.delete_button.clicked.connect(self.ask_delete)
        self.import_button.clicked.connect(self.ask_import)
        self.export_button.clicked.connect(self.ask_export)
        self._current_changed()
        self._work(lambda store: None)

    # -- the list ------------------------------------------------------------------------------------
    def selected(self) -> Preset | None:
        row = self.list.currentRow()
        return self.presets[row] if 0 <= row < len(self.presets) else None

    def chosen_names(self) -> list[str]:
        """The selected presets' names in list order (the current one when none is selected)."""
        rows = sorted(self.list.row(item) for item in self.list.selectedItems())
        current = self.selected()
        return [self.presets[r].name for r in rows] or ([current.name] if current else [])

    def select(self, name: str) -> None:
        for row, preset in enumerate(self.presets):
            if preset.name == name:
                self.list.setCurrentRow(row)

    def _show(self, presets: list[Preset], select: str | None) -> None:
        previous = self.selected()
        current = select or (previous.name if previous else None)
        self.presets = presets
        self.list.clear()
        for preset in presets:
            label = preset.name
            if preset.builtin:
                label = tr("{name} (built-in)").format(name=preset_name(preset))
            item = QListWidgetItem(label, self.list)
            item.setData(Qt.ItemDataRole.UserRole, preset.name)
        if current:
            self.select(current)
        if self.list.currentRow() < 0 and presets:
            self.list.setCurrentRow(0)
        self._current_changed()
        self.loaded.emit()

    def _current_changed(self) -> None:
        preset = self.selected()
        user = preset is not None and not preset.builtin
        self.duplicate_button.setEnabled(preset is not None)
        self.export_button.setEnabled(preset is not None)
        self.rename_button.setEnabled(user)
        self.delete_button.setEnabled(user)
        text = json.dumps(preset.to_json(), indent=1, ensure_ascii=False) if preset else ""
        self.details.setPlainText(text)

    # -- work on the lane ------------------------------------------------------------------------------
    def _work(self, change: Callable[[PresetStore], str | None],
              done_message: str | Callable[[], str] = "") -> None:
        """Run ``change`` on the store off the GUI thread, then redraw; ``change`` returns the name
        to select afterwards."""
        path, holder = self.path, self._store

        def work() -> tuple[list[Preset], str | None]:
            if not holder:
                holder.append(PresetStore.load(path))
            chosen = change(holder[0])
            return holder[0].all(), chosen

        def done(result: tuple[list[Preset], str | None]) -> None:
            self.message.setText(done_message() if callable(done_message) else done_message)
            self._show(*result)

        self.lane.run(work, done, self._failed)

    def _failed(self, exc: Exception) -> None:
        text = str(exc) if isinstance(exc, (PresetError, OSError)) else f"{type(exc).__name__}: {exc}"
        log.warning("presets: %s", text)
        self.message.setText(text)
        self.failed.emit(text)

    # -- actions ---------------------------------------------------------------------------------------
    def duplicate_selected(self) -> None:
        preset = self.selected()
        if preset is None:
            return
        taken = {p.name for p in self.presets}
        shown = preset_name(preset)  # a copy of a built-in is named in the person's language
        name = tr("{name} (copy)").format(name=shown)
        number = 2
        while name in taken:
            name = tr("{name} (copy {n})").format(name=shown, n=number)
            number += 1
        copy = Preset(name, preset.op, dict(preset.params), preset.then_op, dict(preset.then_params))
        self._work(lambda store: store.save(copy).name)

    def ask_rename(self) -> None:
        preset = self.selected()
        if preset is None or preset.builtin:
            return
        prompt = QInputDialog(self)
        prompt.setWindowTitle(tr("Rename preset"))
        prompt.setLabelText(tr("New name:"))
        prompt.setTextValue(preset.name)
        prompt.textValueSelected.connect(lambda text: self.rename(preset.name, text))
        self._open_prompt(prompt)

    def rename(self, old: str, new: str) -> None:
        self._work(lambda store: store.rename(old, new).name)

    def ask_delete(self) -> None:
        preset = self.selected()
        if preset is None or preset.builtin:
            return
        box = QMessageBox(QMessageBox.Icon.Question, tr("Delete preset"),
                          tr("Delete the preset \u201c{name}\u201d?").format(name=preset.name),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(lambda: self.delete(preset.name))
        self._open_prompt(box)

    def delete(self, name: str) -> None:
        def change(store: PresetStore) -> None:
            store.delete(name)

        self._work(change, tr("Deleted \u201c{name}\u201d.").format(name=name))

    def ask_import(self) -> None:
        self.file_dialog = ask_file(self, save=False, caption=tr("Import presets"), name_filter=JSON_FILTER,
                                    native=self.native_dialogs, on_chosen=self.import_from)

    def import_from(self, source: str) -> None:
        imported: list[str] = []

        def change(store: PresetStore) -> str | None:
            imported.extend(p.name for p in store.import_file(Path(source)))
            return imported[0] if imported else None

        self._work(change, lambda: tr("Imported {n} preset(s).").format(n=len(imported)))

    def ask_export(self) -> None:
        names = self.chosen_names()
        if not names:
            return
        first = names[0] if len(names) == 1 else "presets"
        stem = "".join(c if c.isalnum() or c in " -_" else "_" for c in first).strip() or "presets"
        self.file_dialog = ask_file(self, save=True, caption=tr("Export preset"), name_filter=JSON_FILTER,
                                    directory=f"{stem}.json", suffix="json", native=self.native_dialogs,
                                    on_chosen=lambda target: self.export_to(names, target))

    def export_to(self, names: list[str], target: str) -> None:
        def change(store: PresetStore) -> str | None:
            store.export(names, Path(target))
            return names[0] if names else None

        self._work(change, tr("Exported to {path}.").format(path=target))

    def _open_prompt(self, prompt: QDialog) -> None:
        prompt.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.prompt = prompt
        prompt.open()
