"""The task table: a thin Qt model over the engine's tasks.

It holds task ids in engine order plus the latest copy of each task the bridge delivered; cell
text is formatted only when a view asks for it. Updates never reset the model: new tasks arrive
in one ``beginInsertRows`` per tick, changes become ``dataChanged`` over contiguous row ranges,
and removals remove only their rows.
"""

from __future__ import annotations

import itertools
import os
import time
from collections import Counter
from collections.abc import Iterable
from enum import IntEnum
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRegularExpression,
    QSortFilterProxyModel,
    Qt,
    QTimer,
)
from PySide6.QtGui import QColor

from aipopup.core.task import State, Task
from aipopup.gui.bridge import Update
from aipopup.gui.i18n import N_, tr

Index = QModelIndex | QPersistentModelIndex

TASK_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2
FILTER_ROLE = Qt.ItemDataRole.UserRole + 3  # "state<TAB>searchable text", on column NAME
PROGRESS_ROLE = Qt.ItemDataRole.UserRole + 4  # 0.0 .. 1.0, for the progress delegate


class Column(IntEnum):
    NAME = 0
    STATUS = 1
    PROGRESS = 2
    FACES = 3
    SIZE = 4
    ELAPSED = 5
    ETA = 6
    OUTPUT = 7


HEADERS = {Column.NAME: N_("Input"), Column.STATUS: N_("Status"), Column.PROGRESS: N_("Progress"),
           Column.FACES: N_("Faces"), Column.SIZE: N_("Size"), Column.ELAPSED: N_("Elapsed"),
           Column.ETA: N_("ETA"), Column.OUTPUT: N_("Output")}
STATE_NAMES = {State.QUEUED: N_("Queued"), State.WAITING: N_("Waiting"), State.RUNNING: N_("Running"),
               State.PAUSED: N_("Paused"), State.SUCCEEDED: N_("Succeeded"), State.FAILED: N_("Failed"),
               State.CANCELLED: N_("Cancelled"), State.SKIPPED: N_("Skipped")}
# Every insert makes the view re-lay out and repaint everything it shows (and each painted cell
# is several Python calls), so a batch goes in at once; 10,000 rows take ~7 ms to insert. Only
# batches beyond this size are spread over turns of the event loop.
INSERT_CHUNK = 20_000
_LIVE_COLUMNS = (Column.PROGRESS, Column.ELAPSED, Column.ETA)
_STATE_COLOURS = {State.FAILED: QColor(200, 40, 40), State.SUCCEEDED: QColor(30, 130, 60),
                  State.CANCELLED: QColor(120, 120, 120), State.SKIPPED: QColor(120, 120, 120)}


def state_name(state: State) -> str:
    """A state as people read it (capitalised, translated); the enum value stays the identifier."""
    return tr(STATE_NAMES[state])  # i18n: STATE_NAMES are marked with N_


def short_name(text: str) -> str:
    if "://" in text:
        return text.rstrip("/").rsplit("/", 1)[-1] or text
    return os.path.basename(text.rstrip("/\\")) or text  # Path(text).name, at a fifth of the cost


def elapsed(task: Task, now: float) -> float:
    if not task.started:
        return 0.0
    if task.state is State.RUNNING:
        return max(0.0, now - task.started)
    return max(0.0, task.finished - task.started) if task.finished else 0.0


def eta(task: Task, now: float) -> float | None:
    if task.state is not State.RUNNING or task.progress < 0.02:
        return None
    spent = elapsed(task, now)
    return spent * (1.0 - task.progress) / task.progress


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return ""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}:{seconds:02d}"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{seconds:02d}"


