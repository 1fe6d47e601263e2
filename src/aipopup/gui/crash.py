"""Bugs, as opposed to expected errors: an exception nobody caught (on any thread) opens a crash
dialog with the traceback and a Copy button, and a native crash (a segfault in OpenCV or Qt that
no excepthook sees) leaves a faulthandler log that the next start reports.

Set ``AIPOPUP_NO_CRASH_DIALOG=1`` (or call ``set_dialog_enabled(False)``) to only log; tests and
headless runs must never block on a dialog.
"""

from __future__ import annotations

import faulthandler
import logging
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from aipopup.app import logging_setup
from aipopup.gui.i18n import tr

log = logging.getLogger(__name__)

NATIVE_LOG = "native-crash.log"
ENV_SWITCH = "AIPOPUP_NO_CRASH_DIALOG"

_dialog_enabled = True


def set_dialog_enabled(enabled: bool) -> None:
    global _dialog_enabled
    _dialog_enabled = enabled


def dialog_enabled() -> bool:
    return _dialog_enabled and os.environ.get(ENV_SWITCH, "") not in ("1", "true", "yes")


def format_exception(exc_type: type[BaseException], exc: BaseException,
                     tb: TracebackType | None, thread: str = "") -> str:
    where = f"Uncaught exception in thread {thread}:\n" if thread else "Uncaught exception:\n"
    return where + "".join(traceback.format_exception(exc_type, exc, tb))


class CrashDialog(QDialog):
    """Shows one or more tracebacks; later crashes are appended instead of stacking dialogs."""

    def __init__(self, report: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("AI Popup ran into a bug"))
        self.setObjectName("crashDialog")
        intro = QLabel(
            tr("Something went wrong that AI Popup did not expect. Your queue is saved in the journal. "
               "Copying the details below into a bug report helps fix it; nothing is sent anywhere."),
            self)
        intro.setWordWrap(True)
        self.text = QPlainTextEdit(self)
        self.text.setReadOnly(True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.reports: list[str] = []
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = QPushButton(tr("Copy"), self)
        self.copy_button.setObjectName("copyTraceback")
        logs_button = QPushButton(tr("Open log folder"), self)
        buttons.addButton(self.copy_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.addButton(logs_button, QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy)
        logs_button.clicked.connect(lambda: logging_setup.open_log_folder())
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.text, 1)
        layout.addWidget(buttons)
        self.resize(720, 460)
        self.add_report(report)

    def add_report(self, report: str) -> None:
        self.reports.append(report)
        self.text.setPlainText("\n\n".join(self.reports))

    def full_text(self) -> str:
        """What Copy puts on the clipboard: the tracebacks and the recent log lines."""
        ring = logging_setup.ring_buffer()
        recent = ring.text(last=50) if ring is not None else ""
        body = "\n\n".join(self.reports)
        return f"{body}\n\nRecent log:\n{recent}" if recent else body

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.full_text())


class CrashHandler(QObject):
    """Installs the hooks. Exceptions on worker threads cross to the GUI thread by a queued
    signal: the dialog is only ever built on the thread that owns widgets."""

    crashed = Signal(str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.dialog: CrashDialog | None = None
        self._previous_sys: Any = None
        self._previous_thread: Any = None
        self.crashed.connect(self._show)

    def install(self) -> None:
        self._previous_sys = sys.excepthook
        self._previous_thread = threading.excepthook
        sys.excepthook = self._sys_hook
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        if self._previous_sys is not None:
            sys.excepthook = self._previous_sys
            threading.excepthook = self._previous_thread
            self._previous_sys = self._previous_thread = None

    def _sys_hook(self, exc_type: type[BaseException], exc: BaseException,
                  tb: TracebackType | None) -> None:
        self.report(exc_type, exc, tb, threading.current_thread().name
                    if threading.current_thread() is not threading.main_thread() else "")

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        value = args.exc_value if args.exc_value is not None else args.exc_type()
        self.report(args.exc_type, value, args.exc_traceback,
                    args.thread.name if args.thread is not None else "?")

    def report(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None,
               thread: str = "") -> None:
        text = format_exception(exc_type, exc, tb, thread)
        log.critical("%s", text.rstrip())
        if issubclass(exc_type, KeyboardInterrupt) or not dialog_enabled():
            previous = self._previous_sys or sys.__excepthook__
            previous(exc_type, exc, tb)
            return
        self.crashed.emit(text)

    def _show(self, text: str) -> None:
        if self.dialog is not None and self.dialog.isVisible():
            self.dialog.add_report(text)
        else:
            self.dialog = CrashDialog(text)
            self.dialog.show()
        self.dialog.raise_()
        self.dialog.activateWindow()


# -- native crashes ------------------------------------------------------------------------------

@dataclass(frozen=True)
class NativeCrash:
    """A faulthandler log left by a run that died without running its exit code."""

    path: Path  # where the log was kept
    text: str
    when: float


_fault_file: IO[str] | None = None
_fault_path: Path | None = None


def enable_faulthandler(log_dir: Path) -> NativeCrash | None:
    """Report the last run's native crash, if any, then arm faulthandler for this run.

    The log is created empty at every start and deleted at a clean exit, so a non-empty file
    at the next start means the process died in native code."""
    global _fault_file, _fault_path
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / NATIVE_LOG
    previous: NativeCrash | None = None
    if path.exists():
        text = path.read_text(encoding="utf-8", errors="replace").strip()
        if text:
            when = path.stat().st_mtime
            kept = log_dir / f"native-crash-{time.strftime('%Y%m%d-%H%M%S', time.localtime(when))}.log"
            os.replace(path, kept)
            previous = NativeCrash(kept, text, when)
            log.error("the last run crashed in native code; its log is kept as %s", kept)
    disable_faulthandler()
    _fault_file = open(path, "w", encoding="utf-8")  # noqa: SIM115 - held open for the whole run
    _fault_path = path
    faulthandler.enable(_fault_file, all_threads=True)
    return previous


def disable_faulthandler() -> None:
    """At a clean exit: nothing crashed, so the (empty) log goes."""
    global _fault_file, _fault_path
    if _fault_file is None:
        return
    faulthandler.disable()
    _fault_file.close()
    if _fault_path is not None and _fault_path.exists() and _fault_path.stat().st_size == 0:
        _fault_path.unlink()
    _fault_file = _fault_path = None


def install(log_dir: Path, parent: QObject | None = None) -> tuple[CrashHandler, NativeCrash | None]:
    """The app's start-up call: hooks in, faulthandler armed; returns the last native crash."""
    handler = CrashHandler(parent)
    handler.install()
    return handler, enable_faulthandler(log_dir)
