"""What one output folder holds for downloads: finished files, partial ones, and claimed names.

Two things must survive the process being killed at any moment:

- ``NAME.part``: the bytes of a transfer in progress, beside where ``NAME`` will be.
- ``.aipopup-downloads.jsonl``, the folder's download log: a ``start`` line when a transfer
  begins (URL key, name, ETag / Last-Modified, size: what a resume needs) and a ``done`` line
  when its file is in place (name, size, sha256). One log per folder rather than a sidecar per
  file, because creating a file is the dearest thing a small download does on disk.

The order on completion is: rename the part into place, then log ``done``. Whatever step a kill
interrupts, the next run finds a resumable part, or a ``start`` line next to a complete file of
the size it announced, or the ``done`` line. The log also makes a re-run find its own earlier
file (same name, no "(2)" copy) and tells our finished file apart from somebody else's file
that happens to have the same name. A ``.part`` the log knows nothing about is not ours (a
browser's, say) and is left alone.

Names are claimed under one process-wide lock, so concurrent tasks never pick the same one, and
a key keeps its name for the life of the process (a retried or resumed task finds its part).
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from aipopup.ops.download import names

log = logging.getLogger(__name__)

LOG_NAME = ".aipopup-downloads.jsonl"
FORMAT = 1
COMPACT_MIN_LINES = 2000  # below this a log is never worth rewriting


def download_key(url: str, filename: str | None) -> str:
    """The identity of one download: the same URL saved under two CSV names is two downloads."""
    blob = f"{url}\n{filename or ''}".encode()
    return hashlib.blake2b(blob, digest_size=12).hexdigest()


@dataclass
class PartState:
    """A transfer in progress: enough to resume it after a restart."""

    key: str
    url: str
    name: str
    etag: str | None = None
    last_modified: str | None = None
    total: int | None = None  # the complete size, when the server said
    content_type: str | None = None
    resumable: bool = True

    @property
    def validator(self) -> str | None:
        """What If-Range may carry: a strong ETag, else the Last-Modified date."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified

    def record(self) -> dict[str, Any]:
        # spelled out: dataclasses.asdict deep-copies, which shows in a 1,000-file profile
        return {"v": FORMAT, "ev": "start", "key": self.key, "url": self.url, "name": self.name,
                "etag": self.etag, "last_modified": self.last_modified, "total": self.total,
                "content_type": self.content_type, "resumable": self.resumable}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> PartState:
        total = data.get("total")
        return cls(key=str(data["key"]), url=str(data["url"]), name=str(data["name"]),
                   etag=_opt_str(data.get("etag")), last_modified=_opt_str(data.get("last_modified")),
                   total=total if isinstance(total, int) and total >= 0 else None,
                   content_type=_opt_str(data.get("content_type")),
                   resumable=data.get("resumable", True) is not False)


