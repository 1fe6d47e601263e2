"""Single instance: a second launch hands its files to the first over a user-only local socket."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QDir
from pytestqt.qtbot import QtBot

from aipopup.gui import single_instance
from aipopup.gui.single_instance import InstanceServer, send_to_running


@pytest.fixture
def name() -> str:
    return f"aipopup-test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def server(qtbot: QtBot, name: str) -> Iterator[InstanceServer]:
    server = InstanceServer(name)
    assert server.listen()
    yield server
    server.close()


class SecondLaunch:
    """A real second process calling ``send_to_running``, as ``aipopup FILES...`` does."""

    def __init__(self, files: list[str], name: str, cwd: Path | None = None) -> None:
        code = ("import sys, json; from aipopup.gui.single_instance import send_to_running; "
                "sys.exit(0 if send_to_running(json.loads(sys.argv[1]), sys.argv[2]) else 1)")
        self.process = subprocess.Popen([sys.executable, "-c", code, json.dumps(files), name],
                                        cwd=cwd)

    def wait(self, qtbot: QtBot) -> int:
        # the event loop keeps running meanwhile: the server must answer
        qtbot.waitUntil(lambda: self.process.poll() is not None, timeout=20_000)
        return self.process.returncode


def test_second_launch_forwards_files(qtbot: QtBot, server: InstanceServer, name: str,
                                      tmp_path: Path) -> None:
    photo = tmp_path / "a photo.jpg"
    with qtbot.waitSignal(server.filesReceived, timeout=20_000) as blocker:
        launch = SecondLaunch([str(photo), "https://example.org/x.jpg"], name)
    assert blocker.args == [[str(photo), "https://example.org/x.jpg"]]
    assert launch.wait(qtbot) == 0


def test_relative_paths_are_made_absolute(qtbot: QtBot, server: InstanceServer, name: str,
                                          tmp_path: Path) -> None:
    with qtbot.waitSignal(server.filesReceived, timeout=20_000) as blocker:
        launch = SecondLaunch(["pics/b.png"], name, cwd=tmp_path)
    assert blocker.args == [[str(tmp_path / "pics" / "b.png")]]
    assert launch.wait(qtbot) == 0


def test_no_running_instance(name: str) -> None:
    assert send_to_running(["x.jpg"], name) is False


def test_second_server_cannot_claim_a_live_name(qtbot: QtBot, server: InstanceServer, name: str) -> None:
    second = InstanceServer(name)
    assert second.listen() is False
    # the probe connection of the second server must not be mistaken for a launch
    assert server.server.isListening()


def test_stale_socket_is_replaced(qtbot: QtBot, name: str) -> None:
    path = os.path.join(QDir.tempPath(), name)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()  # the file stays, nobody listens: what a killed instance leaves
    assert os.path.exists(path)
    server = InstanceServer(name)
    try:
        assert server.listen()
        with qtbot.waitSignal(server.filesReceived, timeout=20_000):
            launch = SecondLaunch([], name)
        assert launch.wait(qtbot) == 0
    finally:
        server.close()


def test_socket_is_user_only(server: InstanceServer) -> None:
    mode = os.stat(server.server.fullServerName()).st_mode & 0o777
    assert mode & 0o077 == 0


def test_name_is_per_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIPOPUP_CONFIG_DIR", str(tmp_path / "one"))
    first = single_instance.socket_name()
    monkeypatch.setenv("AIPOPUP_CONFIG_DIR", str(tmp_path / "two"))
    assert single_instance.socket_name() != first
