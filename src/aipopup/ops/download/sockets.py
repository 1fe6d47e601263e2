"""The socket under an httpx response: aborting a blocked read on cancel, and reading big
bodies straight from it."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import h11
    import httpx

RAW_BUFFER = 1024 * 1024


class Aborter:
    """Unblocks a read stuck in a socket from the cancelling thread: closing the descriptor does
    not wake a blocked recv on Linux, shutting the socket down does. A new connection's socket
    is caught as soon as it connects (httpcore's trace), so a server that never answers the
    request is left as quickly as one that stops sending the body."""

    def __init__(self, cancelled: bool) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._aborted = cancelled

    def trace(self, event: str, info: dict[str, Any]) -> None:
        if event in ("connection.connect_tcp.complete", "connection.start_tls.complete"):
            self.add(info.get("return_value"))

    def add(self, stream: Any) -> None:
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            self.add_socket(sock)

    def add_socket(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            aborted = self._aborted
        if aborted:  # cancelled while connecting
            _shutdown(sock)

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sockets = list(self._sockets)
        for sock in sockets:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def raw_body(response: httpx.Response, length: int, stall: float) -> Iterator[bytes | memoryview] | None:
    """The body read straight from the socket into one reused buffer, or None where the
    connection is not a plain HTTP/1.1 one of httpcore's (a proxy, another version).

    httpx's own path parses every 64 KiB through h11 and copies it three times; for big files
    that Python work, not the network, is the limit (it costs more CPU than aria2c spends).
    The connection is closed afterwards, since h11 never saw the body end; for a file this
    size one more handshake is nothing."""
    import h11  # imported with httpx already: only its callers pay for it

    try:
        stream: Any = response.stream
        connection = stream._stream._httpcore_stream._stream._connection
        state = connection._h11_state
        sock = connection._network_stream.get_extra_info("socket")
    except AttributeError:
        return None
    if not isinstance(sock, socket.socket) or not isinstance(state, h11.Connection):
        return None
    return _raw_chunks(state, sock, length, stall)


def _raw_chunks(state: h11.Connection, sock: socket.socket, length: int,
                stall: float) -> Iterator[bytes | memoryview]:
    import h11
    import httpx

    got = 0
    while True:  # what h11 had already buffered with the headers
        event = state.next_event()
        if not isinstance(event, h11.Data):
            break
        got += len(event.data)
        yield event.data
    buffer = bytearray(min(RAW_BUFFER, max(length - got, 1)))
    view = memoryview(buffer)
    sock.settimeout(stall)
    while got < length:
        try:
            n = sock.recv_into(view, min(len(buffer), length - got))
        except TimeoutError as exc:
            raise httpx.ReadTimeout(str(exc) or "timed out") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc) or type(exc).__name__) from exc
        if n == 0:
            raise httpx.RemoteProtocolError("peer closed connection without sending complete message "
                                            f"body: received {got} bytes, expected {length}")
        got += n
        yield view[:n]  # written before the next read reuses the buffer
