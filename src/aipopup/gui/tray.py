"""The system tray: progress in the tooltip, a compact popup of running batches, one notification
per finished batch, close-to-tray and Quit.

The popup is a plain widget that works on its own (and is tested on its own); the tray icon is
optional: where ``QSystemTrayIcon.isSystemTrayAvailable()`` is False, nothing here is created
except what the caller asks for, and the app runs without it.

Counts are read from the scheduler at most twice a second, driven by the bridge's coalesced
updates: a batch of 10,000 tasks costs the GUI thread a few milliseconds per refresh.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QObject, QPoint, QRect, Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QColor,
    QCursor,
    QDragEnterEvent,
    QDropEvent,
    QGuiApplication,
    QIcon,
    QPainter,
    QPixmap,
)
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from aipopup.core.scheduler import Scheduler
from aipopup.core.settings import Settings
from aipopup.core.task import State
from aipopup.gui.i18n import tr
from aipopup.gui.worker import BackgroundRunner

log = logging.getLogger(__name__)

REFRESH_MS = 500
MAX_ROWS = 8  # the popup is compact; the main window has the full list


@dataclass(frozen=True)
class BatchSummary:
    batch_id: int
    title: str
    output_dir: str
    total: int
    succeeded: int
    failed: int
    other_finished: int  # cancelled or skipped
    running: int
    paused: int

    @property
    def finished(self) -> int:
        return self.succeeded + self.failed + self.other_finished

    @property
    def done(self) -> bool:
        return self.total > 0 and self.finished == self.total

    @property
    def fraction(self) -> float:
        return self.finished / self.total if self.total else 1.0


def summarize(scheduler: Scheduler) -> list[BatchSummary]:
    out: list[BatchSummary] = []
    for batch in scheduler.batches():
        counts = scheduler.counts(batch.id)
        out.append(BatchSummary(
            batch.id, batch.title or tr("Batch {id}").format(id=batch.id), batch.output_dir,
            sum(counts.values()),
            counts[State.SUCCEEDED], counts[State.FAILED],
            counts[State.CANCELLED] + counts[State.SKIPPED], counts[State.RUNNING],
            counts[State.PAUSED]))
    return out


def tooltip_text(summaries: list[BatchSummary]) -> str:
    active = [s for s in summaries if not s.done]
    if not active:
        return tr("AI Popup — idle")
    total = sum(s.total for s in active)
    finished = sum(s.finished for s in active)
    running = sum(s.running for s in active)
    percent = int(100 * finished / total) if total else 100
    done = tr("AI Popup — {finished} of {total} done ({percent}%)").format(
        finished=f"{finished:,}", total=f"{total:,}", percent=percent)
    batches = (tr("{running} running in {n} batch") if len(active) == 1
               else tr("{running} running in {n} batches")).format(running=running, n=len(active))
    return f"{done}\n{batches}"


class FinishWatcher:
    """Tells, once, which batches have just finished. Batches already finished when first seen
    (from the last session) are not news."""

    def __init__(self) -> None:
        self._open: set[int] | None = None

    def check(self, summaries: list[BatchSummary]) -> list[BatchSummary]:
        finished_now = [s for s in summaries if s.done]
        open_now = {s.batch_id for s in summaries if not s.done}
        if self._open is None:
            self._open = open_now
            return []
        news = [s for s in finished_now if s.batch_id in self._open]
        self._open = open_now
        return news


def notification_text(summary: BatchSummary) -> tuple[str, str, bool]:
    """Title, message and whether it is a failure."""
    if summary.failed:
        return (tr("{title}: {n} failed").format(title=summary.title, n=summary.failed),
                tr("{succeeded} of {total} succeeded; {failed} failed. Open AI Popup for the errors.").format(
                    succeeded=summary.succeeded, total=summary.total, failed=summary.failed), True)
    return (tr("{title} finished").format(title=summary.title),
            tr("All {n} done.").format(n=summary.succeeded), False)


class BatchRow(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel(self)
        self.title.setObjectName("batchTitle")
        self.count = QLabel(self)
        self.count.setObjectName("batchCount")
        self.bar = QProgressBar(self)
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.setSpacing(12)
        top.addWidget(self.title, 1)
        top.addWidget(self.count)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 2, 0, 2)
        layout.setSpacing(2)
        layout.addLayout(top)
        layout.addWidget(self.bar)
        self.summary: BatchSummary | None = None

    def show_summary(self, summary: BatchSummary) -> None:
        self.summary = summary
        self.title.setText(summary.title)
        extra = tr(", {n} failed").format(n=summary.failed) if summary.failed else ""
        extra += tr(", paused") if summary.paused and not summary.running else ""
        self.count.setText(f"{summary.finished:,}/{summary.total:,}{extra}")
        self.bar.setValue(int(summary.fraction * 1000))
        self.setToolTip(summary.output_dir)


class TrayPopup(QFrame):
    """Running batches with mini progress bars, pause/resume all, open the output folder; files
    dropped here are queued with the last-used job through ``queue_files``."""

    refreshed = Signal()
    filesQueued = Signal(list)

    def __init__(self, scheduler: Scheduler, *, runner: BackgroundRunner | None = None,
                 queue_files: Callable[[list[str]], None] | None = None,
                 open_folder: Callable[[str], None] | None = None,
                 default_output: Callable[[], str] | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trayPopup")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAcceptDrops(True)
        self.scheduler = scheduler
        self.runner = runner or BackgroundRunner(self, max_threads=1)
        self.queue_files = queue_files
        self.open_folder = open_folder
        self.default_output = default_output
        self.summaries: list[BatchSummary] = []
        self.header = QLabel(tr("Nothing running"), self)
        self.header.setObjectName("popupHeader")
        self.rows_box = QVBoxLayout()
        self.rows_box.setSpacing(4)
        self.rows: list[BatchRow] = []
        self.drop_hint = QLabel(tr("Drop files here to queue them with the last job"), self)
        self.drop_hint.setObjectName("dropHint")
        self.drop_hint.setEnabled(False)
        self.pause_button = QPushButton(tr("Pause all"), self)
        self.resume_button = QPushButton(tr("Resume all"), self)
        self.folder_button = QPushButton(tr("Open output folder"), self)
        self.pause_button.clicked.connect(lambda: self._control(Scheduler.pause_all))
        self.resume_button.clicked.connect(lambda: self._control(Scheduler.resume_all))
        self.folder_button.clicked.connect(self.open_output_folder)
        buttons = QHBoxLayout()
        for button in (self.pause_button, self.resume_button, self.folder_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.header)
        layout.addLayout(self.rows_box)
        layout.addWidget(self.drop_hint)
        layout.addLayout(buttons)
        self.setMinimumWidth(340)
        self.refresh()

    def _control(self, call: Callable[[Scheduler], Any]) -> None:
        scheduler = self.scheduler
        self.runner.run(lambda: call(scheduler), lambda _: self.refresh(),
                        lambda exc: log.error("tray: %s failed: %s", call.__name__, exc))

    def refresh(self, summaries: list[BatchSummary] | None = None) -> None:
        self.summaries = summaries if summaries is not None else summarize(self.scheduler)
        active = [s for s in self.summaries if not s.done][-MAX_ROWS:]
        while len(self.rows) < len(active):
            row = BatchRow(self)
            self.rows.append(row)
            self.rows_box.addWidget(row)
        for row, summary in zip(self.rows, active, strict=False):
            row.show_summary(summary)
            row.show()
        for row in self.rows[len(active):]:
            row.hide()
            row.summary = None
        running = sum(s.running for s in active)
        in_progress = (tr("{n} batch in progress, {running} running") if len(active) == 1
                       else tr("{n} batches in progress, {running} running"))
        self.header.setText(in_progress.format(n=len(active), running=running) if active
                            else tr("Nothing running"))
        self.pause_button.setEnabled(bool(active))
        self.resume_button.setEnabled(any(s.paused for s in active) or bool(active))
        self.folder_button.setEnabled(bool(self.output_folder()))
        self.drop_hint.setVisible(self.queue_files is not None)
        self.refreshed.emit()

    def visible_rows(self) -> list[BatchRow]:
        return [r for r in self.rows if r.summary is not None]

    def output_folder(self) -> str:
        """The newest batch's output folder, else the default one from the settings."""
        if self.summaries:
            return self.summaries[-1].output_dir
        return self.default_output() if self.default_output is not None else ""

    def open_output_folder(self) -> None:
        folder = self.output_folder()
        if folder and self.open_folder is not None:
            opener = self.open_folder
            self.runner.run(lambda: opener(folder), None,
                            lambda exc: log.warning("could not open %s: %s", folder, exc))

    def show_near(self, anchor: QRect | None = None) -> None:
        """As a popup next to the tray icon (or the cursor): closes when it loses focus."""
        self.setWindowFlags(Qt.WindowType.Popup)
        self.refresh()
        self.adjustSize()
        point = anchor.topLeft() if anchor is not None and anchor.isValid() else QCursor.pos()
        screen = QGuiApplication.screenAt(point) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        x = min(max(point.x() - self.width() // 2, area.left()), area.right() - self.width())
        y = point.y() - self.height() if point.y() - self.height() >= area.top() else point.y()
        self.move(QPoint(x, min(y, area.bottom() - self.height())))
        self.show()

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self.queue_files is not None and event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:
        if self.queue_files is None:
            event.ignore()
            return
        files = [u.toLocalFile() if u.isLocalFile() else u.toString() for u in event.mimeData().urls()]
        files = [f for f in files if f]
        if not files:
            event.ignore()
            return
        event.acceptProposedAction()
        self.queue_files(files)
        self.filesQueued.emit(files)


def progress_icon(fraction: float | None, size: int = 64) -> QIcon:
    """A ring that fills as the queue progresses (None: idle)."""
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    rect = QRect(4, 4, size - 8, size - 8)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(70, 70, 78))
    painter.drawEllipse(rect)
    if fraction is not None:
        painter.setBrush(QColor(42, 130, 218))
        painter.drawPie(rect, 90 * 16, -int(360 * 16 * max(0.0, min(1.0, fraction))))
    inner = rect.adjusted(size // 5, size // 5, -size // 5, -size // 5)
    painter.setBrush(QColor(245, 245, 245))
    painter.drawEllipse(inner)
    painter.end()
    return QIcon(pixmap)


class TrayController(QObject):
    """Owns the popup, the (optional) tray icon and the notifications.

    ``updates`` is any signal that fires when the engine changed (the bridge's ``updated``);
    refreshes are throttled to REFRESH_MS whatever its rate."""

    showWindowRequested = Signal()
    quitRequested = Signal()
    batchFinished = Signal(object)  # BatchSummary, once per batch

    def __init__(self, scheduler: Scheduler, settings: Settings, *, updates: Any = None,
                 runner: BackgroundRunner | None = None,
                 queue_files: Callable[[list[str]], None] | None = None,
                 open_folder: Callable[[str], None] | None = None,
                 use_tray: bool | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scheduler = scheduler
        self.settings = settings
        self.popup = TrayPopup(scheduler, runner=runner, queue_files=queue_files,
                               open_folder=open_folder,
                               default_output=lambda: str(settings.get("output_dir") or ""))
        self.watcher = FinishWatcher()
        self.tooltip = ""
        self._throttle = QTimer(self)
        self._throttle.setSingleShot(True)
        self._throttle.setInterval(REFRESH_MS)
        self._throttle.timeout.connect(self.refresh)
        if updates is not None:
            updates.connect(self._schedule_refresh)
        available = QSystemTrayIcon.isSystemTrayAvailable() if use_tray is None else use_tray
        self.icon: QSystemTrayIcon | None = None
        self.menu: QMenu | None = None
        if available:
            self._build_icon()
        self.refresh()

    @property
    def available(self) -> bool:
        return self.icon is not None

    def _build_icon(self) -> None:
        self.icon = QSystemTrayIcon(progress_icon(None), self)
        self.menu = QMenu()
        show = QAction(tr("Show AI Popup"), self.menu)
        pause = QAction(tr("Pause all"), self.menu)
        resume = QAction(tr("Resume all"), self.menu)
        quit_ = QAction(tr("Quit"), self.menu)
        show.triggered.connect(self.showWindowRequested)
        pause.triggered.connect(self.popup.pause_button.click)
        resume.triggered.connect(self.popup.resume_button.click)
        quit_.triggered.connect(self.quitRequested)
        for action in (show, pause, resume):
            self.menu.addAction(action)
        self.menu.addSeparator()
        self.menu.addAction(quit_)
        self.icon.setContextMenu(self.menu)
        self.icon.activated.connect(self._activated)
        self.icon.show()

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            if self.popup.isVisible():
                self.popup.hide()
            else:
                self.popup.show_near(self.icon.geometry() if self.icon is not None else None)
        elif reason == QSystemTrayIcon.ActivationReason.DoubleClick:
            self.showWindowRequested.emit()

    def _schedule_refresh(self, *_: object) -> None:
        if not self._throttle.isActive():
            self._throttle.start()

    def refresh(self) -> None:
        summaries = summarize(self.scheduler)
        if self.popup.isVisible():
            self.popup.refresh(summaries)
        else:
            self.popup.summaries = summaries
        for summary in self.watcher.check(summaries):
            self.batchFinished.emit(summary)
            self._notify(summary)
        if self.icon is not None:
            self.icon.setToolTip(tooltip_text(summaries))
            active = [s for s in summaries if not s.done]
            total = sum(s.total for s in active)
            self.icon.setIcon(progress_icon(sum(s.finished for s in active) / total if total else None))
        self.tooltip = tooltip_text(summaries)

    def _notify(self, summary: BatchSummary) -> None:
        if self.icon is None or not self.settings.get("notifications", True):
            return
        title, message, failed = notification_text(summary)
        kind = QSystemTrayIcon.MessageIcon.Warning if failed else QSystemTrayIcon.MessageIcon.Information
        self.icon.showMessage(title, message, kind, 8000)

    def hides_on_close(self) -> bool:
        """Whether closing the main window should only hide it."""
        return self.icon is not None and bool(self.settings.get("close_to_tray", True))

    def close(self) -> None:
        self._throttle.stop()
        self.popup.close()
        if self.icon is not None:
            self.icon.hide()
            self.icon.deleteLater()
            self.icon = None
        if self.menu is not None:
            self.menu.deleteLater()
            self.menu = None
