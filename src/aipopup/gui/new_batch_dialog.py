"""New batch: the operation, its options (a form from the schema), the output folder.

Built generically from the operation catalogue, so operations that land later appear here
without a change. Only the request is built here; planning (a folder walk) runs off-thread.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from aipopup.core import operation
from aipopup.core.planner import BatchRequest
from aipopup.gui import last_used
from aipopup.gui.forms import ParamForm


def _is_link(text: str) -> bool:
    return "://" in text


class NewBatchDialog(QDialog):
    def __init__(self, inputs: list[str], default_output: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("New batch")
        self.setObjectName("newBatchDialog")
        self.inputs = list(inputs)
        self.last = last_used.load()
        links = sum(1 for i in self.inputs if _is_link(i))
        all_links = bool(self.inputs) and links == len(self.inputs)
        self.operations = [op for op in operation.all_operations()
                           if op.inputs_are_urls == all_links or (links and not all_links)]
        layout = QVBoxLayout(self)
        files = len(self.inputs) - links
        summary = ", ".join(part for part in (f"{files} file(s) or folder(s)" if files else "",
                                              f"{links} link(s)" if links else "") if part)
        self.summary = QLabel(summary or "No inputs", self)
        self.summary.setToolTip("\n".join(self.inputs[:50]))
        layout.addWidget(self.summary)
        top = QFormLayout()
        self.op_combo = QComboBox(self)
        for op in self.operations:
            self.op_combo.addItem(op.title, op.name)
            self.op_combo.setItemData(self.op_combo.count() - 1, op.summary, Qt.ItemDataRole.ToolTipRole)
        top.addRow("&Job:", self.op_combo)
        layout.addLayout(top)
        self.forms = QStackedWidget(self)
        self.form_by_op: dict[str, ParamForm] = {}
        for op in self.operations:
            form = ParamForm(op.schema, self.last.params.get(op.name, {}), self.forms)
            form.validityChanged.connect(self._update_ok)
            self.form_by_op[op.name] = form
            self.forms.addWidget(form)
        layout.addWidget(self.forms, 1)
        bottom = QFormLayout()
        out_row = QHBoxLayout()
        self.output_edit = QLineEdit(self.last.output_dir or default_output or self._guess_output(), self)
        self.output_edit.textChanged.connect(self._update_ok)
        browse = QPushButton("Browse…", self)
        browse.clicked.connect(self._browse)
        out_row.addWidget(self.output_edit, 1)
        out_row.addWidget(browse)
        bottom.addRow("&Output folder:", out_row)
        self.output_error = QLabel(self)
        self.output_error.setStyleSheet("color: #b02020;")
        bottom.addRow("", self.output_error)
        self.recursive = QCheckBox("Include sub-folders", self)
        self.recursive.setChecked(self.last.recursive)
        bottom.addRow("", self.recursive)
        layout.addLayout(bottom)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        ok = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        ok.setText("Start")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.op_combo.currentIndexChanged.connect(self._op_changed)
        chosen = self.op_combo.findData(self.last.op)
        self.op_combo.setCurrentIndex(max(0, chosen))
        self._op_changed()

    def _guess_output(self) -> str:
        files = [i for i in self.inputs if not _is_link(i)]
        if files:
            return str(Path(files[0]).parent / "AI Popup output")
        return str(Path.home() / "Downloads" / "AI Popup")

    @property
    def op_name(self) -> str:
        return str(self.op_combo.currentData() or "")

    @property
    def form(self) -> ParamForm | None:
        return self.form_by_op.get(self.op_name)

    def select_op(self, name: str) -> None:
        index = self.op_combo.findData(name)
        if index < 0:
            raise KeyError(name)
        self.op_combo.setCurrentIndex(index)

    def _op_changed(self) -> None:
        form = self.form
        if form is not None:
            self.forms.setCurrentWidget(form)
        self._update_ok()

    def _output_problem(self) -> str:
        return "" if self.output_edit.text().strip() else "Choose where the results go."

    def _update_ok(self) -> None:
        problem = self._output_problem()
        self.output_error.setText(problem)
        self.output_error.setVisible(bool(problem))
        form = self.form
        valid = form is not None and form.is_valid() and not problem
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(valid)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Output folder", self.output_edit.text())
        if folder:
            self.output_edit.setText(folder)

    def request(self) -> BatchRequest:
        """What to plan; raises ParamError while the form is invalid."""
        form = self.form
        if form is None:
            raise ValueError("no operation accepts these inputs")
        return BatchRequest(op=self.op_name, inputs=list(self.inputs),
                            output_dir=self.output_edit.text().strip(), params=form.values(),
                            recursive=self.recursive.isChecked())

    def accept(self) -> None:
        form = self.form
        if form is None or not form.is_valid() or self._output_problem():
            self._update_ok()
            return
        self.last.op = self.op_name
        self.last.output_dir = self.output_edit.text().strip()
        self.last.recursive = self.recursive.isChecked()
        self.last.params[self.op_name] = dict(form.values())
        last_used.save(self.last)
        super().accept()
