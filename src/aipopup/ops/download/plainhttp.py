"""Plain http:// downloads without httpx: one GET on a kept-alive connection, the head parsed
once, the body read from the socket into one reused buffer.

On 1,000 small files httpx's per-request Python (request models, h11 events, a poll of every
pooled socket, three copies of the body) cost more CPU than the engine around it, and the race
against aria2c is decided by CPU. This path only takes the common answer: a 2xx/4xx/5xx with a
Content-Length (or none, read to the close) and an identity body. Whatever else a server says
(a redirect, a chunked or compressed body, a cookie, a URL that needs encoding) raises
``Unsupported`` before a byte of the body is read, and the caller asks httpx, which knows the
rest of HTTP. With a proxy configured, or once any cookie is kept, every request goes to httpx.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from aipopup import __version__
from aipopup.ops.download.responses import Answer, ConnectionFailed, Stalled

USER_AGENT = f"AIPopup/{__version__}"
BUFFER = 1024 * 1024  # bodies are read in pieces up to this size (one write each)
LIMITED_BUFFER = 64 * 1024  # under a speed limit: small pieces keep the rate smooth
MAX_HEAD = 64 * 1024
IDLE_EXPIRY = 30.0  # a kept connection idle longer is closed rather than reused
_NO_BODY = (204, 304)


class Unsupported(Exception):
    """An answer (or a link) left to httpx."""


def _no_cookies() -> bool:
    return False


# httpx's cookie jar, once client.py is imported (it sets this as its last step, so a thread
# that sees the new value sees the whole module)
cookies_kept: Callable[[], bool] = _no_cookies


_proxied: bool | None = None  # whether a proxy is configured: asked once per process


def usable(url: str) -> bool:
    global _proxied
    if _proxied is None:
        _proxied = any(scheme != "no" for scheme in _proxies())  # "no" is NO_PROXY
    return url.startswith("http://") and not _proxied and not cookies_kept()


def _proxies() -> list[str]:
    """The schemes a proxy is configured for, as urllib (and so httpx) finds them."""
    if sys.platform in ("win32", "darwin"):
        import urllib.request  # the system's settings too (the registry, System Configuration)

        return list(urllib.request.getproxies())
    # elsewhere only the environment counts: reading it here spares a run without a proxy
    # the import of urllib.request (http.client, email: 30 ms of a 1,000-file run's CPU)
    return [name.lower()[: -len("_proxy")] for name, value in os.environ.items()
            if value and name.lower().endswith("_proxy")]


@contextlib.contextmanager
def get(url: str, headers: dict[str, str], *, stall: float, connect_timeout: float,
        on_socket: Callable[[socket.socket], None]) -> Iterator[Answer]:
    """One GET; the connection goes back to the pool only if its body was read to the end."""
    host, port, target, host_header = _parse(url)
    if any("\r" in value or "\n" in value for value in headers.values()):
        # an ETag read back from a folder log someone edited: never a second request line
        raise Unsupported("a line break in a header value")
    request = (f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {USER_AGENT}\r\n"
               "Accept: */*\r\nAccept-Encoding: identity\r\n"
               + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n").encode("latin-1")
    exchange = _Exchange(host, port, stall)
    try:
        exchange.send(request, connect_timeout, on_socket)
        yield exchange.answer(url)
    finally:
        exchange.release()


def _parse(url: str) -> tuple[str, int, str, str]:
    if not url.isascii() or any(c in url for c in ' "<>\\^`{|}') or any(ord(c) < 33 for c in url):
        raise Unsupported("the link needs encoding")
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise Unsupported("credentials in the link")
    try:
        port = parts.port or 80
    except ValueError:
        raise Unsupported("a bad port") from None
    host = parts.hostname
    if not host:
        raise Unsupported("no host")
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    shown = f"[{host}]" if ":" in host else host
    return host, port, target, shown if parts.port is None else f"{shown}:{port}"


class _Exchange:
    def __init__(self, host: str, port: int, stall: float) -> None:
        self.key = (host, port)
        self.stall = stall
        self.sock: socket.socket | None = None
        self.reusable = False  # set once the body was read to its end on a keep-alive answer
        self.buffer = bytearray()
        self.head_end = 0

    def send(self, request: bytes, connect_timeout: float,
             on_socket: Callable[[socket.socket], None]) -> None:
        sock = _take(self.key)
        if sock is not None:
            if self._try(sock, request, on_socket):
                return
            # the server closed the kept connection while it idled: nothing was answered on
            # it, so the request goes again on a new one
            self.buffer.clear()
        try:
            sock = socket.create_connection(self.key, timeout=min(connect_timeout, self.stall))
        except TimeoutError:
            raise Stalled("connecting timed out") from None
        except OSError as exc:
            raise ConnectionFailed(_os_error(exc)) from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not self._try(sock, request, on_socket, fresh=True):
            raise ConnectionFailed("the server closed the connection without answering")

    def _try(self, sock: socket.socket, request: bytes, on_socket: Callable[[socket.socket], None],
             *, fresh: bool = False) -> bool:
        """Send and read the head; False (socket closed) if the server hung up without a byte."""
        try:
            on_socket(sock)
            sock.settimeout(self.stall)
            sock.sendall(request)
            if self._read_head(sock):
                self.sock = sock
                return True
        except TimeoutError:
            _close(sock)
            raise Stalled("timed out") from None
        except OSError as exc:
            _close(sock)
            if fresh:
                raise ConnectionFailed(_os_error(exc)) from None
            return False
        except BaseException:
            _close(sock)
            raise
        _close(sock)
        return False

    def _read_head(self, sock: socket.socket) -> bool:
        """Reads until the end of the head; False if the connection closed before any byte."""
        buffer = self.buffer
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end >= 0:
                self.head_end = end + 4
                return True
            if len(buffer) > MAX_HEAD:
                raise Unsupported("a head too big")
            chunk = sock.recv(65536)
            if not chunk:
                if buffer:
                    raise ConnectionFailed("the server closed the connection in the middle of its answer")
                return False
            buffer += chunk

    def answer(self, url: str) -> Answer:
        lines = bytes(self.buffer[: self.head_end - 4]).decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        if len(status_line) < 2 or not status_line[0].startswith("HTTP/1.") or not status_line[1].isdigit():
            raise Unsupported("not an HTTP/1.x answer")
        status = int(status_line[1])
        head: dict[str, str] = {}
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep or name[:1] in (" ", "\t"):
                raise Unsupported("a folded or odd header")
            head.setdefault(name.strip().lower(), value.strip())
        if (status < 200 or 300 <= status < 400 or "transfer-encoding" in head or "set-cookie" in head
                or head.get("content-encoding", "identity").lower() not in ("", "identity")):
            raise Unsupported(f"answer {status}")
        length_text = head.get("content-length")
        if length_text is not None and not length_text.strip().isdigit():
            raise Unsupported("a bad Content-Length")
        length = 0 if status in _NO_BODY else int(length_text) if length_text is not None else None
        keep = (status_line[0] == "HTTP/1.1" and length is not None
                and "close" not in head.get("connection", "").lower())
        extra = self.buffer[self.head_end:]
        self.buffer = bytearray()
        reason = status_line[2] if len(status_line) > 2 else ""
        return Answer(status, reason, url, head,
                      lambda limited: self._body(bytes(extra), length, keep, limited))

    def _body(self, extra: bytes, length: int | None, keep: bool,
              limited: bool) -> Iterator[bytes | memoryview]:
        sock = self.sock
        assert sock is not None
        got = len(extra)
        if length is not None and got > length:
            raise ConnectionFailed("the server sent more than it announced")
        if extra:
            yield extra
        size = LIMITED_BUFFER if limited else BUFFER
        left = None if length is None else length - got
        buffer = bytearray(size if left is None else max(1, min(size, left)))
        view = memoryview(buffer)
        while left is None or left > 0:
            try:
                n = sock.recv_into(view, len(buffer) if left is None else min(len(buffer), left))
            except TimeoutError:
                raise Stalled("timed out") from None
            except OSError as exc:
                raise ConnectionFailed(_os_error(exc)) from None
            if n == 0:
                if length is None or left is None:
                    return  # read to the close: that was the body
                raise ConnectionFailed(f"the server closed the connection after {length - left:,} "
                                       f"of {length:,} bytes")
            got += n
            if left is not None:
                left -= n
            yield view[:n]  # written before the next read reuses the buffer
        self.reusable = keep

    def release(self) -> None:
        sock, self.sock = self.sock, None
        if sock is None:
            return
        if self.reusable:
            _give_back(self.key, sock)
        else:
            _close(sock)


def _os_error(exc: OSError) -> str:
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[0].lower() + text[1:]


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.close()


# -- the pool: idle kept-alive connections per host and port --------------------------------------

_lock = threading.Lock()
_idle: dict[tuple[str, int], list[tuple[socket.socket, float]]] = {}


def _take(key: tuple[str, int]) -> socket.socket | None:
    now = time.monotonic()
    with _lock:
        kept = _idle.get(key)
        while kept:
            sock, since = kept.pop()
            if now - since < IDLE_EXPIRY:
                return sock
            _close(sock)
    return None


def _give_back(key: tuple[str, int], sock: socket.socket) -> None:
    with _lock:
        _idle.setdefault(key, []).append((sock, time.monotonic()))


def close_all() -> None:
    """For tests and shutdown: the next request opens a new connection and looks for proxies."""
    global _proxied
    _proxied = None
    with _lock:
        kept = [sock for socks in _idle.values() for sock, _ in socks]
        _idle.clear()
    for sock in kept:
        _close(sock)


# closed before the interpreter tears down: a socket left to the garbage collector formats a
# ResourceWarning (ignored, but its repr is built all the same) at the end of every run
atexit.register(close_all)
