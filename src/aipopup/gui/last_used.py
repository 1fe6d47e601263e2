"""The choices of the last batch started from the wizard: offered again next time, and the job
the tray popup queues dropped files with.

Kept in a QSettings ini file inside the config folder (which tests point at a temp dir), never
in the platform registry, so a portable or test profile stays self-contained.
"""

from __future__ import annotations

import copy
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QSettings

from aipopup.app import paths

KEY = "new_batch/last"


@dataclass
class LastUsed:
    op: str = ""
    output_dir: str = ""
    recursive: bool = True
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # per operation
    review_faces: bool = False  # anonymize: the face review page was asked for


def _path() -> str:
    return str(paths.config_dir() / "gui.ini")


# The GUI thread never touches the file: the last choices are read once (on a worker, see
# ``preload``) and kept in memory, per profile; saving updates the memory at once and writes
# the file on a thread of its own.
_lock = threading.Lock()
_write_lock = threading.Lock()
_memory: dict[str, LastUsed] = {}


def preload() -> None:
    """Read the file now (call on a worker at start), so the window's first ``load`` is free."""
    load()


def load() -> LastUsed:
    path = _path()
    with _lock:
        if path not in _memory:
            _memory[path] = _read(path)
        return copy.deepcopy(_memory[path])


def save(last: LastUsed) -> threading.Thread:
    """Remember ``last``; the file is written on a thread (returned, for tests to join)."""
    path, kept = _path(), copy.deepcopy(last)
    with _lock:
        _memory[path] = kept
    writer = threading.Thread(target=_write, args=(path, copy.deepcopy(kept)), name="aipopup-last-used")
    writer.start()  # not a daemon: a quit right after must still write it
    return writer


def _read(path: str) -> LastUsed:
    raw = QSettings(path, QSettings.Format.IniFormat).value(KEY, "")
    try:
        data = json.loads(raw) if isinstance(raw, str) and raw else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        return LastUsed()
    return LastUsed(op=str(data.get("op", "")), output_dir=str(data.get("output_dir", "")),
                    recursive=bool(data.get("recursive", True)),
                    review_faces=bool(data.get("review_faces", False)),
                    params={k: v for k, v in data.get("params", {}).items() if isinstance(v, dict)})


def _write(path: str, last: LastUsed) -> None:
    with _write_lock:  # saves in quick succession land in order
        store = QSettings(path, QSettings.Format.IniFormat)
        store.setValue(KEY, json.dumps({"op": last.op, "output_dir": last.output_dir,
                                        "recursive": last.recursive, "params": last.params,
                                        "review_faces": last.review_faces}))
        store.sync()
