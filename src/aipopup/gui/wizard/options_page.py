"""Wizard page 3: the options, a form built from the operation's schema, with a live preview
of the real operation on a downscaled copy of one of the user's photos.

The preview runs off the GUI thread. Edits are coalesced for ``PREVIEW_DELAY_MS``; one render
runs at a time and, when it ends, only the latest request is rendered next, so typing quickly
never builds a queue and a late answer never replaces a newer one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWizardPage,
)

from aipopup.app.presets import Preset
from aipopup.core import operation
from aipopup.core.errors import ParamError
from aipopup.gui.forms import ParamForm, op_title
from aipopup.gui.i18n import tr
from aipopup.gui.wizard.choices import Choices
from aipopup.gui.wizard.preview_job import PreviewResult, render
from aipopup.gui.worker import BackgroundRunner

PREVIEW_DELAY_MS = 120
PREVIEW_SIDE = 300


class OptionsPage(QWizardPage):
    previewShown = Signal(object)  # the PreviewResult now on screen

    def __init__(self, choices: Choices, settings: Callable[[], Mapping[str, Any]],
                 save_preset: Callable[[Preset], None]) -> None:
        super().__init__()
        self.choices = choices
        self._settings = settings
        self._save_preset = save_preset
        # One lane of its own: a slow render never waits behind a folder walk, nor the reverse.
        self.runner = BackgroundRunner(self, max_threads=1)
        self._folder = tempfile.TemporaryDirectory(prefix="aipopup-preview-")
        self.form: ParamForm | None = None
        self.then_form: ParamForm | None = None
        self._boxes: list[QGroupBox] = []
        self._forms_for: tuple[str, str | None] = ("", None)
        self._wanted = 0  # the newest request number
        self._running = False
        self._inflight = 0
        self.shown: PreviewResult | None = None
        self.setTitle(tr("Options"))
        self.setSubTitle(tr("The preview shows the result on one of your photos."))
        outer = QHBoxLayout(self)
        self.forms_box = QVBoxLayout()
        outer.addLayout(self.forms_box, 1)
        preview_box = QGroupBox(tr("Preview"), self)
        preview_layout = QVBoxLayout(preview_box)
        images = QHBoxLayout()
        self.before = QLabel(self)
        self.after = QLabel(self)
        for label in (self.before, self.after):
            label.setMinimumSize(PREVIEW_SIDE // 2, PREVIEW_SIDE // 2)
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            images.addWidget(label)
        preview_layout.addLayout(images)
        self.preview_status = QLabel(self)
        self.preview_status.setObjectName("previewStatus")
        self.preview_status.setWordWrap(True)
        preview_layout.addWidget(self.preview_status)
        outer.addWidget(preview_box, 1)
        self.save_button = QPushButton(tr("Save as preset…"), self)
        self.review_faces = QCheckBox(tr("Review faces before rendering"), self)
        self.review_faces.setObjectName("reviewFaces")
        self.review_faces.setToolTip(tr("Show the faces found in each photo, to remove false ones "
                                        "and add missed ones, before anything is written."))
        self.review_faces.toggled.connect(lambda on: setattr(self.choices, "review_faces", on))
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(PREVIEW_DELAY_MS)
        self._timer.timeout.connect(self._start_render)

    def initializePage(self) -> None:
        wanted = (self.choices.op, self.choices.then_op)
        if wanted != self._forms_for or self.form is None:
            self._build_forms()
        elif self.choices.params:
            self.form.set_values(self.choices.params)
        self.review_faces.setVisible(self.choices.op == "anonymize")
        self.review_faces.setChecked(self.choices.review_faces)
        self.request_preview()

    def _build_forms(self) -> None:
        for box in self._boxes:
            box.setParent(None)
            box.deleteLater()
        self._boxes = []
        self.then_form = None
        op = operation.get(self.choices.op)
        self.form = self._add_form(op.schema, self.choices.params, op_title(op))
        if self.choices.then_op:
            then = operation.get(self.choices.then_op)
            title = tr("Then: {operation}").format(operation=op_title(then))
            self.then_form = self._add_form(then.schema, self.choices.then_params, title)
        for widget in (self.review_faces, self.save_button):  # below the forms
            self.forms_box.removeWidget(widget)
            self.forms_box.addWidget(widget)
        self.save_button.clicked.connect(self._ask_preset_name, Qt.ConnectionType.UniqueConnection)
        self._forms_for = (self.choices.op, self.choices.then_op)

    def _add_form(self, schema: Any, values: Mapping[str, Any], title: str) -> ParamForm:
        box = QGroupBox(title, self)
        layout = QVBoxLayout(box)
        form = ParamForm(schema, values, box)
        layout.addWidget(form)
        form.valuesChanged.connect(self._changed)
        form.validityChanged.connect(lambda _valid: self.completeChanged.emit())
        self.forms_box.addWidget(box)
        self._boxes.append(box)
        return form

    def _changed(self) -> None:
        self._store()
        self.completeChanged.emit()
        self.request_preview()

    def _store(self) -> None:
        try:
            if self.form is not None:
                self.choices.params = dict(self.form.values())
            if self.then_form is not None:
                self.choices.then_params = dict(self.then_form.values())
        except ParamError:
            pass  # the form shows the error; the last valid values stay

    def isComplete(self) -> bool:
        return all(f.is_valid() for f in (self.form, self.then_form) if f is not None)

    def validatePage(self) -> bool:
        self._store()
        return self.isComplete()

    # -- preview -----------------------------------------------------------------------------------
    def preview_source(self) -> str | None:
        scan = self.choices.scan
        if scan is None or operation.get(self.choices.op).inputs_are_urls:
            return None
        return next((f for f in scan.files if Path(f).suffix.lower() in operation.IMAGE_EXTENSIONS), None)

    def request_preview(self) -> None:
        self._wanted += 1
        self._timer.start()

    def _start_render(self) -> None:
        if self._running:
            return  # picked up when the running one ends
        source = self.preview_source()
        if source is None:
            self.preview_status.setText(tr("No preview: the inputs are links or videos."))
            return
        if not self.isComplete():
            return
        self._store()
        request, op_name = self._wanted, self.choices.op
        params, settings = dict(self.choices.params), dict(self._settings())
        folder = Path(self._folder.name)
        self._running = True
        self._inflight = request
        self.preview_status.setText(tr("Updating preview…"))
        self.runner.run(lambda: render(request, source, op_name, params, settings, folder, PREVIEW_SIDE),
                        self._rendered, self._render_failed)

    def _rendered(self, result: PreviewResult) -> None:
        self._running = False
        if result.request != self._wanted:
            self._start_render()  # a newer request came in while this one ran
            return
        self.shown = result
        for label, image in ((self.before, result.before), (self.after, result.after)):
            label.setPixmap(QPixmap.fromImage(image) if image is not None else QPixmap())
        took = f"{result.seconds * 1000:.0f} ms"
        self.preview_status.setText(" · ".join(p for p in (result.message, took) if p))
        self.previewShown.emit(result)

    def _render_failed(self, exc: Exception) -> None:
        self._running = False
        self.preview_status.setText(tr("No preview: {error}").format(error=exc))
        if self._wanted != self._inflight:
            self._start_render()  # an edit made meanwhile may fix it

    # -- presets -----------------------------------------------------------------------------------
    def _ask_preset_name(self) -> None:
        name, ok = QInputDialog.getText(self, tr("Save as preset"), tr("Name of the preset:"))
        if ok and name.strip():
            self.save_as_preset(name.strip())

    def save_as_preset(self, name: str) -> None:
        self._store()
        self._save_preset(Preset(name, self.choices.op, dict(self.choices.params), self.choices.then_op,
                                 dict(self.choices.then_params)))

    def cleanup(self) -> None:
        self._timer.stop()
        self.runner.shutdown()
        self._folder.cleanup()


