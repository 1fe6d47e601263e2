"""User settings: one typed schema, stored as versioned JSON, saved atomically.

The same ``Param`` schema as operations, so the settings dialog is built and validated the same
way as an operation's form. A file from a newer version is refused rather than overwritten; a
damaged file is kept as a backup and defaults are used.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aipopup.core.atomic import atomic_write
from aipopup.core.errors import ParamError
from aipopup.core.params import Param, Schema, Value

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
CPU_COUNT = os.cpu_count() or 2

SCHEMA = Schema((
    Param("workers", "int", CPU_COUNT, "Images processed at the same time.", minimum=1, maximum=64),
    Param("net_workers", "int", 8, "Downloads at the same time.", label="Downloads at once",
          minimum=1, maximum=64),
    Param("per_host", "int", 4, "Downloads at the same time from one server.",
          label="Downloads per server", minimum=1, maximum=32),
    Param("speed_limit_kib", "int", None, "Download speed limit for the whole queue (KiB/s).",
          label="Speed limit (KiB/s)", minimum=1, maximum=10_000_000, optional=True),
    Param("retries", "int", 3, "Attempts for a task that fails for a passing reason.",
          label="Attempts", minimum=1, maximum=20),
    Param("retry_delay", "float", 1.0, "First back-off delay in seconds; doubles each retry.",
          label="Retry delay (s)", minimum=0.0, maximum=600.0),
    Param("task_timeout", "float", None, "Give up on a task after this many seconds.",
          label="Task timeout (s)", minimum=1.0, maximum=86_400.0, optional=True),
    Param("stall_timeout", "float", 30.0, "A download that receives nothing for this long is retried.",
          label="Stall timeout (s)", minimum=1.0, maximum=3600.0),
    Param("output_dir", "path", "", "Default output folder (empty: a folder beside the inputs).",
          label="Output folder"),
    Param("detector_threshold", "float", 0.6, "Face detector score threshold.",
          label="Detection threshold", minimum=0.05, maximum=0.99),
    Param("detector_size", "int", 640, "Longest side of the copy the detector looks at.",
          label="Detection size", minimum=160, maximum=4096),
    Param("model_path", "path", "", "Another YuNet ONNX model (empty: the bundled one).",
          label="Face model", advanced=True),
    Param("pixel_limit_mp", "int", 200, "Refuse images larger than this many megapixels.",
          label="Pixel limit (MP)", minimum=1, maximum=2000, advanced=True),
    Param("max_download_mb", "int", 20_000, "Refuse downloads larger than this (MB).",
          label="Download size cap (MB)", minimum=1, maximum=10_000_000, advanced=True),
    Param("durable_outputs", "bool", True,
          "Flush finished outputs to disk before recording them as done, so a power cut loses none.",
          label="Flush outputs to disk", advanced=True),
    Param("theme", "choice", "system", "Colour theme.", choices=("system", "light", "dark")),
    Param("language", "choice", "system", "Language of the interface.",
          choices=("system", "en", "zh_CN")),
    Param("close_to_tray", "bool", True, "Closing the window keeps AI Popup running in the tray."),
    Param("notifications", "bool", True, "A notification when a batch finishes or fails."),
    Param("clipboard_links", "bool", False,
          "When the window comes to the front with links in the clipboard, offer to add them. "
          "Off: the clipboard is never read.", label="Offer links from the clipboard"),
    Param("when_done", "choice", "nothing", "What to do when the whole queue has finished.",
          label="When the queue is done",
          choices=("nothing", "open_folder", "run_command", "quit")),
    Param("when_done_command", "str", "",
          "Program and arguments run when the queue is done (no shell); {output} is the last "
          "batch's output folder.", label="Command when done"),
))


class SettingsError(RuntimeError):
    pass


class Settings:
    """Thread-safe values with change listeners; ``get`` is cheap enough for hot paths."""

    def __init__(self, path: Path | None = None, values: Mapping[str, Any] | None = None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._values: dict[str, Value] = SCHEMA.validate(values or {}, strict=False)
        self._listeners: list[Callable[[dict[str, Value]], None]] = []

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def snapshot(self) -> dict[str, Value]:
        with self._lock:
            return dict(self._values)

    def update(self, changes: Mapping[str, Any]) -> dict[str, Value]:
        """Validate and apply ``changes``; listeners hear which values changed. Raises ParamError."""
        with self._lock:
            merged = {**self._values, **changes}
            validated = SCHEMA.validate(merged)
            changed = {k: v for k, v in validated.items() if self._values.get(k) != v}
            self._values = validated
            listeners = list(self._listeners)
        if changed:
            for listener in listeners:
                listener(changed)
        return changed

    def subscribe(self, listener: Callable[[dict[str, Value]], None]) -> None:
        self._listeners.append(listener)

    @classmethod
    def load(cls, path: Path) -> Settings:
        if not path.exists():
            return cls(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            backup = path.with_name(f"{path.name}.bad-{time.strftime('%Y%m%d-%H%M%S')}")
            shutil.copy2(path, backup)
            log.warning("settings file %s is damaged (%s); kept as %s, using defaults", path, exc, backup)
            return cls(path)
        version = data.get("schema_version", 1)
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise SettingsError(
                f"{path} was written by a newer AI Popup (settings version {version}); "
                "update AI Popup, or move the file away to start with defaults.")
        values = data.get("values", {})
        clean: dict[str, Any] = {}
        for name, raw in values.items() if isinstance(values, dict) else ():
            try:
                clean[name] = SCHEMA.get(name).coerce(raw)
            except (KeyError, ParamError) as exc:
                log.warning("settings: ignoring %s=%r (%s)", name, raw, exc)
        return cls(path, clean)

    def save(self) -> None:
        if self.path is None:
            return
        blob = json.dumps({"schema_version": SCHEMA_VERSION, "values": self.snapshot()},
                          indent=2, sort_keys=True)
        with atomic_write(self.path, "settings") as tmp:
            tmp.write_text(blob, encoding="utf-8")
