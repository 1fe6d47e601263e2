"""Engine events (delivered on worker threads) to Qt signals on the GUI thread, coalesced.

The listener only records what changed, under a lock, in O(1); a 50 ms timer on the GUI thread
takes the whole lot at once and emits one ``updated`` signal. However many tasks run, views
repaint at most 20 times a second, and a task that changed 30 times in a tick is one row update.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal

from aipopup.core.events import Event
from aipopup.core.scheduler import Scheduler
from aipopup.core.task import Task

TICK_MS = 50


@dataclass
class Update:
    """Everything that changed since the last tick."""

    tasks: dict[str, Task] = field(default_factory=dict)  # latest copy of each changed task
    removed: set[str] = field(default_factory=set)
    progress: dict[str, float] = field(default_factory=dict)  # progress-only changes
    logs: set[str] = field(default_factory=set)  # tasks with new log lines
    batches: set[int] = field(default_factory=set)
    finished: int = 0  # tasks that reached a finished state (for throughput)
    idle: bool = False

    def __bool__(self) -> bool:
        return bool(self.tasks or self.removed or self.progress or self.logs or self.batches
                    or self.finished or self.idle)


class EngineBridge(QObject):
    updated = Signal(object)  # Update

    def __init__(self, scheduler: Scheduler, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.scheduler = scheduler
        self._lock = threading.Lock()
        self._pending = Update()
        # Events arrive outside the scheduler's lock from several threads: a task that fails at
        # once can have its "running" copy arrive after its "failed" one. The newest stamp wins,
        # across ticks too, and progress for a finished task is late news.
        self._stamps: dict[str, int] = {}
        self._finished: set[str] = set()
        self._timer = QTimer(self)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self.flush)
        self._unsubscribe: Callable[[], None] | None = scheduler.subscribe(self._on_event)
        self._timer.start()
        self.last_flush = time.monotonic()

    # Runs on whichever thread caused the event: record and return, never touch Qt objects.
    def _on_event(self, event: Event) -> None:
        with self._lock:
            pending = self._pending
            if event.kind == "task" and event.stamp:
                if event.stamp <= self._stamps.get(event.task_id, 0):
                    return  # overtaken by a newer copy
                self._stamps[event.task_id] = event.stamp
                if event.task is not None and event.task.state.finished:
                    self._finished.add(event.task_id)
                else:
                    self._finished.discard(event.task_id)
            elif event.kind == "progress" and event.task_id in self._finished:
                return
            if event.kind == "task":
                if event.task is None:
                    pending.tasks.pop(event.task_id, None)
                    pending.progress.pop(event.task_id, None)
                    pending.removed.add(event.task_id)
                else:
                    pending.removed.discard(event.task_id)
                    pending.progress.pop(event.task_id, None)
                    previous = pending.tasks.get(event.task_id)
                    if event.task.state.finished and (previous is None or not previous.state.finished):
                        pending.finished += 1
                    pending.tasks[event.task_id] = event.task
            elif event.kind == "progress":
                # kept apart from the task copy (other listeners share it); applied after it
                pending.progress[event.task_id] = event.progress
            elif event.kind == "log":
                pending.logs.add(event.task_id)
            elif event.kind == "batch":
                pending.batches.add(event.batch_id)
            elif event.kind == "idle":
                pending.idle = True

    def flush(self) -> None:
        """Deliver what piled up since the last tick (also called directly by tests and at quit)."""
        with self._lock:
            update, self._pending = self._pending, Update()
        self.last_flush = time.monotonic()
        if update:
            self.updated.emit(update)

    def close(self) -> None:
        self._timer.stop()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
