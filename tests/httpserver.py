"""A real HTTP/1.1 server on 127.0.0.1 for download tests and benchmarks, with switchable faults.

Resources live in memory. Each request to a path first takes the next queued fault for it (a
status, a reset mid-body, a hold that stalls until released, an HTML error page, a Range
ignored), then is served normally; so "500, then success" is ``server.fail(path, Fault.status(500))``.
Timing is controlled with Events, never sleeps: a ``hold`` fault signals ``reached`` when the
transfer is stuck and continues when ``gate`` is set (or the server stops).

Used as the ``http_server`` pytest fixture (registered from conftest) and by the benchmarks.
"""

from __future__ import annotations

import contextlib
import hashlib
import socket
import ssl
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Fault:
    kind: str  # "status" | "reset" | "hold" | "silent" | "html" | "ignore_range" | "wrong_range"
    status: int = 500
    after: int = 0  # body bytes sent before a reset or a hold
    headers: dict[str, str] = field(default_factory=dict)
    reached: threading.Event = field(default_factory=threading.Event)
    gate: threading.Event = field(default_factory=threading.Event)

    @classmethod
    def http_status(cls, status: int, **headers: str) -> Fault:
        return cls("status", status=status, headers={k.replace("_", "-"): v for k, v in headers.items()})

    @classmethod
    def reset(cls, after: int) -> Fault:
        """Send the headers and ``after`` body bytes, then reset the connection (RST)."""
        return cls("reset", after=after)

    @classmethod
    def hold(cls, after: int = 0) -> Fault:
        """Send ``after`` body bytes, then send nothing until ``gate`` is set (a stall)."""
        return cls("hold", after=after)

    @classmethod
    def silent(cls) -> Fault:
        """Read the request, then answer nothing until ``gate`` is set (no headers, no body)."""
        return cls("silent")

    @classmethod
    def html(cls, status: int = 200) -> Fault:
        """An expired link's answer: a web page instead of the file."""
        return cls("html", status=status)

    @classmethod
    def ignore_range(cls) -> Fault:
        return cls("ignore_range")

    @classmethod
    def wrong_range(cls) -> Fault:
        """Answer a Range request with 206 for the wrong bytes (the file from its start)."""
        return cls("wrong_range")


@dataclass
class Resource:
    body: bytes
    content_type: str = "application/octet-stream"
    etag: str | None = None
    last_modified: str | None = None
    ranges: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    redirect: str | None = None
    faults: deque[Fault] = field(default_factory=deque)


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]


