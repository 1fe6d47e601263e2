"""The batch wizard: a QWizard whose pages fill in one ``Choices``; Start hands the finished
``BatchRequest`` to whoever opened it (the main window plans and queues it off-thread). Start
also saves the choices (``last_used``): they are preselected next time, and the tray popup
queues dropped files with them."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QWidget, QWizard

from aipopup.app.presets import Preset, PresetStore
from aipopup.core.planner import BatchRequest
from aipopup.core.task import Task
from aipopup.gui import last_used
from aipopup.gui.drop_inputs import inputs_from_mime
from aipopup.gui.i18n import tr
from aipopup.gui.last_used import LastUsed
from aipopup.gui.preset_manager import PresetManager
from aipopup.gui.wizard.choices import Choices
from aipopup.gui.wizard.faces_page import FacesPage, review_wanted
from aipopup.gui.wizard.inputs_page import InputsPage
from aipopup.gui.wizard.job_page import JobPage
from aipopup.gui.wizard.options_page import OptionsPage
from aipopup.gui.wizard.output_page import OutputPage
from aipopup.gui.wizard.review_page import ReviewPage
from aipopup.gui.worker import BackgroundRunner

log = logging.getLogger(__name__)


class BatchWizard(QWizard):
    requestReady = Signal(object)  # BatchRequest, when Start is pressed
    presetsLoaded = Signal()
    presetSaved = Signal(str)
    presetFailed = Signal(str)

    def __init__(self, inputs: list[str], *, default_output: str = "",
                 settings: Callable[[], Mapping[str, Any]] = dict,
                 engine_tasks: Callable[[], list[Task]] = list,
                 last: LastUsed | None = None,
                 parent: QWidget | None = None) -> None:
        """``last``: the choices of the last batch run, preselected (and saved again on Start)."""
        super().__init__(parent)
        self.setWindowTitle(tr("New batch"))
        self.setObjectName("batchWizard")
        self.setAcceptDrops(True)
        self.resize(860, 560)
        self.choices = Choices(inputs=list(inputs))
        self.last = last or LastUsed()
        if last is not None:
            self.choices.op = last.op
            self.choices.params = dict(last.params.get(last.op, {}))
            self.choices.remembered = {op: dict(values) for op, values in last.params.items()}
            self.choices.output_dir = last.output_dir
            self.choices.recursive = last.recursive
            self.choices.review_faces = last.review_faces
        self.runner = BackgroundRunner(self)
        self.store: PresetStore | None = None
        workers = lambda: int(settings().get("workers") or 1)  # noqa: E731
        self.inputs_page = InputsPage(self.choices, self.runner)
        self.job_page = JobPage(self.choices)
        self.options_page = OptionsPage(self.choices, settings, self.save_preset)
        self.output_page = OutputPage(self.choices, default_output)
        self.faces_page = FacesPage(self.choices, settings)
        self.review_page = ReviewPage(self.choices, self.runner, engine_tasks, workers)
        for page in (self.inputs_page, self.job_page, self.options_page, self.output_page, self.faces_page,
                     self.review_page):
            self.addPage(page)
        self.runner.run(PresetStore.load, self._presets_loaded, self._preset_failed)
        self.preset_manager: PresetManager | None = None
        self.job_page.manageRequested.connect(self.manage_presets)

    # -- presets (file work on the runner) ---------------------------------------------------------
    def manage_presets(self) -> PresetManager:
        manager = PresetManager(parent=self)
        manager.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # Reload when it closes: its store wrote the file, ours still holds the old list.
        manager.finished.connect(
            lambda _result: self.runner.run(PresetStore.load, self._presets_loaded, self._preset_failed))
        self.preset_manager = manager
        manager.open()
        return manager

    def _presets_loaded(self, store: PresetStore) -> None:
        self.store = store
        self.job_page.set_presets(store.all())
        self.presetsLoaded.emit()

    def save_preset(self, preset: Preset) -> None:
        store = self.store
        if store is None:
            self._preset_failed(RuntimeError("the presets are still loading"))
            return

        def work() -> list[Preset]:
            store.save(preset)
            return store.all()

        def done(presets: list[Preset]) -> None:
            self.job_page.set_presets(presets)
            self.presetSaved.emit(preset.name)

        self.runner.run(work, done, self._preset_failed)

    def _preset_failed(self, exc: Exception) -> None:
        log.warning("presets: %s", exc)
        self.presetFailed.emit(str(exc))

    # -- inputs dropped onto the wizard ------------------------------------------------------------
    def add_inputs(self, inputs: list[str]) -> None:
        self.inputs_page.add_inputs(inputs)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.currentPage() is self.inputs_page and inputs_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        inputs = inputs_from_mime(event.mimeData())
        if inputs:
            event.acceptProposedAction()
            self.add_inputs(inputs)

    # -- the end -----------------------------------------------------------------------------------
    def request(self) -> BatchRequest:
        return self.choices.request()

    def accept(self) -> None:
        choices = self.choices
        self.last = LastUsed(op=choices.op, output_dir=choices.output_dir, recursive=choices.recursive,
                             params={**choices.remembered, choices.op: dict(choices.params)},
                             review_faces=choices.review_faces)
        last_used.save(self.last)  # what the tray queues dropped files with, and next time's choices
        self.requestReady.emit(self.request())
        super().accept()

    def nextId(self) -> int:
        # The face review page only when it was asked for (anonymize, photos among the inputs).
        if self.currentPage() is self.output_page and not review_wanted(self.choices):
            return self.pageIds()[self.pageIds().index(self.currentId()) + 2]
        return super().nextId()

    def done(self, result: int) -> None:
        self.options_page.cleanup()
        self.faces_page.cleanup()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.options_page.cleanup()
        self.faces_page.cleanup()
        super().closeEvent(event)

    def shutdown(self) -> None:
        self.options_page.cleanup()
        self.faces_page.cleanup()
        self.runner.shutdown()
