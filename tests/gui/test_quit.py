"""Quitting the app (the desktop ``Session``) while a download is stuck mid-file on the loopback
server: it stops at a safe point within the 2 s the issue allows, the journal is flushed with the
task queued again (not left "running", which is what a crash leaves), and Resume at the next
start finishes the file from where it stopped."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from aipopup.app import paths
from aipopup.core.engine import Engine
from aipopup.core.planner import BatchRequest
from aipopup.core.settings import Settings
from aipopup.core.task import State
from aipopup.gui.main import QUIT_TIMEOUT_S, Session
from httpserver import Fault, TestServer

WAIT_MS = 30_000
SLACK_S = 1.0  # closing the journal and the window after the safe point, on a loaded machine
KIB = 1024


def test_quit_stops_a_running_download_in_time_and_resume_finishes_it(
        qtbot: QtBot, qapp: QApplication, http_server: TestServer, tmp_path: Path) -> None:
    body = bytes(range(256)) * (1200 * KIB // 256)
    url = http_server.add("/held.bin", body)
    hold = Fault.hold(after=300 * KIB)  # then nothing: only a cancel (or the 30 s stall) ends it
    http_server.fail("/held.bin", hold)
    out = tmp_path / "out"
    session = Session(qapp, Settings(values={"workers": 1, "stall_timeout": 30.0}), [])
    try:
        session.start()
        qtbot.waitUntil(lambda: session.engine is not None, timeout=WAIT_MS)
        window = session.window
        window.submit(BatchRequest("download", [url], str(out), {}))
        assert hold.reached.wait(WAIT_MS / 1000)
        part = out / "held.bin.part"  # once the bytes sent are on disk, the task is blocked in a read
        qtbot.waitUntil(lambda: part.is_file() and part.stat().st_size == 300 * KIB, timeout=WAIT_MS)
        assert window.model.counts()[State.SUCCEEDED] == 0

        began = time.monotonic()
        session.shutdown()
        assert time.monotonic() - began < QUIT_TIMEOUT_S + SLACK_S
        assert not window.isVisible()
    finally:
        qapp.aboutToQuit.disconnect(session.shutdown)
        session.shutdown()

    again = Engine(paths.state_dir(), settings=Settings(values={"workers": 1}), durable=False,
                   start_existing=False)
    try:
        assert again.recovery.requeued == []  # the task was not left marked running
        assert again.recovery.unfinished == 1
        again.scheduler.resume_all()  # what the recovery prompt's Resume does
        assert again.scheduler.wait_idle(timeout=WAIT_MS / 1000)
        (task,) = again.scheduler.tasks()
        assert task.state is State.SUCCEEDED, task.error
        assert task.result.get("resumed_from") == 300 * KIB
    finally:
        assert again.close(5.0)
    assert (out / "held.bin").read_bytes() == body
