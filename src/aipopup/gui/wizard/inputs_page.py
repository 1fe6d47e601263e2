"""Wizard page 1: what to process (files, folders, links), sub-folders, an extension filter;
the count and total size are computed off the GUI thread as the list changes."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from aipopup.core.operation import IMAGE_EXTENSIONS, VIDEO_EXTENSIONS
from aipopup.gui.drop_inputs import links_in
from aipopup.gui.i18n import tr
from aipopup.gui.wizard.choices import Choices, Scan
from aipopup.gui.wizard.scan import human_size, parse_extensions, scan_inputs
from aipopup.gui.worker import BackgroundRunner

MEDIA_EXTENSIONS = IMAGE_EXTENSIONS | VIDEO_EXTENSIONS


class InputsPage(QWizardPage):
    def __init__(self, choices: Choices, runner: BackgroundRunner) -> None:
        super().__init__()
        self.choices = choices
        self.runner = runner
        self._scan_request = 0
        self.setTitle(tr("What to process"))
        self.setSubTitle(tr("Photos, videos, folders or links. Drop more onto this window at any time."))
        layout = QVBoxLayout(self)
        self.list = QListWidget(self)
        self.list.setObjectName("inputList")
        self.list.addItems(choices.inputs)
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        for text, slot in ((tr("Add files…"), self._add_files), (tr("Add folder…"), self._add_folder),
                           (tr("Add links…"), self._add_links), (tr("Remove"), self._remove_selected)):
            button = QPushButton(text, self)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.recursive = QCheckBox(tr("Include sub-folders"), self)
        self.recursive.setChecked(choices.recursive)
        self.recursive.toggled.connect(self.rescan)
        layout.addWidget(self.recursive)
        filter_row = QHBoxLayout()
        filter_label = QLabel(tr("Only these file types:"), self)
        self.extensions = QLineEdit(self)
        self.extensions.setObjectName("extensionFilter")
        self.extensions.setPlaceholderText(tr("all photos and videos (e.g. jpg, png)"))
        filter_label.setBuddy(self.extensions)
        self.extensions.textChanged.connect(self.rescan)
        filter_row.addWidget(filter_label)
        filter_row.addWidget(self.extensions, 1)
        layout.addLayout(filter_row)
        self.summary = QLabel(tr("Counting…"), self)
        self.summary.setObjectName("inputSummary")
        layout.addWidget(self.summary)
        self.rescan()

    # -- the list ----------------------------------------------------------------------------------
    def add_inputs(self, inputs: list[str]) -> None:
        present = set(self.choices.inputs)
        fresh = [i for i in inputs if i not in present]
        if fresh:
            self.list.addItems(fresh)
            self.rescan()

    def _add_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, tr("Add files"))
        self.add_inputs(files)

    def _add_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Add a folder"))
        if folder:
            self.add_inputs([folder])

    def _add_links(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self, tr("Add links"), tr("One link per line:"))
        if ok:
            self.add_inputs(links_in(text))

    def _remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
        self.rescan()

    # -- counting off-thread -----------------------------------------------------------------------
    def rescan(self) -> None:
        self.choices.inputs = [self.list.item(r).text() for r in range(self.list.count())]
        self.choices.recursive = self.recursive.isChecked()
        self.choices.extensions = parse_extensions(self.extensions.text())
        self.choices.scan = None
        self._scan_request += 1
        request = self._scan_request
        inputs, recursive = list(self.choices.inputs), self.choices.recursive
        extensions = self.choices.extensions or MEDIA_EXTENSIONS
        self.summary.setText(tr("Counting…"))
        self.completeChanged.emit()
        self.runner.run(lambda: scan_inputs(inputs, recursive=recursive, extensions=extensions),
                        lambda scan: self._scanned(request, scan), self._scan_failed)

    def _scanned(self, request: int, scan: Scan) -> None:
        if request != self._scan_request:
            return  # the list changed while this walk ran
        self.choices.scan = scan
        parts = [tr("{n} file(s), {size}").format(n=f"{len(scan.files):,}",
                                                  size=human_size(scan.total_bytes))]
        if scan.links:
            parts.append(tr("{n} link(s)").format(n=f"{scan.links:,}"))
        self.summary.setText(" · ".join(parts))
        self.completeChanged.emit()

    def _scan_failed(self, exc: Exception) -> None:
        self.summary.setText(tr("Could not read the inputs: {error}").format(error=exc))

    def isComplete(self) -> bool:
        scan = self.choices.scan
        return scan is not None and bool(scan.files or scan.links)
