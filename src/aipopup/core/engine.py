"""Opening a state directory: take the lock, replay the journal, recover what was in flight,
compact, and hand back a running scheduler. Used by the command line, the GUI and the tests."""

from __future__ import annotations

import contextlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from aipopup.core import history
from aipopup.core.atomic import remove_temps
from aipopup.core.executor import Executor, ThreadExecutor
from aipopup.core.heap import bulk_allocation
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
    rebooted: bool = False  # the machine restarted since the journal was last written
    unfinished: int = 0  # tasks not finished, all kinds


def replay(state_dir: Path) -> tuple[Store, ReplayReport]:
    """Rebuild the state without taking the lock (read-only views such as ``jobs list``)."""
    with bulk_allocation():  # hundreds of thousands of containers, none freed
        report = read_records(state_dir / JOURNAL_NAME)
        store = Store()
        for record in report.records:
            try:
                store.apply(record)
            except (KeyError, TypeError, ValueError) as exc:
                log.warning("journal: a record could not be applied (%s): %r", exc, record)
        return store, report


def current_boot() -> str:
    """Something that changes when the machine restarts (and not otherwise)."""
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        import psutil

        return f"boot-time:{int(psutil.boot_time())}"


def recover(store: Store, boot: str) -> Recovery:
    """Tasks that were running when the process died.

    After a kill (same boot), an output renamed into place is complete, because outputs are
    written to a temp file and renamed and the page cache survives a process: the task is done.
    After a restart of the machine, an output whose task never recorded success may have been
    renamed before its data reached the disk (outputs are made durable in groups, before their
    "succeeded" records): it is deleted and the task runs again. Either way the temporary files
    of tasks that run again are deleted."""
    recovery = Recovery(rebooted=bool(store.boot) and store.boot != boot)
    leftovers: dict[Path, set[str]] = {}
    for task in store.tasks.values():
        if task.state is not State.RUNNING:
            continue
        output = Path(task.output) if task.output else None
        ours = output is not None and output.exists() and not task.result.get("output_existed")
        if ours and recovery.rebooted and output is not None:
            with contextlib.suppress(OSError):
                output.unlink()
            ours = False
        if ours and output is not None:
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
            boot = current_boot()
            self.recovery = recover(store, boot)
            self.recovery.damaged_lines = report.damaged_lines
            journal_path = state_dir / JOURNAL_NAME
            if report.damaged:
                self.recovery.backup = keep_backup(journal_path, "damaged")
                log.warning("journal %s: skipped %d damaged line(s); the original is kept as %s",
                            journal_path, len(report.damaged_lines), self.recovery.backup)
            self.settings = settings or Settings()
            self.journal = Journal(journal_path, durable=durable,
                                   sync_files=bool(self.settings.get("durable_outputs", True)))
            # Start from a clean, compact file: drops damage, old updates and forgotten batches.
            moved = self.recovery.requeued or self.recovery.recovered
            if report.damaged or moved or len(report.records) > 1000 + 2 * len(store.tasks):
                self.journal.compact(store.snapshot())
            else:
                self.journal.records_in_file = len(report.records)
            store.boot = boot
            self.journal.append({"t": "session", "boot": boot, "pid": os.getpid(),
                                 "started": time.time()})
            self.executor = executor or ThreadExecutor()
            try:  # before anything runs: the store holds still
                history.backfill(state_dir, ((b, store.batch_tasks(b.id)) for b in store.batches.values()))
            except OSError:
                log.exception("history: finished batches could not be recorded")
            self.scheduler = Scheduler(self.executor, settings=self.settings, journal=self.journal,
                                       store=store, start_existing=start_existing)
            self.scheduler.on_batch_finished = history.batch_recorder(state_dir)
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
