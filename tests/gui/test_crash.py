"""Crash reporting: uncaught exceptions open a dialog (only when switched on), native crashes
leave a faulthandler log that the next start reports."""

from __future__ import annotations

import faulthandler
import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from aipopup.gui import crash


@pytest.fixture
def handler(qtbot: QtBot) -> Iterator[crash.CrashHandler]:
    handler = crash.CrashHandler()
    handler.install()
    yield handler
    handler.uninstall()
    if handler.dialog is not None:
        handler.dialog.close()
        handler.dialog.deleteLater()


@pytest.fixture
def faulthandler_restored() -> Iterator[None]:
    yield
    crash.disable_faulthandler()
    assert sys.__stderr__ is not None
    faulthandler.enable(sys.__stderr__)  # pytest arms it for the session


def boom_in_thread() -> None:
    def explode() -> None:
        raise ValueError("boom from a worker")

    thread = threading.Thread(target=explode, name="worker-7")
    thread.start()
    thread.join()


def test_thread_exception_opens_dialog_with_traceback(
        qtbot: QtBot, handler: crash.CrashHandler, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(crash.ENV_SWITCH, raising=False)
    crash.set_dialog_enabled(True)
    boom_in_thread()
    qtbot.waitUntil(lambda: handler.dialog is not None and handler.dialog.isVisible())
    assert handler.dialog is not None
    text = handler.dialog.text.toPlainText()
    assert "worker-7" in text
    assert "ValueError: boom from a worker" in text
    assert "in explode" in text
    handler.dialog.copy_button.click()
    assert "ValueError: boom from a worker" in QGuiApplication.clipboard().text()
    # a second crash joins the open dialog instead of stacking another one
    first = handler.dialog
    boom_in_thread()
    qtbot.waitUntil(lambda: len(first.reports) == 2)
    assert handler.dialog is first


def test_switch_turns_the_dialog_off(qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
                                     caplog: pytest.LogCaptureFixture) -> None:
    passed_on: list[type[BaseException]] = []
    monkeypatch.setattr(sys, "excepthook", lambda t, v, tb: passed_on.append(t))
    monkeypatch.setenv(crash.ENV_SWITCH, "1")
    assert not crash.dialog_enabled()
    handler = crash.CrashHandler()
    handler.install()
    try:
        with caplog.at_level(logging.CRITICAL, logger="aipopup.gui.crash"):
            try:
                raise RuntimeError("quiet please")
            except RuntimeError as exc:
                sys.excepthook(RuntimeError, exc, exc.__traceback__)
    finally:
        handler.uninstall()
    assert handler.dialog is None
    assert passed_on == [RuntimeError]  # the previous hook still hears about it
    assert any("RuntimeError: quiet please" in r.getMessage() for r in caplog.records)


def test_native_crash_is_reported_at_next_start(tmp_path: Path, faulthandler_restored: None) -> None:
    logs = tmp_path / "logs"
    code = ("import faulthandler, pathlib; from aipopup.gui import crash; "
            f"crash.enable_faulthandler(pathlib.Path({str(logs)!r})); faulthandler._sigsegv()")
    died = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=60)
    assert died.returncode != 0
    report = crash.enable_faulthandler(logs)
    assert report is not None
    assert "Segmentation fault" in report.text
    assert report.path.exists() and report.path.name.startswith("native-crash-")


def test_clean_exit_leaves_no_crash_report(tmp_path: Path, faulthandler_restored: None) -> None:
    logs = tmp_path / "logs"
    assert crash.enable_faulthandler(logs) is None
    crash.disable_faulthandler()
    assert not (logs / crash.NATIVE_LOG).exists()
    assert crash.enable_faulthandler(logs) is None
