"""Help > Run self-check: the same checks as ``aipopup --self-check``, run on the window's
background runner (they decode, detect and encode: never GUI-thread work), shown as text."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from aipopup.app import selfcheck
from aipopup.gui.i18n import tr
from aipopup.gui.worker import BackgroundRunner


class SelfCheckDialog(QDialog):
    finished_check = Signal(object)  # the Report, once every check has run

    def __init__(self, runner: BackgroundRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("selfCheckDialog")
        self.setWindowTitle(tr("AI Popup self-check"))
        self.resize(640, 360)
        self.runner = runner
        self.report: selfcheck.Report | None = None
        layout = QVBoxLayout(self)
        self.status = QLabel(tr("Checking that everything loads and works…"), self)
        self.status.setObjectName("selfCheckStatus")
        layout.addWidget(self.status)
        self.busy = QProgressBar(self)
        self.busy.setRange(0, 0)  # no steps to count: a few seconds of work in total
        layout.addWidget(self.busy)
        self.output = QPlainTextEdit(self)
        self.output.setObjectName("selfCheckOutput")
        self.output.setReadOnly(True)
        self.output.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        layout.addWidget(self.output, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton(tr("Copy"), QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def start(self) -> None:
        self.output.setPlainText(selfcheck.header())
        self.runner.run(selfcheck.collect, self._done, self._failed)

    def _done(self, report: selfcheck.Report) -> None:
        self.report = report
        self.busy.hide()
        self.output.setPlainText(report.text())
        self.status.setText(tr("All checks passed.") if report.ok else
                            tr("Some checks failed: copy the report below into a bug report."))
        self.copy_button.setEnabled(True)
        self.finished_check.emit(report)

    def _failed(self, exc: Exception) -> None:
        # collect() catches each check's errors; this is the harness itself failing.
        self.busy.hide()
        self.status.setText(tr("The self-check could not run: {error}").format(error=exc))
        self.copy_button.setEnabled(True)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.output.toPlainText())
