"""Wizard page 4: where the results go, how they are named (with a live example), and what
happens when a file of that name is already there."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWizardPage,
)

from aipopup.core import naming, operation
from aipopup.core.task import OVERWRITE_POLICIES
from aipopup.gui.forms import ERROR_STYLE
from aipopup.gui.i18n import N_, tr
from aipopup.gui.wizard.choices import Choices, is_link

OVERWRITE_LABELS = {
    "never": N_("Keep the existing file (skip)"),
    "rename": N_("Keep both (add a number)"),
    "always": N_("Replace the existing file"),
}


class OutputPage(QWizardPage):
    def __init__(self, choices: Choices, default_output: str) -> None:
        super().__init__()
        self.choices = choices
        self._default_output = default_output
        self.setTitle(tr("Where the results go"))
        form = QFormLayout(self)
        row = QHBoxLayout()
        self.folder = QLineEdit(self)
        self.folder.setObjectName("outputFolder")
        browse = QPushButton(tr("Browse…"), self)
        browse.clicked.connect(self._browse)
        row.addWidget(self.folder, 1)
        row.addWidget(browse)
        form.addRow(tr("Output &folder:"), row)
        self.template = QLineEdit(choices.name_template, self)
        self.template.setObjectName("nameTemplate")
        self.template.setToolTip(tr("Placeholders: ") + " ".join("{" + p + "}" for p in naming.PLACEHOLDERS))
        form.addRow(tr("File &names:"), self.template)
        self.example = QLabel(self)
        self.example.setObjectName("nameExample")
        form.addRow("", self.example)
        self.overwrite = QComboBox(self)
        for policy in OVERWRITE_POLICIES:
            self.overwrite.addItem(tr(OVERWRITE_LABELS.get(policy, policy)), policy)  # i18n: marked with N_
        self.overwrite.setCurrentIndex(max(0, self.overwrite.findData(choices.overwrite)))
        form.addRow(tr("If a file &exists:"), self.overwrite)
        self.problem = QLabel(self)
        self.problem.setStyleSheet(ERROR_STYLE)
        self.problem.setWordWrap(True)
        form.addRow("", self.problem)
        self.folder.textChanged.connect(self._update)
        self.template.textChanged.connect(self._update)
        self.overwrite.currentIndexChanged.connect(self._update)

    def initializePage(self) -> None:
        if not self.folder.text():
            self.folder.setText(self.choices.output_dir or self._default_output or self._guess())
        self._update()

    def _guess(self) -> str:
        files = [i for i in self.choices.inputs if not is_link(i)]
        if files:
            first = Path(files[0])
            return str((first if first.is_dir() else first.parent) / "AI Popup output")
        return str(Path.home() / "Downloads" / "AI Popup")

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Output folder"), self.folder.text())
        if folder:
            self.folder.setText(folder)

    def example_name(self) -> str:
        """The name the first input's output would get (no file system access)."""
        scan = self.choices.scan
        first = scan.files[0] if scan and scan.files else "photo.jpg"
        op = operation.get(self.choices.op)
        ext = op.output_ext(Path(first).name, self.choices.params) or Path(first).suffix.lower()
        return naming.render(self.template.text(), stem=Path(first).stem, op=op.name, ext=ext, n=1, face=1)

    def _update(self) -> None:
        self.choices.output_dir = self.folder.text().strip()
        self.choices.name_template = self.template.text()
        self.choices.overwrite = str(self.overwrite.currentData())
        problem = "" if self.choices.output_dir else tr("Choose where the results go.")
        try:
            naming.check_template(self.choices.name_template)
        except naming.NameTemplateError as exc:
            problem = problem or str(exc)
            self.example.setText("")
        else:
            self.example.setText(tr("For example: {name}").format(name=self.example_name()))
        self.problem.setText(problem)
        self.problem.setVisible(bool(problem))
        self.completeChanged.emit()

    def isComplete(self) -> bool:
        return not self.problem.text()
