"""What the engine tells its listeners: a task changed, progressed, or logged a line."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from aipopup.core.task import Task

EventKind = Literal["task", "progress", "log", "batch", "idle"]


@dataclass(frozen=True, slots=True)
class Event:
    kind: EventKind
    task_id: str = ""
    batch_id: int = 0
    # "task": a copy of the task after the change (listeners may keep it)
    task: Task | None = None
    progress: float = 0.0
    message: str = ""
    level: str = "info"
    # "task": increases with every change of any task, taken with the copy under the scheduler's
    # lock; events are delivered outside it, from several threads, so a listener keeping the
    # latest copy compares stamps rather than trusting arrival order
    stamp: int = 0
