"""Where task code runs. The scheduler decides what runs and enforces every limit; an executor
only supplies threads, so the command line's thread pool and the GUI's QThreadPool are
interchangeable."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

# More threads than any limit the settings allow, so a slot the scheduler grants never waits.
MAX_THREADS = 160


class Executor(Protocol):
    def submit(self, job: Callable[[], None]) -> None: ...

    def shutdown(self, wait: bool = True) -> None: ...


class ThreadExecutor:
    def __init__(self, max_threads: int = MAX_THREADS) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_threads, thread_name_prefix="aipopup-worker")

    def submit(self, job: Callable[[], None]) -> None:
        self._pool.submit(job)

    def shutdown(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=not wait)