class TestServer:
    __test__ = False  # not a test class, despite the name

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        """``tls``: serve https with this server-side context (its certificate and key)."""
        self._lock = threading.Lock()
        self.resources: dict[str, Resource] = {}
        self.requests: list[Request] = []
        self.body_bytes_sent = 0
        self.connections_opened = 0
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._httpd = _Server(("127.0.0.1", 0), _Handler)
        self._httpd.owner = self
        self.scheme = "https" if tls is not None else "http"
        if tls is not None:
            self._httpd.socket = tls.wrap_socket(self._httpd.socket, server_side=True)
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="test-http-server", daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"{self.scheme}://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, body: bytes, *, content_type: str = "application/octet-stream",
            etag: bool | str = True, last_modified: bool = True, ranges: bool = True,
            headers: dict[str, str] | None = None) -> str:
        """Serve ``body`` at ``path`` (replacing what was there, queued faults included)."""
        tag = (f'"{hashlib.sha1(body).hexdigest()[:16]}"' if etag is True
               else etag if isinstance(etag, str) else None)
        with self._lock:
            self.resources[path] = Resource(
                body, content_type, tag,
                formatdate(time.time() - 3600, usegmt=True) if last_modified else None,
                ranges, dict(headers or {}))
        return self.url(path)

    def redirect(self, path: str, location: str, headers: dict[str, str] | None = None) -> str:
        with self._lock:
            self.resources[path] = Resource(b"", redirect=location, headers=dict(headers or {}))
        return self.url(path)

    def fail(self, path: str, *faults: Fault) -> None:
        with self._lock:
            self.resources[path].faults.extend(faults)

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def drop_idle_connections(self) -> None:
        """Close every kept-alive connection, as a server does when they idle too long."""
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def start(self) -> TestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            for resource in self.resources.values():
                for fault in resource.faults:
                    fault.gate.set()
            connections = list(self._connections)
        for conn in connections:  # idle keep-alive handlers would otherwise wait for the client
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- used by the handler --------------------------------------------------------------------

    def _take(self, method: str, path: str, headers: dict[str, str]) -> tuple[Resource | None, Fault | None]:
        with self._lock:
            self.requests.append(Request(method, path, headers))
            resource = self.resources.get(path)
            fault = resource.faults.popleft() if resource and resource.faults else None
            return resource, fault

    def _count(self, n: int) -> None:
        with self._lock:
            self.body_bytes_sent += n

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
                self.connections_opened += 1
            else:
                self._connections.discard(conn)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner: TestServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients hanging up mid-body is what these tests are about


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 10  # an idle keep-alive connection is dropped after this

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, True)

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
        self.server.owner._track(self.connection, False)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def do_GET(self) -> None:
        self._serve(head=False)

    def _serve(self, *, head: bool) -> None:
        owner = self.server.owner
        path = self.path.split("?", 1)[0]
        resource, fault = owner._take(self.command, path, {k.lower(): v for k, v in self.headers.items()})
        if resource is None:
            return self._simple(404, b"not found")
        if resource.redirect is not None:
            return self._simple(302, b"", {"Location": resource.redirect, **resource.headers})
        if fault is not None and fault.kind == "silent":
            fault.reached.set()
            while not fault.gate.wait(0.05):
                if owner.stopping.is_set():
                    return self._reset()
            fault = None
        if fault is not None and fault.kind == "status":
            return self._simple(fault.status, b"error", fault.headers)
        if fault is not None and fault.kind == "html":
            page = b"<html><body><h1>This link has expired</h1></body></html>"
            return self._simple(fault.status, page, {"Content-Type": "text/html; charset=utf-8"})
        body = resource.body
        start, end, status = 0, len(body), 200
        wanted = self._range(resource, ignore=fault is not None and fault.kind == "ignore_range")
        if wanted is not None:
            first, last = wanted
            if first >= len(body):
                return self._simple(416, b"", {"Content-Range": f"bytes */{len(body)}"})
            start, end, status = first, min(last + 1, len(body)), 206
            if fault is not None and fault.kind == "wrong_range":
                start = 0
        self.send_response(status)
        self.send_header("Content-Type", resource.content_type)
        self.send_header("Content-Length", str(end - start))
        if resource.ranges:
            self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(body)}")
        if resource.etag:
            self.send_header("ETag", resource.etag)
        if resource.last_modified:
            self.send_header("Last-Modified", resource.last_modified)
        for name, value in resource.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if head:
            return None
        view = memoryview(body)[start:end]
        if fault is not None and fault.kind in ("reset", "hold"):
            self._send(view[: fault.after])
            if fault.kind == "reset":
                return self._reset()
            fault.reached.set()
            while not fault.gate.wait(0.05):
                if owner.stopping.is_set():
                    return self._reset()
            view = view[fault.after:]
        self._send(view)
        return None

    def _range(self, resource: Resource, *, ignore: bool) -> tuple[int, int] | None:
        header = self.headers.get("Range")
        if not header or not resource.ranges or ignore or not header.startswith("bytes="):
            return None
        if_range = self.headers.get("If-Range")
        if if_range and if_range not in (resource.etag, resource.last_modified):
            return None  # the file changed since: the whole of it, per RFC 9110
        first, _, last = header[len("bytes="):].partition("-")
        if not first.isdigit():
            return None
        return int(first), int(last) if last.isdigit() else len(resource.body) - 1

    def _send(self, data: memoryview) -> None:
        step = 256 * 1024
        for i in range(0, len(data), step):
            self.wfile.write(data[i:i + step])
            self.server.owner._count(min(step, len(data) - i))

    def _simple(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        headers = {"Content-Type": "text/plain", **(headers or {})}
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _reset(self) -> None:
        with contextlib.suppress(OSError):
            self.wfile.flush()
            # linger 0: close sends RST, what a dropped connection looks like to the client
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        self.connection.close()



@pytest.fixture
def http_server() -> Iterator[TestServer]:
    with TestServer() as server:
        yield server
