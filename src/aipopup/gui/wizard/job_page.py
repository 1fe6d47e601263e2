"""Wizard page 2: the job — one operation, download followed by a second operation, or a
saved preset (which fills in the options of the next page)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QFormLayout, QHBoxLayout, QLabel, QPushButton, QWizardPage

from aipopup.app.presets import Preset
from aipopup.core import operation
from aipopup.gui.forms import op_summary, op_title, preset_name
from aipopup.gui.i18n import tr
from aipopup.gui.wizard.choices import Choices

NO_PRESET = "(no preset)"


class JobPage(QWizardPage):
    manageRequested = Signal()  # "Manage…": the wizard opens the preset manager

    def __init__(self, choices: Choices) -> None:
        super().__init__()
        self.choices = choices
        self.presets: list[Preset] = []
        self.chosen_preset: Preset | None = None
        self.setTitle(tr("What to do"))
        self.setSubTitle(tr("Pick an operation, or a preset with options already set."))
        form = QFormLayout(self)
        self.preset_combo = QComboBox(self)
        self.preset_combo.setObjectName("presetCombo")
        self.preset_combo.addItem(tr(NO_PRESET), "")
        self.manage_button = QPushButton(tr("&Manage…"), self)
        self.manage_button.setObjectName("managePresets")
        self.manage_button.clicked.connect(self.manageRequested)
        preset_row = QHBoxLayout()
        preset_row.addWidget(self.preset_combo, 1)
        preset_row.addWidget(self.manage_button)
        preset_label = QLabel(tr("&Preset:"), self)
        preset_label.setBuddy(self.preset_combo)
        form.addRow(preset_label, preset_row)
        self.op_combo = QComboBox(self)
        self.op_combo.setObjectName("opCombo")
        form.addRow(tr("&Operation:"), self.op_combo)
        self.then_combo = QComboBox(self)
        self.then_combo.setObjectName("thenCombo")
        self.then_label = QLabel(tr("&Then:"), self)
        self.then_label.setBuddy(self.then_combo)
        form.addRow(self.then_label, self.then_combo)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        form.addRow("", self.summary)
        self.then_combo.addItem(tr("(nothing)"), "")
        for op in operation.all_operations():
            if not op.inputs_are_urls:
                then = tr("then {operation}").format(operation=op_title(op).lower())
                self.then_combo.addItem(then, op.name)
        self.op_combo.currentIndexChanged.connect(self._op_changed)
        self.then_combo.currentIndexChanged.connect(self._store)
        self.preset_combo.currentIndexChanged.connect(self._preset_changed)

    def set_presets(self, presets: list[Preset]) -> None:
        self.presets = presets
        current = self.preset_combo.currentData()
        self.preset_combo.blockSignals(True)
        self.preset_combo.clear()
        self.preset_combo.addItem(tr(NO_PRESET), "")
        for preset in presets:
            self.preset_combo.addItem(preset_name(preset), preset.name)
        self.preset_combo.setCurrentIndex(max(0, self.preset_combo.findData(current)))
        self.preset_combo.blockSignals(False)

    def initializePage(self) -> None:
        # Offer only operations that can take these inputs: links go to download.
        scan = self.choices.scan
        links = bool(scan and scan.links)
        files = bool(scan and scan.files)
        current = self.choices.op or str(self.op_combo.currentData() or "")
        self.op_combo.blockSignals(True)
        self.op_combo.clear()
        for op in operation.all_operations():
            if (op.inputs_are_urls and links) or (not op.inputs_are_urls and files):
                self.op_combo.addItem(op_title(op), op.name)
                self.op_combo.setItemData(self.op_combo.count() - 1, op_summary(op),
                                          Qt.ItemDataRole.ToolTipRole)
        self.op_combo.setCurrentIndex(max(0, self.op_combo.findData(current)))
        self.op_combo.blockSignals(False)
        self._op_changed()

    def select_op(self, name: str, then: str | None = None) -> None:
        index = self.op_combo.findData(name)
        if index < 0:
            raise KeyError(name)
        self.op_combo.setCurrentIndex(index)
        self.then_combo.setCurrentIndex(max(0, self.then_combo.findData(then or "")))
        self._store()

    def select_preset(self, name: str) -> None:
        index = self.preset_combo.findData(name)
        if index < 0:
            raise KeyError(name)
        self.preset_combo.setCurrentIndex(index)

    def _preset_changed(self) -> None:
        name = self.preset_combo.currentData()
        self.chosen_preset = next((p for p in self.presets if p.name == name), None)
        if self.chosen_preset is not None:
            preset = self.chosen_preset
            index = self.op_combo.findData(preset.op)
            if index < 0:
                self.summary.setText(
                    tr("The preset “{name}” does not fit these inputs.").format(name=preset_name(preset)))
                self.chosen_preset = None
                return
            self.op_combo.setCurrentIndex(index)
            self.then_combo.setCurrentIndex(max(0, self.then_combo.findData(preset.then_op or "")))
            self.choices.params = dict(preset.params)
            self.choices.then_params = dict(preset.then_params)
        self._store()

    def _op_changed(self) -> None:
        is_download = self.op_combo.currentData() == "download"
        self.then_combo.setVisible(is_download)
        self.then_label.setVisible(is_download)
        if not is_download:
            self.then_combo.setCurrentIndex(0)
        self._store()

    def _store(self) -> None:
        op_name = str(self.op_combo.currentData() or "")
        if op_name != self.choices.op and self.chosen_preset is None:
            # another operation: the options it had last time, else its defaults
            self.choices.params = dict(self.choices.remembered.get(op_name, {}))
        self.choices.op = op_name
        self.choices.then_op = str(self.then_combo.currentData() or "") or None
        if op_name:
            self.summary.setText(op_summary(operation.get(op_name)))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return bool(self.choices.op)
