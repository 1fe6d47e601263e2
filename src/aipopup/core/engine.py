"""Opening a state directory: take the lock, replay the journal, recover what was in flight,
compact, and hand back a running scheduler. Used by the command line, the GUI and the tests."""

from __future__ import annotations

import gc
import logging
from dataclasses import dataclass, field
from pathlib import Path

from aipopup.core.atomic import remove_temps
from aipopup.core.executor import Executor, ThreadExecutor
from aipopup.core.journal import JOURNAL_NAME, Journal, ReplayReport, keep_backup, read_records
from aipopup.core.lockfile import StateLock
from aipopup.core.scheduler import Scheduler
from aipopup.core.settings import Settings
from aipopup.core.store import Store
from aipopup.core.task import UNFINISHED, State

log = logging.getLogger(__name__)


@dataclass
class Recovery:
    """What replay found: shown to the person as "N unfinished tasks from your last session"."""

    damaged_lines: list[int] = field(default_factory=list)
    backup: Path | None = None
    requeued: list[str] = field(default_factory=list)  # were running: will run again
    recovered: list[str] = field(default_factory=list)  # were running, output complete: done
    unfinished: int = 0  # tasks not finished, all kinds


def replay(state_dir: Path) -> tuple[Store, ReplayReport]:
    """Rebuild the state without taking the lock (read-only views such as ``jobs list``)."""
    # Replay allocates hundreds of thousands of containers and frees none: the cyclic collector
    # would rescan the growing heap again and again for nothing.
    collecting = gc.isenabled()
    gc.disable()
    try:
        report = read_records(state_dir / JOURNAL_NAME)
        store = Store()
        for record in report.records:
            try:
                store.apply(record)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("journal: a record could not be applied (%s): %r", exc, record)
        return store, report
    finally:
        if collecting:
            gc.enable()


def recover(store: Store) -> Recovery:
    """Tasks that were running when the process died: an output renamed into place is complete
    (outputs are written to a temp file and renamed), so the task is done; otherwise it runs
    again and whatever temporary file it left is deleted."""
    recovery = Recovery()
    leftovers: dict[Path, set[str]] = {}
    for task in store.tasks.values():
        if task.state is not State.RUNNING:
            continue
        output = Path(task.output) if task.output else None
        if output is not None and output.exists() and not task.result.get("output_existed"):
            task.state = State.SUCCEEDED
            task.outputs = [str(output)]
            task.progress = 1.0
            task.result = {"recovered": True}
            recovery.recovered.append(task.id)
        else:
            task.state = State.QUEUED
            task.progress = 0.0
            recovery.requeued.append(task.id)
        batch = store.batches.get(task.batch_id)
        for folder in (output.parent if output else None, Path(batch.output_dir) if batch else None):
            if folder is not None:
                leftovers.setdefault(folder, set()).add(task.id)
    for folder, tags in leftovers.items():
        remove_temps(folder, tags)
    recovery.unfinished = sum(1 for t in store.tasks.values() if t.state in UNFINISHED)
    return recovery


class Engine:
    def __init__(self, state_dir: Path, *, settings: Settings | None = None,
                 executor: Executor | None = None, durable: bool = True,
                 start_existing: bool = True) -> None:
        self.state_dir = state_dir
        self.lock = StateLock(state_dir)
        self.lock.acquire()
        try:
            store, report = replay(state_dir)
            self.recovery = recover(store)
            self.recovery.damaged_lines = report.damaged_lines
            journal_path = state_dir / JOURNAL_NAME
            if report.damaged:
                self.recovery.backup = keep_backup(journal_path, "damaged")
                log.warning("journal %s: skipped %d damaged line(s); the original is kept as %s",
                            journal_path, len(report.damaged_lines), self.recovery.backup)
            self.journal = Journal(journal_path, durable=durable)
            # Start from a clean, compact file: drops damage, old updates and forgotten batches.
            moved = self.recovery.requeued or self.recovery.recovered
            if report.damaged or moved or len(report.records) > 1000 + 2 * len(store.tasks):
                self.journal.compact(store.snapshot())
            else:
                self.journal.records_in_file = len(report.records)
            self.executor = executor or ThreadExecutor()
            self.settings = settings or Settings()
            self.scheduler = Scheduler(self.executor, settings=self.settings, journal=self.journal,
                                       store=store, start_existing=start_existing)
        except BaseException:
            self.lock.release()
            raise

    def close(self, timeout: float = 2.0) -> bool:
        stopped = self.scheduler.shutdown(timeout)
        self.journal.close()
        self.executor.shutdown(wait=stopped)
        self.lock.release()
        return stopped

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
