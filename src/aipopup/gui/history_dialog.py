"""History: the finished batches (when, what, how many of each outcome, how long, how fast),
the failures of the one selected, and its results exported as CSV or JSON.

Reading the history and writing an export both run on the runner, never on the GUI thread;
the table model only holds the records the runner returned.
"""

from __future__ import annotations

import datetime
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from aipopup.app import history_export
from aipopup.core import history
from aipopup.core.history import BatchRecord
from aipopup.gui import desktop
from aipopup.gui.bridge import EngineBridge
from aipopup.gui.file_prompt import ask_file
from aipopup.gui.i18n import N_, tr
from aipopup.gui.worker import BackgroundRunner

log = logging.getLogger(__name__)

COLUMNS = (N_("Finished"), N_("Job"), N_("Done"), N_("Failed"), N_("Cancelled"), N_("Skipped"),
           N_("Duration"), N_("Throughput"))
Index = QModelIndex | QPersistentModelIndex


def duration_text(seconds: float) -> str:
    if seconds < 10:  # a quick batch still shows how quick
        return tr("{s} s").format(s=f"{seconds:.1f}")
    seconds = round(seconds)
    if seconds < 60:
        return tr("{s} s").format(s=seconds)
    if seconds < 3600:
        return tr("{m} min {s} s").format(m=seconds // 60, s=seconds % 60)
    return tr("{h} h {m} min").format(h=seconds // 3600, m=seconds % 3600 // 60)


def throughput_text(record: BatchRecord) -> str:
    text = tr("{n:.2f} items/s").format(n=record.items_per_s)
    if record.mb_per_s is not None:
        text += ", " + tr("{n:.1f} MB/s").format(n=record.mb_per_s)
    return text


class HistoryModel(QAbstractTableModel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.records: list[BatchRecord] = []

    def set_records(self, records: list[BatchRecord]) -> None:
        self.beginResetModel()
        self.records = records
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.records)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return tr(COLUMNS[section])  # i18n: the N_() names of COLUMNS
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        record = self.records[index.row()]
        column = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(record, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column in ("Done", "Failed", "Cancelled", "Skipped"):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and column == "Job":
            return record.output_dir
        return None

    @staticmethod
    def _text(record: BatchRecord, column: str) -> str:
        if column == "Finished":
            return datetime.datetime.fromtimestamp(record.finished).strftime("%Y-%m-%d %H:%M")
        if column == "Job":
            return record.title if record.title == record.op else f"{record.title} ({record.op})"
        if column in ("Done", "Failed", "Cancelled", "Skipped"):
            return str(getattr(record, column.lower()))
        if column == "Duration":
            return duration_text(record.duration)
        return throughput_text(record)


class HistoryDialog(QDialog):
    loaded = Signal()
    exported = Signal(str)  # the path written
    failed = Signal(str)

    def __init__(self, state_dir: Path, runner: BackgroundRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("historyDialog")
        self.setWindowTitle(tr("History"))
        self.resize(900, 520)
        self.state_dir = state_dir
        self.runner = runner
        self.native_dialogs = True  # tests drive Qt's own file dialog
        self.file_dialog: QWidget | None = None
        self._loading = self._reload_again = False

        self.model = HistoryModel(self)
        self.table = QTableView(self)
        self.table.setObjectName("historyTable")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.details = QPlainTextEdit(self)
        self.details.setObjectName("historyDetails")
        self.details.setReadOnly(True)
        self.message = QLabel(self)
        self.message.setWordWrap(True)
        self.export_csv_button = QPushButton(tr("Export &CSV…"), self)
        self.export_json_button = QPushButton(tr("Export &JSON…"), self)
        self.open_folder_button = QPushButton(tr("&Open output folder"), self)
        self.refresh_button = QPushButton(tr("&Refresh"), self)
        row = QHBoxLayout()
        for button in (self.export_csv_button, self.export_json_button, self.open_folder_button,
                       self.refresh_button):
            row.addWidget(button)
        row.addStretch(1)
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        close.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 3)
        layout.addWidget(self.details, 2)
        layout.addLayout(row)
        layout.addWidget(self.message)
        layout.addWidget(close)

        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.export_csv_button.clicked.connect(lambda: self.ask_export("csv"))
        self.export_json_button.clicked.connect(lambda: self.ask_export("json"))
        self.open_folder_button.clicked.connect(self.open_output_folder)
        self.refresh_button.clicked.connect(self.reload)
        self._selection_changed()
        self.reload()

    # -- loading ---------------------------------------------------------------------------------------
    def follow(self, bridge: EngineBridge) -> None:
        """Reload when a batch changes (its history line is written before the engine says so)."""
        bridge.updated.connect(lambda update: self.reload() if update.batches else None)

    def reload(self) -> None:
        if self._loading:
            self._reload_again = True  # one more read after this one, not one per event
            return
        self._loading = True
        state_dir = self.state_dir
        self.runner.run(lambda: history.read_history(state_dir), self._loaded, self._load_failed)

    def _loaded(self, records: list[BatchRecord]) -> None:
        self._loading = False
        previous = self.selected()
        self.model.set_records(records)
        keys = [r.key for r in records]
        if records:
            self.table.selectRow(keys.index(previous.key) if previous and previous.key in keys else 0)
        else:
            self.details.setPlainText(tr("No finished batches yet."))
        self._selection_changed()
        self.loaded.emit()
        if self._reload_again:
            self._reload_again = False
            self.reload()

    def _load_failed(self, exc: Exception) -> None:
        self._loading = False
        self._failed(exc)

    def _failed(self, exc: Exception) -> None:
        text = str(exc)
        log.warning("history: %s", text)
        self.message.setText(text)
        self.failed.emit(text)

    # -- the selected batch ----------------------------------------------------------------------------
    def selected(self) -> BatchRecord | None:
        rows = self.table.selectionModel().selectedRows()
        return self.model.records[rows[0].row()] if rows else None

    def _selection_changed(self) -> None:
        record = self.selected()
        for button in (self.export_csv_button, self.export_json_button, self.open_folder_button):
            button.setEnabled(record is not None)
        if record is not None:
            self.details.setPlainText(self._details(record))

    @staticmethod
    def _details(record: BatchRecord) -> str:
        lines = [tr("Batch {id}: {title}").format(id=record.batch, title=record.title),
                 tr("Output folder: {path}").format(path=record.output_dir),
                 tr("{done} of {total} done in {duration} ({speed})").format(
                     done=record.done, total=record.total, duration=duration_text(record.duration),
                     speed=throughput_text(record))]
        if record.report.get("report"):
            lines.append(tr("Face report: {path}").format(path=record.report["report"]))
        if record.final_error:
            lines.append(record.final_error)
        if record.failed:
            lines.append("")
            lines.append(tr("{n} failed:").format(n=record.failed))
            lines += [f"{f['input']}: {f['error']}" for f in record.failures]
            if record.failed > len(record.failures):
                lines.append(tr("… and {n} more (all of them are in the export)").format(
                    n=record.failed - len(record.failures)))
        return "\n".join(lines)

    # -- actions ---------------------------------------------------------------------------------------
    def ask_export(self, kind: str) -> None:
        record = self.selected()
        if record is None:
            return
        name = f"batch-{record.batch}-results.{kind}"
        directory = str(Path(record.output_dir) / name) if record.output_dir else name
        self.file_dialog = ask_file(self, save=True, caption=tr("Export results"),
                                    name_filter="CSV (*.csv)" if kind == "csv" else "JSON (*.json)",
                                    directory=directory, suffix=kind, native=self.native_dialogs,
                                    on_chosen=lambda path: self.export_to(record, path))

    def export_to(self, record: BatchRecord, target: str) -> None:
        state_dir = self.state_dir

        def done(path: Path) -> None:
            self.message.setText(tr("Exported to {path}.").format(path=path))
            self.exported.emit(str(path))

        self.runner.run(lambda: history_export.export(state_dir, record, Path(target)), done, self._failed)

    def open_output_folder(self) -> None:
        record = self.selected()
        if record is not None and record.output_dir:
            folder = record.output_dir
            self.runner.run(lambda: desktop.open_path(folder), None, self._failed)
