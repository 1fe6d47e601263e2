"""A small HTTP/2 server over TLS on 127.0.0.1, for the download tests (not a general server).

It offers only "h2" through ALPN, serves in-memory files with Range support, and records what
the tests ask about: the protocol each TLS connection negotiated and every request (path,
headers, the connection it came on). ``reset_after[path] = n`` makes the next request for that
path get n body bytes and then a dropped connection (RST), as a network failure mid-body would.

One thread per connection serves its streams in turn; the client still sends every request on
the one connection, which is what the tests check. Flow control is honoured, so files bigger
than the client's window work too.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from dataclasses import dataclass
from typing import Any

import h2.config
import h2.connection
import h2.events
import h2.exceptions


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    connection: int  # the number of the TLS connection it came on, from 1


class H2Server:
    def __init__(self, context: ssl.SSLContext) -> None:
        context.set_alpn_protocols(["h2"])
        self._context = context
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.files: dict[str, bytes] = {}
        self.reset_after: dict[str, int] = {}
        self.protocols: list[str | None] = []  # per TLS connection, what ALPN chose
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._open: list[socket.socket] = []
        self._stopping = False

    def add(self, path: str, body: bytes) -> str:
        self.files[path] = body
        return f"https://127.0.0.1:{self.port}{path}"

    def requests_for(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def __enter__(self) -> H2Server:
        self._start(self._accept_loop)
        return self

    def __exit__(self, *_: object) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):  # closing alone does not wake a thread in accept()
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=10)

    def _start(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        while not self._stopping:
            try:
                raw, _ = self._listener.accept()
            except OSError:
                return
            self._start(self._serve, raw)

    def _serve(self, raw: socket.socket) -> None:
        try:
            sock = self._context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()  # a client that did not trust the certificate
            return
        with self._lock:
            self.protocols.append(sock.selected_alpn_protocol())
            number = len(self.protocols)
            self._open.append(sock)
        with contextlib.suppress(OSError, h2.exceptions.ProtocolError, _Dropped):
            _Connection(self, sock, number).run()
        sock.close()


class _Dropped(Exception):
    """The connection was reset on purpose."""


class _Connection:
    def __init__(self, server: H2Server, sock: ssl.SSLSocket, number: int) -> None:
        self.server, self.sock, self.number = server, sock, number
        self.h2 = h2.connection.H2Connection(h2.config.H2Configuration(client_side=False))
        self.pending: list[tuple[int, dict[str, str]]] = []  # streams asked for, not yet answered

    def run(self) -> None:
        self.h2.initiate_connection()
        self._flush()
        while True:
            self._receive()
            while self.pending:
                self._answer(*self.pending.pop(0))

    def _receive(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise _Dropped()
        for event in self.h2.receive_data(data):
            if isinstance(event, h2.events.RequestReceived):
                headers = {_text(k): _text(v) for k, v in event.headers or []}
                with self.server._lock:
                    self.server.requests.append(Request(headers[":path"], headers, self.number))
                self.pending.append((event.stream_id or 0, headers))
        self._flush()

    def _answer(self, stream_id: int, headers: dict[str, str]) -> None:
        path = headers[":path"]
        body = self.server.files.get(path)
        if body is None:
            self.h2.send_headers(stream_id, [(":status", "404"), ("content-length", "0")], end_stream=True)
            self._flush()
            return
        status, start = "200", 0
        extra: list[tuple[str, str]] = []
        wanted = headers.get("range")
        if wanted and wanted.startswith("bytes=") and wanted.endswith("-"):
            start = int(wanted[len("bytes="):-1])
            status = "206"
            extra = [("content-range", f"bytes {start}-{len(body) - 1}/{len(body)}")]
        part = body[start:]
        self.h2.send_headers(stream_id, [(":status", status), ("content-length", str(len(part))),
                                         ("accept-ranges", "bytes"), ("etag", '"v1"'), *extra])
        self._flush()
        cut = self.server.reset_after.pop(path, None)
        self._send_body(stream_id, part if cut is None else part[:cut], end=cut is None)
        if cut is not None:
            # The connection ends mid-body. Not with a reset (SO_LINGER 0): an RST that overtakes
            # the data makes the client's kernel drop what it had not read yet, and whether any
            # of the body survives would be a race. A plain close delivers the bytes, then EOF.
            self.sock.close()
            raise _Dropped()

    def _send_body(self, stream_id: int, data: bytes, *, end: bool) -> None:
        sent = 0
        while sent < len(data):
            room = min(self.h2.local_flow_control_window(stream_id), self.h2.max_outbound_frame_size)
            if room <= 0:
                self._receive()  # wait for the client's WINDOW_UPDATE
                continue
            self.h2.send_data(stream_id, data[sent:sent + room])
            sent += room
            self._flush()
        if end:
            self.h2.end_stream(stream_id)
            self._flush()

    def _flush(self) -> None:
        out = self.h2.data_to_send()
        if out:
            self.sock.sendall(out)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
