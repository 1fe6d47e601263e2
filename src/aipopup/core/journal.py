"""The task journal: JSON Lines, append-only, group-committed, replayed on start.

Every state change is one self-contained record. Records are handed to a writer thread that
writes whatever has accumulated in one ``write`` and one ``fsync`` (group commit), so callers
never wait for the disk; ``barrier`` lets a task wait until its "started" record is safe before
it renames an output into place, which is what makes recovery after a kill exact.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from aipopup.core.atomic import fsync_dir, sync_paths
from aipopup.core.courtesy import breathe

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
JOURNAL_NAME = "journal.jsonl"
# How long the writer gathers records before a commit when nobody is waiting for one: a task's
# state changes come in bursts, and one write + fsync for a burst is the point of group commit.
LINGER_SECONDS = 0.005
LINGER_MAX_RECORDS = 512


class JournalError(RuntimeError):
    pass


@dataclass
class ReplayReport:
    records: list[dict[str, Any]] = field(default_factory=list)
    damaged_lines: list[int] = field(default_factory=list)  # 1-based line numbers skipped
    backup: Path | None = None  # where the damaged file was kept

    @property
    def damaged(self) -> bool:
        return bool(self.damaged_lines)


def read_records(path: Path) -> ReplayReport:
    """Parse a journal, skipping (and counting) torn or garbled lines; never raises on content."""
    report = ReplayReport()
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return report
    lines = raw.split(b"\n")
    try:
        # One parse of the whole file as an array: the per-line loop costs as much as parsing.
        records = orjson.loads(b"[" + b",".join(line for line in lines if line.strip()) + b"]")
        if not all(isinstance(r, dict) and "t" in r for r in records):
            raise ValueError("not all records")
    except ValueError:  # orjson.JSONDecodeError is a ValueError: damaged, go line by line
        records = []
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                if not isinstance(record, dict) or "t" not in record:
                    raise ValueError("not a record") from None
            except ValueError:
                report.damaged_lines.append(number)
                continue
            records.append(record)
    newest = max((r.get("v", FORMAT_VERSION) for r in records), default=FORMAT_VERSION)
    if isinstance(newest, int) and newest > FORMAT_VERSION:
        raise JournalError(
            f"{path} was written by a newer AI Popup (journal format {newest}); update AI Popup "
            "or start with another --state-dir.")
    report.records = records
    return report


def keep_backup(path: Path, reason: str) -> Path:
    backup = path.with_name(f"{path.name}.{reason}-{time.strftime('%Y%m%d-%H%M%S')}")
    shutil.copy2(path, backup)
    return backup


class Journal:
    """Appends records from any thread; a single writer thread owns the file."""

    def __init__(self, path: Path, *, durable: bool = True, sync_files: bool = True) -> None:
        """``durable``: fsync the journal after each commit. ``sync_files``: make the files named
        with a record (a task's outputs) durable before that record is written, so a record
        that says "succeeded" never outlives its output in a power cut."""
        self.path = path
        self.durable = durable
        self.sync_files = sync_files
        self._cond = threading.Condition()
        self._pending: list[dict[str, Any]] = []
        self._pending_files: list[str] = []
        self._appended = 0  # sequence number of the last record handed in
        self._written = 0  # ... and of the last one safely on disk
        self._closed = False
        self._idle = False  # the writer is waiting for records (only then is a wake-up needed)
        self._urgent = 0  # barriers waiting: commit at once, no lingering
        self._error: BaseException | None = None
        self.records_in_file = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(path, "ab")  # noqa: SIM115 - owned by the writer for the journal's life
        self._writer = threading.Thread(target=self._write_loop, name="aipopup-journal", daemon=True)
        self._writer.start()

    # -- producers ---------------------------------------------------------------------------
    def append(self, record: dict[str, Any], files: Iterable[str] = ()) -> int:
        """Queue ``record`` (which the caller must not change afterwards); returns its sequence.
        ``files`` are made durable before the record is written (see ``sync_files``)."""
        record["v"] = FORMAT_VERSION
        with self._cond:
            if self._closed:
                raise JournalError("the journal is closed")
            self._pending.append(record)
            if self.sync_files:
                self._pending_files.extend(files)
            self._appended += 1
            if self._idle:
                self._cond.notify_all()
            return self._appended

    @property
    def last_seq(self) -> int:
        return self._appended

    def barrier(self, seq: int | None = None, timeout: float = 30.0) -> None:
        """Block until record ``seq`` (default: everything appended so far) is on disk."""
        deadline = time.monotonic() + timeout
        with self._cond:
            target = self._appended if seq is None else seq
            if self._written >= target:
                return
            self._urgent += 1
            self._cond.notify_all()
            try:
                while self._written < target:
                    if self._error is not None:
                        raise JournalError(f"the journal could not be written: {self._error}")
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise JournalError("timed out waiting for the journal to reach the disk")
                    self._cond.wait(remaining)
            finally:
                self._urgent -= 1


    # -- the writer ----------------------------------------------------------------------------
    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._idle = True
                    self._cond.wait()
                    self._idle = False
                if not self._pending and self._closed:
                    return
                if not (self._urgent or self._closed) and len(self._pending) < LINGER_MAX_RECORDS:
                    self._cond.wait(LINGER_SECONDS)  # a barrier or close cuts this short
                batch, self._pending = self._pending, []
                files, self._pending_files = self._pending_files, []
                upto = self._appended
            try:
                if files:
                    sync_paths(files)
                blob = b"".join(orjson.dumps(r) + b"\n" for r in batch)
                self._fh.write(blob)
                self._fh.flush()
                if self.durable:
                    os.fsync(self._fh.fileno())
            except BaseException as exc:
                log.exception("journal write failed")
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self.records_in_file += len(batch)
                self._written = upto
                self._cond.notify_all()

    # -- compaction ----------------------------------------------------------------------------
    def compact(self, snapshot: Iterable[dict[str, Any]]) -> None:
        """Replace the file by ``snapshot`` (records that rebuild the current state).

        The caller must hold off appends (the scheduler holds its lock), so nothing falls
        between the snapshot and the new file.
        """
        self.barrier()
        tmp = self.path.with_name(self.path.name + ".compact")
        count = 0
        with open(tmp, "wb") as out:
            for record in snapshot:
                record["v"] = FORMAT_VERSION
                out.write(orjson.dumps(record) + b"\n")
                breathe(count)
                count += 1
            out.flush()
            os.fsync(out.fileno())
        with self._cond:
            self._fh.close()
            os.replace(tmp, self.path)
            fsync_dir(self.path.parent)
            self._fh = open(self.path, "ab")  # noqa: SIM115
            self.records_in_file = count

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()  # also ends a linger: everything pending is written now
        self._writer.join(timeout=30)
        self._fh.close()

