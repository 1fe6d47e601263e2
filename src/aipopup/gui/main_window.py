"""The main window: toolbar, drop zone or task table, details pane, status bar.

Threading: everything here runs on the GUI thread. Engine events arrive through the bridge
(coalesced, 20 ticks a second at most). Anything that touches files, the journal or the
engine's lock for long (planning, control calls, previews, opening files) goes through
``BackgroundRunner``; results come back here as callbacks on the GUI thread.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from PySide6.QtCore import QItemSelection, QModelIndex, QPoint, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMainWindow,
    QMenu,
    QSplitter,
    QStackedWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from aipopup.core.engine import Engine
from aipopup.core.heap import bulk_allocation
from aipopup.core.planner import BatchRequest, plan
from aipopup.core.scheduler import Scheduler
from aipopup.core.settings import Settings
from aipopup.core.task import FINISHED, State, Task
from aipopup.gui import desktop, last_used
from aipopup.gui.actions import TaskActions, WindowActions
from aipopup.gui.bridge import EngineBridge, Update
from aipopup.gui.clipboard_offer import ClipboardOffer
from aipopup.gui.details_pane import DetailsPane
from aipopup.gui.drop_inputs import inputs_from_mime, links_in
from aipopup.gui.drop_zone import DropZone
from aipopup.gui.help_menu import install_help_menu
from aipopup.gui.i18n import N_, tr
from aipopup.gui.status_bar import StatusBar
from aipopup.gui.task_model import TASK_ID_ROLE, Column, TaskFilterProxy, TaskTableModel
from aipopup.gui.task_view import TaskTableView
from aipopup.gui.tools_menu import install_tools_menu
from aipopup.gui.wizard import BatchWizard
from aipopup.gui.worker import BackgroundRunner

log = logging.getLogger(__name__)

STATUS_FILTERS: list[tuple[str, frozenset[State]]] = [
    (N_("All tasks"), frozenset()),
    (N_("Active"), frozenset({State.QUEUED, State.WAITING, State.RUNNING, State.PAUSED})),
    (N_("Running"), frozenset({State.RUNNING})),
    (N_("Queued"), frozenset({State.QUEUED, State.WAITING})),
    (N_("Paused"), frozenset({State.PAUSED})),
    (N_("Failed"), frozenset({State.FAILED})),
    (N_("Succeeded"), frozenset({State.SUCCEEDED})),
    (N_("Cancelled or skipped"), frozenset({State.CANCELLED, State.SKIPPED})),
]


class MainWindow(QMainWindow):
    batchAdded = Signal(int)
    planFailed = Signal(str)
    settingsRequested = Signal()
    quitRequested = Signal()
    wizardOpened = Signal(object)

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("AI Popup"))
        self.setObjectName("mainWindow")
        self.resize(1100, 680)
        self.setAcceptDrops(True)
        self.settings = settings
        self.engine: Engine | None = None
        self.scheduler: Scheduler | None = None
        self.bridge: EngineBridge | None = None
        self.batch_wizard: BatchWizard | None = None
        # GUI-side background work, and one ordered lane for engine control calls so that
        # "pause" then "resume" clicked quickly reach the engine in that order.
        self.runner = BackgroundRunner(self)
        # what starts a file manager or viewer; a test gives its own to see the command line
        self.launch: desktop.Launcher | None = None
        self.control = BackgroundRunner(self, max_threads=1)

        self.model = TaskTableModel(self)
        self.proxy = TaskFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.actions_ = WindowActions(self)
        self._build_toolbar()
        self._build_central()
        self.status = StatusBar(self.model, self)
        self.setStatusBar(self.status)
        self.task_actions = TaskActions(self.table)
        self._connect_actions()
        self._clock = QTimer(self)  # elapsed/ETA cells move with the clock
        self._clock.setInterval(1000)
        self._clock.timeout.connect(self.model.refresh_running)
        self._clock.start()
        self.model.rowsInserted.connect(self._update_empty_state)
        self.model.rowsRemoved.connect(self._update_empty_state)
        self.model.modelReset.connect(self._update_empty_state)
        self._set_engine_actions_enabled(False)
        self._update_selection_actions()
        self.tools_menu = install_tools_menu(self, self.runner)
        self.help_menu = install_help_menu(self, self.runner)
        self.clipboard_offer = ClipboardOffer(self, settings, self.open_wizard)

    # -- construction ------------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        toolbar = QToolBar(tr("Main"), self)
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        for action in self.actions_.toolbar:
            toolbar.addAction(action)
        self.addToolBar(toolbar)
        self.toolbar = toolbar

    def _build_central(self) -> None:
        self.drop_zone = DropZone(self)
        self.table = TaskTableView(self.model, self.proxy, self)
        self.table.setObjectName("taskTable")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._show_context_menu)
        self.table.verticalHeader().hide()
        # Fixed row heights: the view never measures 10,000 rows.
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setStretchLastSection(True)
        for column, width in ((Column.NAME, 240), (Column.STATUS, 90), (Column.PROGRESS, 120),
                              (Column.FACES, 55), (Column.SIZE, 90), (Column.ELAPSED, 70), (Column.ETA, 70)):
            header.resizeSection(column, width)
        header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)  # engine order until a click
        self.table.setSortingEnabled(True)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)

        self.status_filter = QComboBox(self)
        self.status_filter.setObjectName("statusFilter")
        for label, _states in STATUS_FILTERS:
            self.status_filter.addItem(tr(label))  # i18n: STATUS_FILTERS are marked with N_
        self.search = QLineEdit(self)
        self.search.setObjectName("search")
        self.search.setPlaceholderText(tr("Search file names…"))
        self.search.setClearButtonEnabled(True)
        self.status_filter.currentIndexChanged.connect(self._apply_filter)
        self.search.textChanged.connect(self._apply_filter)

        table_page = QWidget(self)
        page_layout = QVBoxLayout(table_page)
        page_layout.setContentsMargins(0, 0, 0, 0)
        filters = QHBoxLayout()
        filters.addWidget(self.status_filter)
        filters.addWidget(self.search, 1)
        page_layout.addLayout(filters)
        page_layout.addWidget(self.table, 1)

        self.stack = QStackedWidget(self)
        self.stack.addWidget(self.drop_zone)
        self.stack.addWidget(table_page)
        self.table_page = table_page
        self.details = DetailsPane(self.runner, self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(self.stack)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        self.setCentralWidget(splitter)
        # Styled and laid out once the window is up, while nothing runs: left to the first batch,
        # it happened in the same tick as its first thousand rows, with the planner running.
        QTimer.singleShot(0, self, self._polish_table_page)

    def _connect_actions(self) -> None:
        a, t = self.actions_, self.task_actions
        a.add_files.triggered.connect(self.ask_files)
        a.add_folder.triggered.connect(self.ask_folder)
        a.add_links.triggered.connect(self.ask_links)
        a.start_all.triggered.connect(lambda: self._control(lambda s: s.resume_all()))
        a.pause_all.triggered.connect(lambda: self._control(lambda s: s.pause_all()))
        a.clear_finished.triggered.connect(self.clear_finished)
        a.settings.triggered.connect(self.settingsRequested)
        a.quit.triggered.connect(self.quitRequested)
        self.drop_zone.addFilesClicked.connect(self.ask_files)
        self.drop_zone.addFolderClicked.connect(self.ask_folder)
        self.drop_zone.addLinksClicked.connect(self.ask_links)
        t.open_output.triggered.connect(lambda: self._open_outputs(desktop.open_path))
        t.show_in_folder.triggered.connect(lambda: self._open_outputs(desktop.show_in_folder))
        t.pause.triggered.connect(lambda: self._control_selected(Scheduler.pause))
        t.resume.triggered.connect(lambda: self._control_selected(Scheduler.resume))
        t.cancel.triggered.connect(lambda: self._control_selected(Scheduler.cancel))
        t.retry.triggered.connect(lambda: self._control_selected(Scheduler.retry))
        t.move_to_top.triggered.connect(lambda: self._control_selected(Scheduler.move_to_top))
        t.remove.triggered.connect(lambda: self._control_selected(Scheduler.remove))
        t.copy_error.triggered.connect(self.copy_errors)

    # -- the engine --------------------------------------------------------------------------------
    def attach(self, engine: Engine) -> None:
        """Show ``engine``'s tasks and follow its events. Nothing runs yet at this point (the
        engine is opened with start_existing=False), so the snapshot cannot race an event."""
        self.engine = engine
        self.scheduler = engine.scheduler
        self.bridge = EngineBridge(engine.scheduler, self)
        self.bridge.updated.connect(self._apply_update)
        self.details.scheduler = engine.scheduler
        self.model.load(engine.scheduler.tasks())
        self._set_engine_actions_enabled(True)
        self._update_empty_state()

    def _apply_update(self, update: Update) -> None:
        self.model.apply(update)
        self.details.apply(update)
        self.status.count_finished(update.finished)
        if update.tasks or update.removed:
            self._update_selection_actions()

    def _control(self, call: Callable[[Scheduler], Any]) -> None:
        scheduler = self.scheduler
        if scheduler is not None:
            self.control.run(lambda: call(scheduler), None, self._control_failed)

    def _control_selected(self, method: Callable[[Scheduler, Iterable[str]], Any]) -> None:
        ids = self.selected_ids()
        if ids:
            self._control(lambda s: method(s, ids))

    def _control_failed(self, exc: Exception) -> None:
        log.error("engine control failed: %s", exc, exc_info=exc)
        self.status.showMessage(tr("Could not do that: {error}").format(error=exc), 8000)

    def clear_finished(self) -> None:
        finished = [t.id for t in self._tasks() if t.state in FINISHED]
        if finished:
            self._control(lambda s: s.remove(finished))

    def shutdown(self) -> None:
        """Stop following the engine and wait for GUI-side background work (the engine itself
        is closed by whoever opened it)."""
        self._clock.stop()
        if self.bridge is not None:
            self.bridge.close()
            self.bridge.flush()
        if self.batch_wizard is not None:
            self.batch_wizard.shutdown()
        self.control.shutdown()
        self.runner.shutdown()

    # -- new batches -------------------------------------------------------------------------------
    def ask_files(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, tr("Add files"), "",
                                                tr("Photos and videos ({patterns});;All files (*)").format(
                                                    patterns="*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff "
                                                             "*.mp4 *.mov *.mkv *.avi *.webm *.m4v"))
        if files:
            self.open_wizard(files)

    def ask_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Add a folder"))
        if folder:
            self.open_wizard([folder])

    def ask_links(self) -> None:
        text, ok = QInputDialog.getMultiLineText(self, tr("Add links"), tr("One link per line:"),
                                                 QGuiApplication.clipboard().text())
        links = links_in(text) if ok else []
        if links:
            self.open_wizard(links)

    def open_wizard(self, inputs: list[str]) -> BatchWizard:
        """The batch wizard pre-filled with ``inputs``; a second call while it is open adds
        them to it instead of starting over."""
        if self.batch_wizard is not None:
            self.batch_wizard.add_inputs(inputs)
            self.batch_wizard.raise_()
            return self.batch_wizard
        wizard = BatchWizard(inputs, default_output=str(self.settings.get("output_dir") or ""),
                             settings=self.settings.snapshot, engine_tasks=self._tasks,
                             last=last_used.load(), parent=self)
        wizard.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        wizard.requestReady.connect(self.submit)
        wizard.finished.connect(lambda _result: self._forget_wizard(wizard))
        self.batch_wizard = wizard
        wizard.open()
        self.wizardOpened.emit(wizard)
        return wizard

    def _forget_wizard(self, wizard: BatchWizard) -> None:
        wizard.shutdown()
        if self.batch_wizard is wizard:
            self.batch_wizard = None

    def submit(self, request: BatchRequest, *, after: Callable[[int], object] | None = None,
               on_added: Callable[[int], object] | None = None) -> None:
        """Plan (walks folders) and queue on a worker; report back here. ``after`` runs on the
        worker once the batch is in the engine (a watch folder records its files there);
        ``on_added`` runs here with the batch id."""
        scheduler = self.scheduler
        if scheduler is None:
            self.planFailed.emit(tr("The engine is still starting; try again in a moment."))
            return

        def work() -> int:
            with bulk_allocation():
                batch, tasks = plan(request)
                batch_id = scheduler.add_batch(batch, tasks).id
            if after is not None:
                try:
                    after(batch_id)
                except Exception:  # the batch is queued: that is what the caller hears
                    log.exception("after queuing batch %d", batch_id)
            return batch_id

        def added(batch_id: int) -> None:
            self._batch_added(batch_id)
            if on_added is not None:
                on_added(batch_id)

        self.runner.run(work, added, self._plan_failed)

    def _batch_added(self, batch_id: int) -> None:
        self.status.showMessage(tr("Batch {id} queued.").format(id=batch_id), 5000)
        self.batchAdded.emit(batch_id)

    def _plan_failed(self, exc: Exception) -> None:
        message = str(exc) or type(exc).__name__
        self.status.showMessage(tr("Could not queue the batch: {error}").format(error=message), 10000)
        self.planFailed.emit(message)

    # -- drag and drop -----------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if inputs_from_mime(event.mimeData()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:
        if inputs_from_mime(event.mimeData()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        inputs = inputs_from_mime(event.mimeData())
        if not inputs:
            event.ignore()
            return
        event.acceptProposedAction()
        self.open_wizard(inputs)

    # -- selection, context menu -------------------------------------------------------------------
    def selected_ids(self) -> list[str]:
        rows = self.table.selectionModel().selectedRows()
        return [str(index.data(TASK_ID_ROLE)) for index in rows]

    def _selected_tasks(self) -> list[Task]:
        found = (self.model.task(i) for i in self.selected_ids())
        return [t for t in found if t is not None]

    def _tasks(self) -> list[Task]:
        found = (self.model.task(i) for i in self.model.task_ids())
        return [t for t in found if t is not None]

    def _selection_changed(self, selected: QItemSelection, deselected: QItemSelection) -> None:
        current = self.table.selectionModel().currentIndex()
        tasks = self._selected_tasks()
        chosen = None
        if current.isValid() and self.table.selectionModel().isRowSelected(current.row(), QModelIndex()):
            chosen = self.model.task(str(current.data(TASK_ID_ROLE)))
        self.details.show_task(chosen or (tasks[0] if tasks else None))
        self._update_selection_actions()

    def _update_selection_actions(self) -> None:
        tasks = self._selected_tasks()
        states = {t.state for t in tasks}
        t = self.task_actions
        has_output = any(t_.outputs or t_.output for t_ in tasks if t_.state is State.SUCCEEDED)
        t.open_output.setEnabled(has_output)
        t.show_in_folder.setEnabled(has_output)
        t.pause.setEnabled(bool(states & {State.QUEUED, State.WAITING, State.RUNNING}))
        t.resume.setEnabled(bool(states & {State.PAUSED, State.QUEUED, State.WAITING}))
        t.cancel.setEnabled(bool(states & {State.QUEUED, State.WAITING, State.RUNNING, State.PAUSED}))
        t.retry.setEnabled(bool(states & {State.FAILED, State.CANCELLED, State.SKIPPED}))
        t.move_to_top.setEnabled(bool(states - FINISHED))
        t.remove.setEnabled(bool(states & FINISHED))
        t.copy_error.setEnabled(any(t_.error for t_ in tasks))

    def context_menu(self) -> QMenu:
        self._update_selection_actions()
        menu = QMenu(self)
        t = self.task_actions
        for group in ((t.open_output, t.show_in_folder), (t.pause, t.resume, t.cancel, t.retry),
                      (t.move_to_top, t.remove), (t.copy_error,)):
            for action in group:
                menu.addAction(action)
            menu.addSeparator()
        return menu

    def _show_context_menu(self, pos: QPoint) -> None:
        if not self.selected_ids():
            return
        menu = self.context_menu()
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(self.table.viewport().mapToGlobal(pos))

    def _open_outputs(self, opener: Callable[[str, desktop.Launcher | None], None]) -> None:
        paths = [t.outputs[0] if t.outputs else (t.output or "") for t in self._selected_tasks()
                 if t.state is State.SUCCEEDED][:10]  # never launch a hundred viewers at once
        for path in paths:
            if path:
                self.runner.run(functools.partial(opener, path, self.launch), None, self._control_failed)

    def copy_errors(self) -> None:
        lines = [f"{t.id} {t.input}: {t.error}" + (f" ({t.hint})" if t.hint else "")
                 for t in self._selected_tasks() if t.error]
        if lines:
            QGuiApplication.clipboard().setText("\n".join(lines))

    # -- filter and empty state --------------------------------------------------------------------
    def _apply_filter(self) -> None:
        states = STATUS_FILTERS[max(0, self.status_filter.currentIndex())][1]
        self.proxy.set_filter(states, self.search.text())

    def _polish_table_page(self) -> None:
        for widget in (self.table_page, *self.table_page.findChildren(QWidget)):
            widget.ensurePolished()

    def _update_empty_state(self) -> None:
        self.stack.setCurrentWidget(self.table_page if self.model.rowCount() else self.drop_zone)

    def _set_engine_actions_enabled(self, enabled: bool) -> None:
        a = self.actions_
        for action in (a.start_all, a.pause_all, a.clear_finished):
            action.setEnabled(enabled)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.batch_wizard is not None:
            self.batch_wizard.close()
        super().closeEvent(event)
