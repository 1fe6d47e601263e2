"""The one speed limit that every download in the process shares."""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from typing import Any

from aipopup.core.cancel import CancelToken


class TokenBucket:
    """A byte-rate limit shared by all downloads; a rate of None means unlimited.

    Each caller takes what it needs and sleeps off any debt, so concurrent downloads split the
    rate between them without a central scheduler; sleeps wake early on cancel.
    """

    def __init__(self, rate: float | None = None) -> None:
        self._lock = threading.Lock()
        self._rate: float | None = None
        self._tokens = 0.0
        self._stamp = time.monotonic()
        self.set_rate(rate)

    @property
    def rate(self) -> float | None:
        return self._rate

    def set_rate(self, rate: float | None) -> None:
        with self._lock:
            if rate == self._rate:
                return
            self._rate = rate if rate and rate > 0 else None
            self._tokens = self._burst()
            self._stamp = time.monotonic()

    def _burst(self) -> float:
        # a quarter second of traffic: smooth enough, and a 1 MiB chunk never waits for ages
        return max((self._rate or 0.0) / 4, 64 * 1024)

    def consume(self, amount: int, token: CancelToken | None = None) -> None:
        with self._lock:
            if self._rate is None:
                return
            now = time.monotonic()
            self._tokens = min(self._burst(), self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= amount
            debt = -self._tokens / self._rate if self._tokens < 0 else 0.0
        if debt > 0:
            if token is not None:
                token.wait(debt)
            else:
                time.sleep(debt)


_limiter = TokenBucket()


def shared_limiter(settings: Mapping[str, Any]) -> TokenBucket:
    """The process-wide limiter, set to the current ``speed_limit_kib`` setting."""
    kib = settings.get("speed_limit_kib")
    _limiter.set_rate(float(kib) * 1024 if kib else None)
    return _limiter
