"""The engine's Executor on a QThreadPool, so task code runs on Qt-managed threads the app can
wait for at quit. The scheduler still decides what runs; this only supplies threads."""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtCore import QRunnable, QThreadPool

from aipopup.core.executor import MAX_THREADS

log = logging.getLogger(__name__)


class _Job(QRunnable):
    def __init__(self, job: Callable[[], None]) -> None:
        super().__init__()
        self._job = job

    def run(self) -> None:
        try:
            self._job()
        except Exception:  # a job that escapes the scheduler's own handling must not kill the pool
            log.exception("engine job failed")


class QtExecutor:
    """A private pool (not the global one): the engine's limits, not Qt's, bound its work, and
    background GUI work (previews, planning) never queues behind 10,000 tasks."""

    def __init__(self, max_threads: int = MAX_THREADS) -> None:
        self.pool = QThreadPool()
        self.pool.setMaxThreadCount(max_threads)
        self.pool.setObjectName("aipopup-engine")

    def submit(self, job: Callable[[], None]) -> None:
        self.pool.start(_Job(job))

    def shutdown(self, wait: bool = True) -> None:
        self.pool.clear()  # jobs not started yet are dropped; the journal keeps their tasks queued
        if wait:
            self.pool.waitForDone()
