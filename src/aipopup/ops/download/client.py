"""The one httpx client that every download in the process shares, for what plainhttp leaves
to it: https, redirects, cookies, proxies, chunked and compressed bodies.

A client per task would pay a TCP (and TLS) handshake per file, which decides the race on many
small files; one shared client keeps connections alive between tasks. The scheduler bounds how
many tasks run at once, so the pool itself is left unbounded and never makes a task wait.

https asks for HTTP/2 through ALPN and gets it where the server offers it: the downloads from one
host (up to the per-host limit) then run as streams on one TLS connection, one handshake for the
lot, as aria2 and curl do with a CDN. A server that offers only http/1.1 is spoken to as before.
Plain http stays on HTTP/1.1 (plainhttp): h2c is practically never offered. HTTP/2 bodies are
framed in pure Python and skip sockets.raw_body, so a big file over HTTP/2 costs more CPU than
over HTTP/1.1; the handshakes saved on many files are worth it.
On HTTP/2 the socket is shared by every stream on it: cancelling one download shuts it down
like on HTTP/1.1 (a blocked read can be woken no other way), and the other downloads on that
connection fail over to a retry that resumes from their partial files.
"""

from __future__ import annotations

import contextlib
import ssl
import threading
import urllib.request
from collections.abc import Iterator
from typing import Any

import httpx

from aipopup.core.errors import TaskError
from aipopup.ops.download import plainhttp, sockets
from aipopup.ops.download.responses import Answer, ConnectionFailed, Stalled, content_length, is_identity

USER_AGENT = plainhttp.USER_AGENT

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
                self._tls = httpx.HTTPTransport(limits=_LIMITS, http2=True)
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
    # NO_PROXY alone shows up as a "no" entry, and names no proxy to go through
    if set(urllib.request.getproxies()) - {"no"}:
        # httpx only honours proxy variables with its own transports; this machine's own
        # servers are never reached through a proxy
        client = httpx.Client(limits=_LIMITS, trust_env=True, http2=True, **common,
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
    """For tests and shutdown: the next download creates a fresh client and new connections."""
    global _client
    plainhttp.close_all()
    with _lock:
        client, _client = _client, None
    if client is not None:
        client.close()


def cookies_kept() -> bool:
    client = _client
    return client is not None and bool(client.cookies.jar)


RAW_MIN = 8 * 1024 * 1024  # bodies this big are read straight from the socket (sockets.raw_body)


@contextlib.contextmanager
def request(url: str, headers: dict[str, str], *, stall: float, connect_timeout: float,
            aborter: sockets.Aborter) -> Iterator[Answer]:
    """One GET through httpx, its errors told as the download's own."""
    timeout = httpx.Timeout(stall, connect=connect_timeout, pool=None)
    try:
        with shared_client().stream("GET", url, headers=headers, timeout=timeout,
                                    extensions={"trace": aborter.trace}) as response:
            aborter.add(response.extensions.get("network_stream"))
            # the socket is known now; httpcore would call the trace twice per body chunk
            response.request.extensions.pop("trace", None)
            head = parse_head(response)
            yield Answer(response.status_code, response.reason_phrase, str(response.url), head,
                         lambda limited: _chunks(response, head, stall, limited))
    except httpx.TooManyRedirects:
        raise TaskError("The server keeps redirecting (a redirect loop).",
                        "The link is probably broken; open it in a browser to check.") from None
    except httpx.UnsupportedProtocol as exc:
        raise TaskError(f"The server redirected to a link that is not http or https ({exc}).",
                        "Only http and https downloads are supported.") from None
    except httpx.InvalidURL as exc:
        raise TaskError(f"The link is not valid: {exc}.", "Check the link.") from None
    except httpx.TimeoutException:
        raise Stalled() from None
    except httpx.TransportError as exc:
        if _untrusted(exc):
            raise TaskError(f"The server's certificate is not trusted: {exc}.",
                            "If it is your organisation's own server, point the SSL_CERT_FILE "
                            "environment variable to its CA bundle (a PEM file).") from None
        text = str(exc) or type(exc).__name__
        raise ConnectionFailed(text[0].lower() + text[1:]) from None


def _untrusted(exc: BaseException) -> bool:
    """A certificate that failed verification, however deep httpcore wrapped it."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _chunks(response: httpx.Response, head: dict[str, str], stall: float,
            limited: bool) -> Iterator[bytes | memoryview]:
    if not is_identity(head):
        return response.iter_bytes()
    length = content_length(head)
    if not limited and length is not None and length >= RAW_MIN:
        raw = sockets.raw_body(response, length, stall)
        if raw is not None:
            return raw
    # no chunk size: httpx would hold received bytes back to fill one, and a dropped
    # connection would lose them; what the transport reads is written at once
    return response.iter_raw()


def parse_head(response: httpx.Response) -> dict[str, str]:
    """The headers once, as a plain dict (the first of repeated ones): httpx's Headers.get
    scans and decodes every header on each call, a dozen times per download."""
    head: dict[str, str] = {}
    for name, value in response.headers.raw:
        head.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return head


plainhttp.cookies_kept = cookies_kept
