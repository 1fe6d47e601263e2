"""The choices of the last batch started from the wizard: offered again next time, and the job
the tray popup queues dropped files with.

Kept in a QSettings ini file inside the config folder (which tests point at a temp dir), never
in the platform registry, so a portable or test profile stays self-contained.
"""

from __future__ import annotations

import json
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


def _store() -> QSettings:
    return QSettings(str(paths.config_dir() / "gui.ini"), QSettings.Format.IniFormat)


def load() -> LastUsed:
    raw = _store().value(KEY, "")
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


def save(last: LastUsed) -> None:
    store = _store()
    store.setValue(KEY, json.dumps({"op": last.op, "output_dir": last.output_dir,
                                    "recursive": last.recursive, "params": last.params,
                                    "review_faces": last.review_faces}))
    store.sync()
