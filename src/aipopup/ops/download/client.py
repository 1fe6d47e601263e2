"""The one HTTP client and the one speed limit that every download in the process shares.

A client per task would pay a TCP (and TLS) handshake per file, which decides the race on many
small files; one shared client keeps connections alive between tasks. The scheduler bounds how
many tasks run at once, so the pool itself is left unbounded and never makes a task wait.
HTTP/2 stays off: a pure-Python framing layer costs more CPU per byte than HTTP/1.1 over
keep-alive connections, and bulk downloads are bound by exactly that.
"""

from __future__ import annotations

import threading
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

import httpx

from aipopup import __version__
from aipopup.core.cancel import CancelToken

USER_AGENT = f"AIPopup/{__version__}"

_LIMITS = httpx.Limits(max_connections=None, max_keepalive_connections=64, keepalive_expiry=30.0)

_lock = threading.Lock()
_client: httpx.Client | None = None


class _SchemeTransport(httpx.BaseTransport):
    """Plain http on a pool that never loads the CA bundle; https on a verifying pool built on
    first use. Loading the certificates costs a tenth of a second, which is a tenth of the
    whole race on 1,000 small files from a local server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # verify=False only skips loading certificates: this pool is only ever given http://
        self._plain = httpx.HTTPTransport(verify=False, limits=_LIMITS)
        self._tls: httpx.HTTPTransport | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.scheme == "http":
            return self._plain.handle_request(request)
        return self._secure().handle_request(request)

    def _secure(self) -> httpx.HTTPTransport:
        with self._lock:
            if self._tls is None:
                self._tls = httpx.HTTPTransport(limits=_LIMITS)
            return self._tls

    def close(self) -> None:
        self._plain.close()
        if self._tls is not None:
            self._tls.close()


def shared_client() -> httpx.Client:
    """Created on first use, on whichever worker thread gets there first; thread-safe after."""
    global _client
    client = _client
    if client is not None and not client.is_closed:
        return client
    with _lock:
        if _client is None or _client.is_closed:
            _client = _new_client()
        return _client


def _new_client() -> httpx.Client:
    common: dict[str, Any] = {
        "follow_redirects": True,
        "max_redirects": 10,
        # the body is stored byte for byte: a compressed transfer would be saved compressed,
        # and Range offsets would count compressed bytes
        "headers": {"Accept-Encoding": "identity", "User-Agent": USER_AGENT},
    }
    if urllib.request.getproxies():
        # httpx only honours proxy variables with its own transports; this machine's own
        # servers are never reached through a proxy
        client = httpx.Client(limits=_LIMITS, trust_env=True, **common,
                              mounts={"all://127.0.0.1": None, "all://localhost": None, "all://[::1]": None})
    else:
        client = httpx.Client(transport=_SchemeTransport(), trust_env=True, **common)
    # the cookies setter would wrap it in a plain Cookies again; if httpx renames the field,
    # this only stops saving time
    client._cookies = _SetCookieOnlyCookies()
    return client


class _SetCookieOnlyCookies(httpx.Cookies):
    """Cookies are kept (a site may set one and redirect to the file), but a response without
    Set-Cookie skips httpx's copy of every header into an email.message: a sixth of the CPU
    of a small download."""

    def extract_cookies(self, response: httpx.Response) -> None:
        if any(name.lower() == b"set-cookie" for name, _ in response.headers.raw):
            super().extract_cookies(response)


def close_shared_client() -> None:
    """For tests and shutdown: the next download creates a fresh client."""
    global _client
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()


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
