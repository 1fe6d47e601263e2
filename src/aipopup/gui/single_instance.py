"""One running AI Popup per user and profile: a second ``aipopup FILES...`` hands its files to
the first over a local socket and exits.

The socket is reachable by the current user only (``UserAccessOption``), and its name is derived
from the user and the config folder, so a test profile never talks to the real instance. A socket
file left by a killed instance is detected (nobody answers) and replaced.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import logging
import os
from collections.abc import Sequence

from PySide6.QtCore import QByteArray, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

from aipopup.app import paths

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_MS = 500
REPLY_TIMEOUT_MS = 3000
MAX_MESSAGE = 4 * 1024 * 1024
ACK = b"ok\n"


def socket_name() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid()) if hasattr(os, "getuid") else "user"
    profile = hashlib.blake2b(str(paths.config_dir()).encode(), digest_size=6).hexdigest()
    return f"aipopup-{user}-{profile}"


def _message(files: Sequence[str]) -> bytes:
    # Relative paths mean nothing to the other process: it has its own working directory.
    absolute = [f if "://" in f else os.path.abspath(f) for f in files]
    return json.dumps({"files": absolute}).encode() + b"\n"


def send_to_running(files: Sequence[str], name: str | None = None) -> bool:
    """Hand ``files`` to a running instance; False when none answers. Blocking: call it before
    the event loop starts (or off the GUI thread)."""
    socket = QLocalSocket()
    socket.connectToServer(name or socket_name())
    if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
        return False
    try:
        socket.write(QByteArray(_message(files)))
        if not socket.waitForBytesWritten(REPLY_TIMEOUT_MS):
            return False
        reply = b""
        while not reply.endswith(b"\n"):
            if not socket.waitForReadyRead(REPLY_TIMEOUT_MS):
                return False
            reply += bytes(socket.readAll().data())
        return reply == ACK
    finally:
        socket.abort()


class InstanceServer(QObject):
    """Listens for later launches; ``filesReceived`` carries their files (maybe empty: a plain
    second launch should bring the window forward)."""

    filesReceived = Signal(list)

    def __init__(self, name: str | None = None, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.name = name or socket_name()
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        self._buffers: dict[QLocalSocket, bytes] = {}

    def listen(self) -> bool:
        """Claim the name. False when another live instance holds it.

        Probe first: with socket options set, Qt listens by renaming a new socket over the old
        path, so ``listen`` alone would silently steal the name from a live instance."""
        probe = QLocalSocket()
        probe.connectToServer(self.name)
        alive = probe.waitForConnected(CONNECT_TIMEOUT_MS)
        probe.abort()
        if alive:
            return False
        # Nobody answered: whatever socket file is there was left by a killed instance.
        QLocalServer.removeServer(self.name)
        if self.server.listen(self.name):
            return True
        log.warning("single instance: cannot listen on %s: %s", self.name, self.server.errorString())
        return False

    def close(self) -> None:
        for socket in list(self._buffers):
            socket.abort()
        self._buffers.clear()
        self.server.close()

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            socket = self.server.nextPendingConnection()
            self._buffers[socket] = b""
            socket.readyRead.connect(lambda s=socket: self._read(s))
            socket.disconnected.connect(lambda s=socket: self._drop(s))

    def _drop(self, socket: QLocalSocket) -> None:
        self._buffers.pop(socket, None)
        socket.deleteLater()

    def _read(self, socket: QLocalSocket) -> None:
        if socket not in self._buffers:
            return
        data = self._buffers[socket] + bytes(socket.readAll().data())
        if len(data) > MAX_MESSAGE:
            log.warning("single instance: message too long; dropped")
            socket.abort()
            return
        if not data.endswith(b"\n"):
            self._buffers[socket] = data
            return
        self._buffers[socket] = b""
        try:
            message = json.loads(data)
            files = [str(f) for f in message.get("files", [])]
        except (ValueError, AttributeError, TypeError):
            log.warning("single instance: unreadable message dropped")
            socket.abort()
            return
        socket.write(QByteArray(ACK))
        socket.flush()
        socket.disconnectFromServer()
        self.filesReceived.emit(files)


def claim_or_forward(files: Sequence[str], parent: QObject | None = None) -> InstanceServer | None:
    """At start-up: None when a running instance took the files (this process should exit),
    else this instance's server. If the name can be neither claimed nor reached, the app still
    starts, just without forwarding."""
    server = InstanceServer(parent=parent)
    if server.listen():
        return server
    if send_to_running(files, server.name):
        server.deleteLater()
        return None
    log.warning("single instance: %s is held but not answering; running without it", server.name)
    return server
