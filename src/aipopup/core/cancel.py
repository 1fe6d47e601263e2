"""Cooperative cancellation: Python threads cannot be killed, so operations check a token."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

from aipopup.core.errors import Cancelled, TaskTimeout

CancelReason = Literal["cancel", "pause", "shutdown"]


class CancelToken:
    """Checked by an operation between frames, tiles or chunks (at least every 0.1 s of work).

    Blocking calls that cannot poll (a socket read, a subprocess) register a callback with
    ``on_cancel`` that aborts them from the cancelling thread.
    """

    __slots__ = ("_callbacks", "_deadline", "_event", "_lock", "_reason")

    def __init__(self, timeout: float | None = None) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason: CancelReason | None = None
        self._callbacks: list[Callable[[], None]] = []
        self._deadline = time.monotonic() + timeout if timeout else None

    @property
    def reason(self) -> CancelReason | None:
        return self._reason

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def remaining(self) -> float | None:
        """Seconds until the task's time limit, or None when it has none."""
        return None if self._deadline is None else self._deadline - time.monotonic()

    def cancel(self, reason: CancelReason = "cancel") -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._reason = reason
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` when cancelled (at once if already); returns a function that unregisters it."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return lambda: self._discard(callback)
        callback()
        return lambda: None

    def _discard(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def check(self) -> None:
        """Raise ``Cancelled`` if cancelled, ``TaskTimeout`` if past the deadline."""
        if self._event.is_set():
            raise Cancelled(self._reason or "cancel")
        if self._deadline is not None and time.monotonic() > self._deadline:
            raise TaskTimeout("The task took longer than its time limit.",
                              "Raise the per-task timeout in Settings, or split the input.")

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking early on cancel; True if cancelled."""
        return self._event.wait(seconds)