@dataclass(frozen=True)
class Finished:
    key: str
    name: str
    size: int
    sha256: str | None = None
    url: str = ""

    def record(self) -> dict[str, Any]:
        return {"v": FORMAT, "ev": "done", "key": self.key, "name": self.name, "size": self.size,
                "sha256": self.sha256, "url": self.url}

    @classmethod
    def from_record(cls, data: dict[str, Any]) -> Finished:
        return cls(key=str(data["key"]), name=str(data["name"]), size=int(data["size"]),
                   sha256=_opt_str(data.get("sha256")), url=str(data.get("url", "")))


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class FolderState:
    path: Path
    claims: dict[str, str] = field(default_factory=dict)  # key -> name
    owners: dict[str, str] = field(default_factory=dict)  # name.casefold() -> key
    finished: dict[str, Finished] = field(default_factory=dict)
    by_sha256: dict[str, Finished] = field(default_factory=dict)  # verified files by checksum
    parts: dict[str, PartState] = field(default_factory=dict)
    active: set[str] = field(default_factory=set)  # keys being transferred right now
    _fd: int = -1

    def __post_init__(self) -> None:
        self._dir = str(self.path)

    def begin(self, key: str) -> bool:
        """Mark ``key`` as being transferred; False when another task already is."""
        with _lock:
            if key in self.active:
                return False
            self.active.add(key)
            return True

    def end(self, key: str) -> None:
        with _lock:
            self.active.discard(key)

    # -- names -------------------------------------------------------------------------------

    def claimed(self, key: str) -> str | None:
        with _lock:
            return self.claims.get(key)

    def claim(self, key: str, wanted: str, *, replace_existing: bool = False) -> str:
        """A name for ``key`` that no other download holds and (unless ``replace_existing``)
        no file occupies; the same key always gets the same answer in this process."""
        with _lock:
            if key in self.claims:
                return self.claims[key]
            for candidate in names.variants(wanted):
                owner = self.owners.get(candidate.casefold())
                if owner is not None and owner != key:
                    continue
                if not replace_existing and self._occupied(candidate):
                    continue
                self._set_claim(key, candidate)
                return candidate
        raise AssertionError("unreachable: variants() never ends")

    def release(self, key: str) -> None:
        """Give a name up: the file there is no longer the one we downloaded."""
        with _lock:
            name = self.claims.pop(key, None)
            if name is not None and self.owners.get(name.casefold()) == key:
                del self.owners[name.casefold()]
            entry = self.finished.pop(key, None)
            if entry is not None and entry.sha256 and self.by_sha256.get(entry.sha256) is entry:
                del self.by_sha256[entry.sha256]

    def _occupied(self, name: str) -> bool:
        base = os.path.join(self._dir, name)
        return os.path.lexists(base) or os.path.lexists(base + names.PART_SUFFIX)

    def _set_claim(self, key: str, name: str) -> None:
        old = self.claims.get(key)
        if old is not None and self.owners.get(old.casefold()) == key:
            del self.owners[old.casefold()]
        self.claims[key] = name
        self.owners[name.casefold()] = key

    # -- finished and partial downloads --------------------------------------------------------

    def finished_entry(self, key: str) -> Finished | None:
        with _lock:
            return self.finished.get(key)

    def finished_with_sha256(self, sha256: str) -> Finished | None:
        """A file this folder already holds with that (verified) checksum, whatever its URL:
        a list re-run with fresh signed links names the same files by new URLs."""
        with _lock:
            return self.by_sha256.get(sha256)

    def record_finished(self, entry: Finished) -> None:
        with _lock:
            self.finished[entry.key] = entry
            if entry.sha256:
                self.by_sha256[entry.sha256] = entry
            self.parts.pop(entry.key, None)
            self._append(entry.record())

    def part_state(self, key: str) -> PartState | None:
        with _lock:
            state = self.parts.get(key)
            return dataclasses.replace(state) if state else None

    def record_start(self, state: PartState) -> None:
        """Logged before the part's first byte, so a part on disk is always one we can place."""
        with _lock:
            self.parts[state.key] = dataclasses.replace(state)
            self._append(state.record())

    def part_path(self, name: str) -> Path:
        return self.path / (name + names.PART_SUFFIX)

    def drop_part(self, key: str, name: str) -> None:
        with _lock:
            self.parts.pop(key, None)
        with contextlib.suppress(FileNotFoundError):
            self.part_path(name).unlink()

    def _append(self, record: dict[str, Any]) -> None:
        # not fsync'd: a kill keeps what reached the OS; a line lost to a power cut costs a
        # second copy or a restarted transfer, never a wrong "already done"
        line = orjson.dumps(record) + b"\n"
        if self._fd < 0:
            self.path.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path / LOG_NAME, os.O_WRONLY | os.O_APPEND | os.O_CREAT
                               | getattr(os, "O_BINARY", 0), 0o644)
            if os.name == "nt":
                _hide(self.path / LOG_NAME)
        os.write(self._fd, line)

    def log_lost(self) -> None:
        """The folder was deleted under us: the next line goes to a new log in the new folder."""
        with _lock:
            self._close()

    def _close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1

    # -- loading -------------------------------------------------------------------------------

    def _load(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        path = self.path / LOG_NAME
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return
        lines = data.decode("utf-8", errors="replace").splitlines()
        for line in lines:
            self._replay(line)
        if len(lines) > COMPACT_MIN_LINES and len(lines) > 2 * (len(self.finished) + len(self.parts)):
            self._compact(path)
        elif data and not data.endswith(b"\n"):
            # a line torn by a kill: end it, or the next line would be glued on and lost too
            self._append_raw(b"\n")

    def _replay(self, line: str) -> None:
        try:
            data = json.loads(line)
            if data.get("ev") == "start":
                state = PartState.from_record(data)
                if names.sanitize(state.name) != state.name:
                    return  # never trust a name that could leave the folder, even our own
                self.parts[state.key] = state
                self._set_claim(state.key, state.name)
            elif data.get("ev") == "done":
                entry = Finished.from_record(data)
                if names.sanitize(entry.name) != entry.name:
                    return
                self.finished[entry.key] = entry
                if entry.sha256:
                    self.by_sha256[entry.sha256] = entry
                self.parts.pop(entry.key, None)
                self._set_claim(entry.key, entry.name)
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # a torn or foreign line; its download is found by another line or restarts

    def _compact(self, path: Path) -> None:
        records = [e.record() for e in self.finished.values()] + [s.record() for s in self.parts.values()]
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(json.dumps(r, separators=(",", ":")) + "\n" for r in records),
                       encoding="utf-8")
        os.replace(tmp, path)
        if os.name == "nt":
            _hide(path)

    def _append_raw(self, data: bytes) -> None:
        with open(self.path / LOG_NAME, "ab") as fh:
            fh.write(data)


def _hide(path: Path) -> None:
    """A leading dot hides the log everywhere but on Windows, which wants an attribute."""
    import ctypes

    file_attribute_hidden = 0x2
    windll: Any = getattr(ctypes, "windll")  # noqa: B009 - absent from ctypes off Windows
    windll.kernel32.SetFileAttributesW(str(path), file_attribute_hidden)


_lock = threading.RLock()
_folders: dict[Path, FolderState] = {}


def folder_state(path: Path) -> FolderState:
    """The state of one output folder, read from disk the first time this process uses it."""
    state = _folders.get(path)
    if state is not None:
        return state
    key = Path(os.path.abspath(path))
    with _lock:
        state = _folders.get(key)
        if state is None:
            state = FolderState(key)
            state._load()
            _folders[key] = state
        _folders[path] = state  # also under the caller's spelling: the next look-up is one dict get
        return state


def forget_folders() -> None:
    """Drop what this process remembers, so the next use reads the disk as a new process would."""
    with _lock:
        for state in _folders.values():
            state._close()
        _folders.clear()
