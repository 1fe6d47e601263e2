"""The history of finished batches, kept apart from the journal because the journal forgets a
batch on "Clear finished" or ``jobs clean`` and a person still wants to look back at it.

Two kinds of file in the state folder, both written only by the engine's owner:
- ``history.jsonl``: one summary line per finished batch (counts, duration, throughput, the
  first failures). Appended and fsync'd; a torn last line (a kill mid-write) is skipped on read.
- ``history/<key>.json``: every task of that batch with its result (faces, boxes, bytes), for
  export. Written atomically before its summary line, so a summary never names a missing file.
Kept small on purpose: 10,000 finished tasks cost one line in the summary file, and the list
loads without reading any per-batch file.

A batch that finishes again (failed tasks retried) gets a new line with the same key; the last
line of a key wins on read. No Qt here: the GUI reads it from a worker thread.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from aipopup.core.atomic import atomic_write, fsync_dir
from aipopup.core.courtesy import breathe
from aipopup.core.heap import bulk_allocation
from aipopup.core.task import Batch, State, Task

log = logging.getLogger(__name__)

HISTORY_NAME = "history.jsonl"
RESULTS_DIR = "history"
FORMAT = 1
FAILURES_KEPT = 20  # in the summary line; the results file has every one

_append_lock = threading.Lock()  # two batches may finish at once on two worker threads


@dataclass(frozen=True)
class BatchRecord:
    key: str  # "<batch>-<created ms>": batch ids are reused once a batch is forgotten
    batch: int
    op: str
    title: str
    created: float
    started: float
    finished: float
    duration: float
    total: int
    done: int
    failed: int
    cancelled: int
    skipped: int
    items_per_s: float
    mb_per_s: float | None  # only when the tasks moved bytes (downloads)
    failures: list[dict[str, str]] = field(default_factory=list)  # input and error, capped
    output_dir: str = ""
    report: dict[str, Any] = field(default_factory=dict)  # the batch finalizer's result
    final_error: str = ""
    results: str = ""  # the results file, relative to the state folder

    def to_json(self) -> dict[str, Any]:
        return {"v": FORMAT, **asdict(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> BatchRecord:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


def record_key(batch: Batch) -> str:
    return f"{batch.id}-{round(batch.created * 1000)}"


def summarize(batch: Batch, tasks: list[Task], results: str = "") -> BatchRecord:
    counts = {state: 0 for state in State}
    for task in tasks:
        counts[task.state] += 1
    started = min((t.started for t in tasks if t.started), default=batch.created)
    finished = max((t.finished for t in tasks if t.finished), default=started)
    duration = max(0.0, finished - started)
    done = counts[State.SUCCEEDED]
    moved = [t.result.get("fetched", t.result.get("bytes")) for t in tasks
             if t.state is State.SUCCEEDED and isinstance(t.result.get("bytes"), int)]
    failures = [{"input": t.input, "error": t.error} for t in tasks if t.state is State.FAILED]
    return BatchRecord(
        key=record_key(batch), batch=batch.id, op=batch.op, title=batch.title or batch.op,
        created=batch.created, started=started, finished=finished, duration=round(duration, 3),
        total=len(tasks), done=done, failed=counts[State.FAILED], cancelled=counts[State.CANCELLED],
        skipped=counts[State.SKIPPED],
        items_per_s=round(done / duration, 3) if duration > 0 else 0.0,
        mb_per_s=(round(sum(int(b or 0) for b in moved) / 1e6 / duration, 3) if moved and duration > 0
                  else None),
        failures=failures[:FAILURES_KEPT], output_dir=batch.output_dir, report=dict(batch.finalized),
        final_error=batch.final_error, results=results)


def record_batch(state_dir: Path, batch: Batch, tasks: list[Task]) -> BatchRecord:
    """Keep ``batch`` (all its tasks finished) in the history: its results file, then its line."""
    key = record_key(batch)
    results = f"{RESULTS_DIR}/{key}.json"
    ordered = sorted(tasks, key=lambda t: (t.seq, t.id))
    with bulk_allocation(), atomic_write(state_dir / results, "history") as tmp, \
            tmp.open("w", encoding="utf-8") as out:
        # One task at a time: a single json.dumps of 10,000 tasks is one C call that holds the
        # GIL for a tenth of a second, and the window stalls that long when a batch finishes.
        out.write(f'{{"v": {FORMAT}, "batch": {json.dumps(batch.to_json(), ensure_ascii=False)}, "tasks": [')
        for n, task in enumerate(ordered):
            breathe(n)
            out.write(",\n" if n else "\n")
            out.write(json.dumps(task.to_json(compact=True), ensure_ascii=False))
        out.write("]}\n")
    record = summarize(batch, ordered, results)
    _append(state_dir / HISTORY_NAME, record.to_json())
    return record


def _append(path: Path, data: dict[str, Any]) -> None:
    line = json.dumps(data, ensure_ascii=False).encode("utf-8") + b"\n"
    with _append_lock:
        created = not path.exists()
        with open(path, "ab") as handle:
            # A kill mid-line leaves no newline at the end: start on a fresh line so the torn
            # record stays one skippable line instead of swallowing this one.
            if handle.tell() and not _ends_with_newline(path):
                line = b"\n" + line
            handle.write(line)
            handle.flush()
            os.fsync(handle.fileno())
        if created:
            fsync_dir(path.parent)


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as handle:
        handle.seek(-1, os.SEEK_END)
        return handle.read(1) == b"\n"


def read_history(state_dir: Path) -> list[BatchRecord]:
    """Finished batches, newest first (the last line of each key)."""
    path = state_dir / HISTORY_NAME
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    latest: dict[str, BatchRecord] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            if not isinstance(data, dict) or int(data.get("v", 0)) > FORMAT:
                raise ValueError("not a history record of this version")
            record = BatchRecord.from_json(data)
        except (ValueError, TypeError) as exc:
            log.warning("history %s line %d skipped: %s", path, number, exc)
            continue
        latest.pop(record.key, None)  # re-inserted: a batch finished again moves to the top
        latest[record.key] = record
    return list(reversed(latest.values()))  # lines are appended as batches finish


def load_results(state_dir: Path, record: BatchRecord) -> tuple[Batch, list[Task]]:
    """The batch and every task of ``record`` as they were when it finished."""
    path = state_dir / record.results
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        batch = Batch.from_json(data["batch"])
        tasks = []
        for item in data["tasks"]:
            item.setdefault("params", dict(batch.params))
            tasks.append(Task.from_json(item))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HistoryError(f"The results of batch {record.batch} cannot be read ({path}: {exc}).") from None
    return batch, tasks


def backfill(state_dir: Path, batches: Iterable[tuple[Batch, list[Task]]]) -> int:
    """Record the finished batches the history lacks or shows with other counts: a kill between
    a batch's last task and its history line, or batches finished before the history existed.
    Returns how many were recorded."""
    known = {r.key: (r.done, r.failed, r.cancelled, r.skipped) for r in read_history(state_dir)}
    recorded = 0
    for batch, tasks in batches:
        if not tasks or not all(t.state.finished for t in tasks):
            continue
        counts = tuple(sum(1 for t in tasks if t.state is s)
                       for s in (State.SUCCEEDED, State.FAILED, State.CANCELLED, State.SKIPPED))
        if known.get(record_key(batch)) != counts:
            record_batch(state_dir, batch, tasks)
            recorded += 1
    return recorded


class HistoryError(Exception):
    """A batch's results file is missing or damaged."""


def batch_recorder(state_dir: Path) -> Callable[[Batch, Iterable[Task]], None]:
    """The scheduler's batch-finished hook for ``state_dir``; a failure to record is logged,
    never raised: losing a history line must not fail a batch."""

    def record(batch: Batch, tasks: Iterable[Task]) -> None:
        try:
            record_batch(state_dir, batch, list(tasks))
        except OSError:
            log.exception("history: batch %s could not be recorded", batch.id)

    return record
