"""The selected task: parameters, live log lines, the error with its hint, before/after preview."""

from __future__ import annotations

import json
import time

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from aipopup.core import operation
from aipopup.core.params import Schema
from aipopup.core.scheduler import Scheduler
from aipopup.core.task import State, Task
from aipopup.gui.bridge import Update
from aipopup.gui.forms import op_title, param_title
from aipopup.gui.i18n import tr
from aipopup.gui.preview import PREVIEW_SIDE, load_scaled
from aipopup.gui.task_model import output_of, state_name
from aipopup.gui.worker import BackgroundRunner


def _op_name(name: str) -> str:
    try:
        return op_title(operation.get(name))
    except KeyError:  # a task from an operation this version no longer has
        return name


def _schema_of(name: str) -> Schema | None:
    try:
        return operation.get(name).schema
    except KeyError:
        return None


def _param_label(schema: Schema | None, name: str) -> str:
    try:
        return param_title(schema.get(name)) if schema is not None else name
    except KeyError:
        return name


class DetailsPane(QWidget):
    def __init__(self, runner: BackgroundRunner, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.scheduler: Scheduler | None = None
        self.task: Task | None = None
        self._preview_for: tuple[str, str, str] | None = None
        layout = QVBoxLayout(self)
        self.title = QLabel(tr("Select a task to see its details."), self)
        self.title.setWordWrap(True)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.title)
        self.error = QLabel(self)
        self.error.setObjectName("taskError")
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("#taskError { color: #b02020; }")
        self.error.hide()
        layout.addWidget(self.error)
        previews = QHBoxLayout()
        self.before = self._preview_box(tr("Before"), previews)
        self.after = self._preview_box(tr("After"), previews)
        layout.addLayout(previews)
        params_box = QGroupBox(tr("Parameters"), self)
        self.params_form = QFormLayout(params_box)
        layout.addWidget(params_box)
        log_box = QGroupBox(tr("Log"), self)
        log_layout = QVBoxLayout(log_box)
        self.log = QPlainTextEdit(log_box)
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(500)
        log_layout.addWidget(self.log)
        layout.addWidget(log_box, 1)

    def _preview_box(self, title: str, row: QHBoxLayout) -> QLabel:
        box = QGroupBox(title, self)
        inner = QVBoxLayout(box)
        label = QLabel(box)
        label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        label.setMinimumSize(PREVIEW_SIDE // 2, PREVIEW_SIDE // 2)
        inner.addWidget(label)
        row.addWidget(box)
        return label

    def show_task(self, task: Task | None) -> None:
        self.task = task
        if task is None:
            self.title.setText(tr("Select a task to see its details."))
            self.error.hide()
            self._set_params({})
            self.log.clear()
            self._set_preview(self.before, None)
            self._set_preview(self.after, None)
            self._preview_for = None
            return
        self._set_params(task.params)
        self._refresh(task)
        self._refresh_log()

    def apply(self, update: Update) -> None:
        if self.task is None:
            return
        task_id = self.task.id
        if task_id in update.removed:
            self.show_task(None)
            return
        changed = update.tasks.get(task_id)
        if changed is not None:
            self.task = changed
            self._refresh(changed)
        if task_id in update.logs:
            self._refresh_log()

    def _refresh(self, task: Task) -> None:
        self.title.setText(f"<b>{task.id}</b> · {_op_name(task.op)} · {state_name(task.state)}"
                           f"<br>{task.input}" + (f"<br>→ {output_of(task)}" if output_of(task) else ""))
        if task.error and task.state in (State.FAILED, State.WAITING, State.SKIPPED):
            hint = tr("Hint: {hint}").format(hint=task.hint) if task.hint else ""
            self.error.setText(task.error + ("\n" + hint if hint else ""))
            self.error.show()
        else:
            self.error.hide()
        after = output_of(task) if task.state is State.SUCCEEDED else ""
        key = (task.id, task.input, after)
        if key != self._preview_for:
            self._preview_for = key
            self._load_preview(task.id, task.input, after)

    def _set_params(self, params: dict[str, object]) -> None:
        while self.params_form.rowCount():
            self.params_form.removeRow(0)
        schema = _schema_of(self.task.op) if self.task is not None else None
        for name, value in params.items():
            self.params_form.addRow(tr("{label}:").format(label=_param_label(schema, name)),
                                    QLabel(json.dumps(value) if not isinstance(value, str) else value))

    def _refresh_log(self) -> None:
        if self.task is None or self.scheduler is None:
            return
        lines = self.scheduler.log_lines(self.task.id)
        self.log.setPlainText("\n".join(
            f"{time.strftime('%H:%M:%S', time.localtime(when))} {level}: {text}"
            for when, level, text in lines))

    def _load_preview(self, task_id: str, before: str, after: str) -> None:
        self._set_preview(self.before, None)
        self._set_preview(self.after, None)

        def load() -> tuple[QImage | None, QImage | None]:
            return load_scaled(before), load_scaled(after) if after else None

        def show(images: tuple[QImage | None, QImage | None]) -> None:
            if self.task is None or self.task.id != task_id:
                return  # the selection moved on: a stale preview is dropped
            self._set_preview(self.before, images[0])
            self._set_preview(self.after, images[1])

        self.runner.run(load, show, lambda exc: None)

    @staticmethod
    def _set_preview(label: QLabel, image: QImage | None) -> None:
        if image is None:
            label.clear()
            label.setText("—")
        else:
            label.setPixmap(QPixmap.fromImage(image))

    @property
    def preview_loaded(self) -> bool:
        pixmap = self.before.pixmap()
        return pixmap is not None and not pixmap.isNull()
