"""The engine's state as rebuilt from journal records, and the records that rebuild it.

Record types (each also carries ``"v"``, the format version):
  {"t": "batch", "batch": {...}}              a batch was created
  {"t": "task", "task": {...}}                a task was created (or its full snapshot)
  {"t": "upd", "id": "3.7", <fields>...}      some fields of a task changed
  {"t": "bupd", "id": 3, <fields>...}         some fields of a batch changed
  {"t": "done", "key": ..., "outputs": [...], "sizes": [...]}   skip-done index entry
  {"t": "drop", "id": "3.7"}                  a finished task was removed
  {"t": "forget", "batch": 3}                 a batch and its tasks were removed
  {"t": "session", "boot": ..., "pid": ...}   an engine started (the machine's boot id)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from aipopup.core.task import Batch, State, Task

log = logging.getLogger(__name__)

TASK_FIELDS = frozenset(Task.__dataclass_fields__)
BATCH_FIELDS = frozenset(Batch.__dataclass_fields__)


@dataclass
class DoneEntry:
    outputs: list[str]
    sizes: list[int]


@dataclass
class Store:
    batches: dict[int, Batch] = field(default_factory=dict)
    tasks: dict[str, Task] = field(default_factory=dict)
    done: dict[str, DoneEntry] = field(default_factory=dict)
    by_batch: dict[int, list[str]] = field(default_factory=dict)
    boot: str = ""  # the boot id of the machine when the last engine started

    def apply(self, record: dict[str, Any]) -> None:
        kind = record.get("t")
        if kind == "upd":
            task = self.tasks.get(record.get("id", ""))
            if task is not None:
                for name, value in record.items():
                    if name in TASK_FIELDS and name != "id":
                        setattr(task, name, State(value) if name == "state" else value)
        elif kind == "task":
            data = record["task"]
            if "params" not in data:  # omitted when equal to the batch's (most tasks)
                data["params"] = dict(self.batches[data["batch_id"]].params)
            task = Task.from_json(data)
            if task.id not in self.tasks:
                self.by_batch.setdefault(task.batch_id, []).append(task.id)
            self.tasks[task.id] = task
        elif kind == "batch":
            batch = Batch.from_json(record["batch"])
            self.batches[batch.id] = batch
            self.by_batch.setdefault(batch.id, [])
        elif kind == "bupd":
            batch_obj = self.batches.get(record.get("id", -1))
            if batch_obj is not None:
                for name, value in record.items():
                    if name in BATCH_FIELDS and name != "id":
                        setattr(batch_obj, name, value)
        elif kind == "done":
            self.done[record["key"]] = DoneEntry(list(record["outputs"]), list(record["sizes"]))
        elif kind == "drop":
            task = self.tasks.pop(record.get("id", ""), None)
            if task is not None and task.id in self.by_batch.get(task.batch_id, []):
                self.by_batch[task.batch_id].remove(task.id)
        elif kind == "forget":
            self.forget(int(record["batch"]))
        elif kind == "session":
            self.boot = str(record.get("boot", ""))
        else:
            log.warning("journal: unknown record type %r ignored", kind)

    def forget(self, batch_id: int) -> None:
        for task_id in self.by_batch.pop(batch_id, []):
            self.tasks.pop(task_id, None)
        self.batches.pop(batch_id, None)

    def snapshot(self) -> Iterator[dict[str, Any]]:
        """Records that rebuild exactly this state (for compaction)."""
        if self.boot:
            yield {"t": "session", "boot": self.boot}
        for batch in self.batches.values():
            yield {"t": "batch", "batch": batch.to_json()}
            for task_id in self.by_batch.get(batch.id, []):
                yield {"t": "task", "task": task_record(self.tasks[task_id], batch)}
        for key, entry in self.done.items():
            yield {"t": "done", "key": key, "outputs": entry.outputs, "sizes": entry.sizes}

    def batch_tasks(self, batch_id: int) -> list[Task]:
        return [self.tasks[t] for t in self.by_batch.get(batch_id, [])]

    def next_batch_id(self) -> int:
        return max(self.batches, default=0) + 1


def task_record(task: Task, batch: Batch) -> dict[str, Any]:
    """A task as the journal stores it: defaults left out, and the parameters too when they
    are the batch's (replay fills them back in)."""
    data = task.to_json(compact=True)
    if data.get("params") == batch.params:
        del data["params"]
    return data