def format_bytes(size: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return ""


def faces_of(task: Task) -> int | None:
    faces = task.result.get("faces")
    if isinstance(faces, list | tuple):
        return len(faces)
    return faces if isinstance(faces, int) and not isinstance(faces, bool) else None


def size_of(task: Task) -> tuple[float, str]:
    """(sort key, text): bytes written when the operation reports them, else pixel size."""
    result = task.result
    size = result.get("bytes") or result.get("size")
    if isinstance(size, int | float) and not isinstance(size, bool):
        return float(size), format_bytes(size)
    width, height = result.get("width"), result.get("height")
    if isinstance(width, int) and isinstance(height, int):
        return float(width * height), f"{width}×{height}"
    return -1.0, ""


def output_of(task: Task) -> str:
    if task.outputs:
        return task.outputs[0]
    return task.output or ""


_ROLES = frozenset({Qt.ItemDataRole.DisplayRole, TASK_ID_ROLE, SORT_ROLE, PROGRESS_ROLE, FILTER_ROLE,
                    Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.ForegroundRole,
                    Qt.ItemDataRole.TextAlignmentRole})


class TaskTableModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._ids: list[str] = []
        self._rows: dict[str, int] = {}
        self._tasks: dict[str, Task] = {}
        # kept in step with every change, so the status bar and the clock never scan 10,000 rows
        self._counts: dict[State, int] = dict.fromkeys(State, 0)
        self._running: set[str] = set()
        self._backlog: dict[str, Task] = {}  # new tasks not inserted yet (see _insert_some)

    def _track(self, old: Task | None, new: Task | None) -> None:
        if old is not None:
            self._counts[old.state] -= 1
            self._running.discard(old.id)
        if new is not None:
            self._counts[new.state] += 1
            if new.state is State.RUNNING:
                self._running.add(new.id)

    # -- the engine's side -------------------------------------------------------------------------
    def load(self, tasks: Iterable[Task]) -> None:
        """The initial fill (one reset, before any update arrives)."""
        ordered = sorted(tasks, key=lambda t: (t.batch_id, t.seq))
        self.beginResetModel()
        self._ids = [t.id for t in ordered]
        self._rows = {task_id: row for row, task_id in enumerate(self._ids)}
        self._tasks = {t.id: t for t in ordered}
        self._counts = dict.fromkeys(State, 0)
        self._running = set()
        for task in ordered:
            self._track(None, task)
        self.endResetModel()

    def apply(self, update: Update) -> None:
        if update.removed:
            self._remove(update.removed)
        for task_id in update.removed:
            self._backlog.pop(task_id, None)
        # One pass: with workers busy in Python, every loop on this thread runs at a fraction of
        # its speed (it keeps handing the GIL over), and a batch arrives as 10,000 new tasks.
        # They come in the engine's order (batch, then sequence), so no sort is needed.
        changed_rows: list[int] = []
        backlog, rows = self._backlog, self._rows
        arrived = len(backlog)
        for task_id, task in update.tasks.items():
            row = rows.get(task_id)
            if row is None:
                backlog[task_id] = task  # new, or a newer copy of one still waiting
            else:
                self._track(self._tasks.get(task_id), task)
                self._tasks[task_id] = task
                changed_rows.append(row)
        progress_rows: list[int] = []
        for task_id, fraction in update.progress.items():
            known = self._tasks.get(task_id)
            if known is not None and task_id in self._rows:
                known.progress = fraction
                progress_rows.append(self._rows[task_id])
        if backlog and not arrived:  # otherwise an insertion is already under way
            self._insert_some()
        for task_id, fraction in update.progress.items():
            waiting = self._backlog.get(task_id)
            if waiting is not None:
                waiting.progress = fraction
        self._emit_changed(changed_rows, Column.NAME, Column.OUTPUT)
        self._emit_changed(progress_rows, Column.PROGRESS, Column.ETA)

    def _insert_some(self) -> None:
        """Insert at most INSERT_CHUNK waiting rows, and come back for the rest on the next turn
        of the event loop."""
        if not self._backlog:
            return
        if len(self._backlog) <= INSERT_CHUNK:
            chunk, self._backlog = self._backlog, {}
        else:
            chunk = dict(itertools.islice(self._backlog.items(), INSERT_CHUNK))
            for task_id in chunk:
                del self._backlog[task_id]
        # Bulk operations that run in C: a Python loop over thousands of rows here is stretched
        # several times over by the engine's threads taking turns with the GIL.
        first = len(self._ids)
        self.beginInsertRows(QModelIndex(), first, first + len(chunk) - 1)
        self._ids.extend(chunk)
        self._rows.update(zip(chunk, range(first, first + len(chunk)), strict=True))
        self._tasks.update(chunk)
        for state, count in Counter(task.state for task in chunk.values()).items():
            self._counts[state] += count
        self._running.update(task_id for task_id, task in chunk.items() if task.state is State.RUNNING)
        self.endInsertRows()
        if self._backlog:
            QTimer.singleShot(0, self, self._insert_some)

    @property
    def pending_inserts(self) -> int:
        return len(self._backlog)

    def refresh_running(self) -> None:
        """Elapsed and ETA move with the clock: repaint those cells of running rows only."""
        rows = [self._rows[i] for i in self._running if i in self._rows]
        self._emit_changed(rows, _LIVE_COLUMNS[0], _LIVE_COLUMNS[-1])

    def _remove(self, ids: set[str]) -> None:
        rows = sorted((self._rows[i] for i in ids if i in self._rows), reverse=True)
        for first, last in _ranges_descending(rows):
            self.beginRemoveRows(QModelIndex(), first, last)
            for task_id in self._ids[first:last + 1]:
                self._track(self._tasks.pop(task_id, None), None)
            del self._ids[first:last + 1]
            self.endRemoveRows()
        if rows:
            self._rows = {task_id: row for row, task_id in enumerate(self._ids)}

    def _emit_changed(self, rows: list[int], first_col: int, last_col: int) -> None:
        # One signal per row. Qt's view repaints a one-row range's rectangle (nothing when the
        # row is scrolled away) but the whole viewport for a range of several rows, even rows
        # out of sight; and a signal per cell was thousands of emits a tick when many tasks
        # changed at once, each slowed by the engine's threads holding the GIL.
        emit, index = self.dataChanged.emit, self.index
        for row in sorted(set(rows)):
            emit(index(row, first_col), index(row, last_col))

    # -- queries -----------------------------------------------------------------------------------
    def task_at(self, row: int) -> Task:
        return self._tasks[self._ids[row]]

    def task(self, task_id: str) -> Task | None:
        return self._tasks.get(task_id)

    def row_of(self, task_id: str) -> int | None:
        return self._rows.get(task_id)

    def task_ids(self) -> list[str]:
        return list(self._ids)

    def counts(self) -> dict[State, int]:
        return dict(self._counts)

    # -- Qt's side ---------------------------------------------------------------------------------
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt default
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt default
        return 0 if parent.isValid() else len(Column)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole \
                and 0 <= section < len(Column):
            return tr(HEADERS[Column(section)])  # i18n: HEADERS are marked with N_
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        # Views ask for a dozen roles per cell on every repaint; most are answered here at once.
        if role not in _ROLES or not index.isValid():
            return None
        row, column = index.row(), index.column()
        if not (0 <= row < len(self._ids)) or not (0 <= column < len(Column)):
            return None
        task = self._tasks[self._ids[row]]
        if role == Qt.ItemDataRole.DisplayRole:
            return self.cell_text(task, Column(column))
        if role == TASK_ID_ROLE:
            return task.id
        if role == SORT_ROLE:
            return self._sort_key(task, Column(column))
        if role == PROGRESS_ROLE:
            return float(task.progress)
        if role == FILTER_ROLE:
            return f"{task.state.value}\t{short_name(task.input)} {output_of(task)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == Column.STATUS and task.error:
                return task.error + (f"\n{task.hint}" if task.hint else "")
            if column in (Column.NAME, Column.OUTPUT):
                return task.input if column == Column.NAME else output_of(task)
            return None
        if role == Qt.ItemDataRole.ForegroundRole and column == Column.STATUS:
            return self.foreground(task, Column(column))
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (
                Column.FACES, Column.SIZE, Column.ELAPSED, Column.ETA):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def foreground(task: Task, column: Column) -> QColor | None:
        return _STATE_COLOURS.get(task.state) if column is Column.STATUS else None

    @staticmethod
    def cell_text(task: Task, column: Column) -> str:
        now = time.time()
        if column is Column.NAME:
            if task.input:
                return short_name(task.input)
            return tr("(from {tasks})").format(tasks=", ".join(task.depends_on))
        if column is Column.STATUS:
            return state_name(task.state)
        if column is Column.PROGRESS:
            return f"{task.progress * 100:.0f} %"
        if column is Column.FACES:
            faces = faces_of(task)
            return "" if faces is None else str(faces)
        if column is Column.SIZE:
            return size_of(task)[1]
        if column is Column.ELAPSED:
            spent = elapsed(task, now)
            return format_duration(spent) if spent else ""
        if column is Column.ETA:
            return format_duration(eta(task, now))
        return short_name(output_of(task))

    @staticmethod
    def _sort_key(task: Task, column: Column) -> Any:
        now = time.time()
        if column is Column.NAME:
            return short_name(task.input).lower()
        if column is Column.STATUS:
            return task.state.value
        if column is Column.PROGRESS:
            return float(task.progress)
        if column is Column.FACES:
            faces = faces_of(task)
            return -1 if faces is None else faces
        if column is Column.SIZE:
            return size_of(task)[0]
        if column is Column.ELAPSED:
            return elapsed(task, now)
        if column is Column.ETA:
            remaining = eta(task, now)
            return -1.0 if remaining is None else remaining
        return short_name(output_of(task)).lower()


def _ranges_descending(rows: list[int]) -> list[tuple[int, int]]:
    """Contiguous (first, last) ranges from rows sorted high to low, highest range first, so
    removing one range does not shift the next."""
    ranges: list[tuple[int, int]] = []
    for row in rows:
        if ranges and ranges[-1][0] == row + 1:
            ranges[-1] = (row, ranges[-1][1])
        else:
            ranges.append((row, row))
    return ranges


class TaskFilterProxy(QSortFilterProxyModel):
    """Sort by typed keys, filter by status and search text.

    Filtering is a regular expression over FILTER_ROLE rather than a Python ``filterAcceptsRow``:
    with no filter set, Qt accepts rows without calling into Python, so inserting 10,000 rows
    costs no per-row Python work.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.setFilterRole(FILTER_ROLE)
        self.setFilterKeyColumn(Column.NAME)
        self.states: frozenset[State] = frozenset()
        self.text = ""

    def set_filter(self, states: Iterable[State] = (), text: str = "") -> None:
        self.states = frozenset(states)
        self.text = text.strip()
        if not self.states and not self.text:
            self.setFilterRegularExpression(QRegularExpression())
            return
        state_part = "|".join(sorted(s.value for s in self.states)) if self.states else "[a-z]+"
        pattern = f"^(?:{state_part})\\t.*{QRegularExpression.escape(self.text)}"
        self.setFilterRegularExpression(
            QRegularExpression(pattern, QRegularExpression.PatternOption.CaseInsensitiveOption))
