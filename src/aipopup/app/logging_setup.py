"""Logging that serves a bug report: rotating files in the log folder, one logger per area,
and an in-memory ring buffer of recent lines that the window (and the crash dialog) can show.

Nothing here imports Qt at module level: the command line uses the same setup.
"""

from __future__ import annotations

import logging
import logging.handlers
import threading
from collections import deque
from pathlib import Path

from aipopup.app import paths

LOG_FILE = "aipopup.log"
MAX_BYTES = 2 * 1024 * 1024
BACKUPS = 5
RING_LINES = 2000
FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
# The areas a bug report is sorted by; modules log under aipopup.<area>.<module>.
AREAS = ("core", "ops", "gui", "app")


class RingBuffer(logging.Handler):
    """The last ``capacity`` formatted records, for the UI; cheap enough for every record."""

    def __init__(self, capacity: int = RING_LINES) -> None:
        super().__init__()
        self._lines: deque[str] = deque(maxlen=capacity)
        self._guard = threading.Lock()
        self.setFormatter(logging.Formatter(FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:
            self.handleError(record)
            return
        with self._guard:
            self._lines.append(line)

    def lines(self, last: int | None = None) -> list[str]:
        with self._guard:
            items = list(self._lines)
        return items if last is None else items[-last:]

    def text(self, last: int | None = None) -> str:
        return "\n".join(self.lines(last))


_ring: RingBuffer | None = None
_file_handler: logging.Handler | None = None


def area_logger(area: str) -> logging.Logger:
    if area not in AREAS:
        raise ValueError(f"unknown log area {area!r}; one of {', '.join(AREAS)}")
    return logging.getLogger(f"aipopup.{area}")


def setup_logging(log_dir: Path | None = None, level: int = logging.INFO,
                  to_file: bool = True) -> RingBuffer:
    """Idempotent: a second call returns the same ring buffer and moves the file if asked."""
    global _ring, _file_handler
    root = logging.getLogger("aipopup")
    root.setLevel(level)
    if _ring is None:
        _ring = RingBuffer()
        root.addHandler(_ring)
    if to_file:
        folder = log_dir or paths.log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        if _file_handler is not None:
            root.removeHandler(_file_handler)
            _file_handler.close()
        handler = logging.handlers.RotatingFileHandler(
            folder / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        root.addHandler(handler)
        _file_handler = handler
    return _ring


def shutdown_logging() -> None:
    """Detach and close the file handler (tests and a clean exit)."""
    global _file_handler
    if _file_handler is not None:
        logging.getLogger("aipopup").removeHandler(_file_handler)
        _file_handler.close()
        _file_handler = None


def ring_buffer() -> RingBuffer | None:
    return _ring


def open_log_folder(log_dir: Path | None = None) -> bool:
    """Show the log folder in the file manager (the "Open log folder" action)."""
    from PySide6.QtCore import QUrl  # the GUI's action; the CLI never calls it
    from PySide6.QtGui import QDesktopServices

    folder = log_dir or paths.log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
