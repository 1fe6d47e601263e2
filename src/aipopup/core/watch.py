"""Watch folders: files that appear in a folder are handed on once, when they stop changing.

Polling, not OS notifications: a scan of a few folders every few seconds costs nothing, works the
same on every platform and on network shares, and sees files that appeared while the app was
closed. A file is *ready* when its size and modification time are the same in two scans in a row
(a copy in progress keeps growing) and it is not a temporary or partial file. Which files were
handed on (by path, size and mtime) is kept in ``watch-state.json`` in the state folder, written
atomically, so after a restart a file is not queued twice but one that arrived meanwhile is.

The list of watched folders is its own small versioned JSON file (``watch.json`` in the config
folder): a list of records does not fit the flat settings schema, and the loop re-reads it when
it changes, so the settings dialog only has to save it.

No Qt here: the GUI runs ``WatchLoop`` on its own thread and gets ready files through a callback.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aipopup.core.atomic import TEMP_MARK, atomic_write

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
LIST_FILE = "watch.json"
STATE_FILE = "watch-state.json"
SCAN_INTERVAL_S = 3.0
DEFAULT_OUTPUT_NAME = "AI Popup output"
# Browsers and download tools write under these names and rename when complete.
PARTIAL_SUFFIXES = (".part", ".partial", ".crdownload", ".download", ".tmp", ".aria2")

Signature = tuple[int, int]  # size, mtime in ns


class WatchError(ValueError):
    """A watch list cannot be used; the message says which entry and why."""


@dataclass(frozen=True)
class WatchFolder:
    folder: str
    preset: str
    output_dir: str = ""  # empty: DEFAULT_OUTPUT_NAME inside the watched folder

    def output(self) -> Path:
        return Path(self.output_dir) if self.output_dir else Path(self.folder) / DEFAULT_OUTPUT_NAME

    def check(self) -> WatchFolder:
        if not self.folder.strip():
            raise WatchError("a watch folder needs a folder")
        if not self.preset.strip():
            raise WatchError(f"watch folder {self.folder}: choose a preset")
        # Outputs written into the watched folder itself would be picked up and processed again.
        if _same_path(self.output(), Path(self.folder)):
            raise WatchError(f"watch folder {self.folder}: the output folder must be another folder")
        return self


def _same_path(a: Path, b: Path) -> bool:
    return os.path.normcase(os.path.abspath(a.expanduser())) == os.path.normcase(
        os.path.abspath(b.expanduser()))


def load_list(path: Path) -> list[WatchFolder]:
    """The watched folders; none when the file does not exist. Raises WatchError for a damaged
    file or one from a newer version (so saving can never overwrite what a newer app wrote)."""
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise WatchError(f"{path} cannot be read ({exc})") from None
    if not isinstance(data, dict) or not isinstance(data.get("folders"), list):
        raise WatchError(f"{path} is not an AI Popup watch list")
    version = data.get("schema_version", 1)
    if not isinstance(version, int) or version > SCHEMA_VERSION:
        raise WatchError(f"{path} was written by a newer AI Popup (watch list version {version})")
    out: list[WatchFolder] = []
    for item in data["folders"]:
        if not isinstance(item, dict):
            raise WatchError(f"{path}: an entry is not a JSON object")
        out.append(WatchFolder(str(item.get("folder", "")), str(item.get("preset", "")),
                               str(item.get("output_dir", ""))).check())
    return out


def save_list(path: Path, folders: Iterable[WatchFolder]) -> None:
    checked = [f.check() for f in folders]
    blob = json.dumps({"schema_version": SCHEMA_VERSION,
                       "folders": [{"folder": f.folder, "preset": f.preset, "output_dir": f.output_dir}
                                   for f in checked]}, indent=2, ensure_ascii=False)
    with atomic_write(path, "watch") as tmp:
        tmp.write_text(blob, encoding="utf-8")


def is_candidate(name: str) -> bool:
    """Not hidden (our own ``.NAME.aipopup-tmp-…`` temporaries are hidden too), not partial."""
    lower = name.lower()
    return not (name.startswith(".") or TEMP_MARK in name or lower.endswith(PARTIAL_SUFFIXES)
                or name.endswith("~"))


@dataclass(frozen=True)
class Ready:
    """Files of one watched folder that are complete and were never handed on."""

    watch: WatchFolder
    files: tuple[str, ...]
    signatures: tuple[Signature, ...] = field(repr=False)


class FolderWatcher:
    """Scans and remembers. Thread-safe: the loop scans while a worker marks files queued."""

    def __init__(self, state_path: Path) -> None:
        self.state_path = state_path
        self._lock = threading.Lock()
        self._seen: dict[str, Signature] = {}  # what the previous scan saw
        self._handed: dict[str, Signature] = {}  # handed on in this run, maybe not yet queued
        self._queued: dict[str, Signature] = self._load_state()

    def _load_state(self) -> dict[str, Signature]:
        try:
            data = json.loads(self.state_path.read_text(encoding="utf-8"))
            items = data["queued"] if isinstance(data, dict) else {}
            return {str(k): (int(v[0]), int(v[1])) for k, v in items.items()}
        except FileNotFoundError:
            return {}
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as exc:
            # Losing this only means files still in the folders may be processed again, and the
            # engine's skip-done check skips those whose outputs are still there.
            log.warning("watch state %s is damaged (%s); starting afresh", self.state_path, exc)
            return {}

    def scan(self, folders: Sequence[WatchFolder],
             accepts: Callable[[WatchFolder, str], bool] = lambda _w, _n: True) -> list[Ready]:
        """One pass over ``folders`` (top level only: outputs may live in a subfolder)."""
        seen: dict[str, Signature] = {}
        ready: list[Ready] = []
        for watch in folders:
            files: list[str] = []
            sigs: list[Signature] = []
            try:
                entries = list(os.scandir(watch.folder))
            except OSError as exc:
                log.debug("watch: cannot list %s: %s", watch.folder, exc)
                continue
            for entry in sorted(entries, key=lambda e: e.name):
                if not is_candidate(entry.name) or not accepts(watch, entry.name):
                    continue
                try:
                    if not entry.is_file(follow_symlinks=True):
                        continue
                    stat = entry.stat()
                except OSError:
                    continue
                sig = (stat.st_size, stat.st_mtime_ns)
                path = entry.path
                seen[path] = sig
                with self._lock:
                    done = self._queued.get(path) == sig or self._handed.get(path) == sig
                if not done and self._seen.get(path) == sig:
                    files.append(path)
                    sigs.append(sig)
            if files:
                ready.append(Ready(watch, tuple(files), tuple(sigs)))
        with self._lock:
            self._seen = seen
            for item in ready:
                self._handed.update(zip(item.files, item.signatures, strict=True))
        return ready

    def mark_queued(self, items: Iterable[Ready]) -> None:
        """Remember these files durably. Entries for files no longer there are dropped, so the
        state stays as small as the folders."""
        with self._lock:
            for item in items:
                self._queued.update(zip(item.files, item.signatures, strict=True))
            present = {p: s for p, s in self._queued.items() if os.path.exists(p)}
            self._queued = present
            blob = json.dumps({"schema_version": SCHEMA_VERSION, "queued": present}, indent=1)
        try:
            with atomic_write(self.state_path, "watch-state") as tmp:
                tmp.write_text(blob, encoding="utf-8")
        except OSError as exc:
            log.warning("watch: could not save %s: %s", self.state_path, exc)

    def queued(self) -> dict[str, Signature]:
        with self._lock:
            return dict(self._queued)


class WatchLoop:
    """Re-reads the watch list when its file changes, scans every ``interval`` seconds on its own
    thread and calls ``on_ready`` (on that thread) with what is ready. ``stop`` ends it promptly."""

    def __init__(self, list_path: Path, watcher: FolderWatcher,
                 on_ready: Callable[[list[Ready]], None], *, interval: float = SCAN_INTERVAL_S,
                 accepts: Callable[[WatchFolder, str], bool] = lambda _w, _n: True) -> None:
        self.list_path = list_path
        self.watcher = watcher
        self.on_ready = on_ready
        self.interval = interval
        self.accepts = accepts
        self.scans = 0
        self._stop = threading.Event()
        self._folders: list[WatchFolder] = []
        self._list_sig: Any = None
        self._thread = threading.Thread(target=self._run, name="aipopup-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def folders(self) -> list[WatchFolder]:
        return list(self._folders)

    def _reload_list(self) -> None:
        try:
            stat = self.list_path.stat()
            sig: Any = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            sig = None
        if sig == self._list_sig:
            return
        self._list_sig = sig
        try:
            self._folders = load_list(self.list_path)
        except WatchError as exc:
            log.warning("watch: %s; not watching until it is fixed", exc)
            self._folders = []

    def run_once(self) -> list[Ready]:
        self._reload_list()
        ready = self.watcher.scan(self._folders, self.accepts) if self._folders else []
        self.scans += 1
        if ready:
            self.on_ready(ready)
        return ready

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # a bug in one pass must not end watching for the session
                log.exception("watch: scan failed")
            self._stop.wait(self.interval)
