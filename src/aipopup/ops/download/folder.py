"""What one output folder holds for downloads: finished files, partial ones, and claimed names.

Three things must survive the process being killed at any moment:

- ``NAME.part`` + ``NAME.part.json`` (the sidecar): a transfer in progress; the sidecar says which
  URL it belongs to and the validator (ETag / Last-Modified) a resume needs. The sidecar is
  written before the first byte of the part, so a ``.part`` without one is not ours (a browser's,
  say) and is left alone.
- ``.aipopup-downloads.jsonl`` (the ledger): one line per finished download, URL key -> name and
  size. It makes a re-run find its own earlier file (same name, no "(2)" copy) and tells our
  finished file apart from somebody else's file that happens to have the same name.
- The order on completion: rename the part into place, append to the ledger, delete the sidecar.
  Whatever step a kill interrupts, the next run finds either a resumable part, or the sidecar
  next to a complete file of the size it recorded, or the ledger line.

Names are claimed under one process-wide lock, so concurrent tasks never pick the same one, and
a key keeps its name for the life of the process (a retried or resumed task finds its part).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from aipopup.ops.download import names

log = logging.getLogger(__name__)

LEDGER_NAME = ".aipopup-downloads.jsonl"
FORMAT = 1


def download_key(url: str, filename: str | None) -> str:
    """The identity of one download: the same URL saved under two CSV names is two downloads."""
    blob = f"{url}\n{filename or ''}".encode()
    return hashlib.blake2b(blob, digest_size=12).hexdigest()


@dataclass
class PartState:
    """The sidecar's content: enough to resume a transfer after a restart."""

    key: str
    url: str
    name: str
    etag: str | None = None
    last_modified: str | None = None
    total: int | None = None  # the complete size, when the server said
    content_type: str | None = None
    resumable: bool = True
    v: int = FORMAT

    @property
    def validator(self) -> str | None:
        """What If-Range may carry: a strong ETag, else the Last-Modified date."""
        if self.etag and not self.etag.startswith("W/"):
            return self.etag
        return self.last_modified

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PartState:
        total = data.get("total")
        return cls(key=str(data["key"]), url=str(data["url"]), name=str(data["name"]),
                   etag=_opt_str(data.get("etag")), last_modified=_opt_str(data.get("last_modified")),
                   total=total if isinstance(total, int) else None,
                   content_type=_opt_str(data.get("content_type")),
                   resumable=data.get("resumable", True) is not False)


@dataclass(frozen=True)
class Finished:
    key: str
    name: str
    size: int
    sha256: str | None = None
    url: str = ""
    v: int = FORMAT


def _opt_str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass
class FolderState:
    path: Path
    claims: dict[str, str] = field(default_factory=dict)  # key -> name
    owners: dict[str, str] = field(default_factory=dict)  # name.casefold() -> key
    finished: dict[str, Finished] = field(default_factory=dict)

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
        """Give a name up (our file there turned out not to be ours, or was removed)."""
        with _lock:
            name = self.claims.pop(key, None)
            if name is not None and self.owners.get(name.casefold()) == key:
                del self.owners[name.casefold()]
            self.finished.pop(key, None)

    def _occupied(self, name: str) -> bool:
        return any(os.path.lexists(self.path / n)
                   for n in (name, name + names.PART_SUFFIX, name + names.SIDECAR_SUFFIX))

    def _set_claim(self, key: str, name: str) -> None:
        old = self.claims.get(key)
        if old is not None and self.owners.get(old.casefold()) == key:
            del self.owners[old.casefold()]
        self.claims[key] = name
        self.owners[name.casefold()] = key

    # -- finished downloads ------------------------------------------------------------------

    def finished_entry(self, key: str) -> Finished | None:
        with _lock:
            return self.finished.get(key)

    def record_finished(self, entry: Finished) -> None:
        line = json.dumps(asdict(entry), separators=(",", ":")) + "\n"
        with _lock:
            self.finished[entry.key] = entry
            # not fsync'd: a kill keeps what reached the OS; a lost line after a power cut only
            # costs a second copy next time, never a wrong "already done"
            with open(self.path / LEDGER_NAME, "a", encoding="utf-8") as fh:
                fh.write(line)

    # -- partial downloads -------------------------------------------------------------------

    def part_path(self, name: str) -> Path:
        return self.path / (name + names.PART_SUFFIX)

    def sidecar_path(self, name: str) -> Path:
        return self.path / (name + names.SIDECAR_SUFFIX)

    def read_part_state(self, key: str) -> PartState | None:
        name = self.claimed(key)
        if name is None:
            return None
        state = _read_sidecar(self.sidecar_path(name))
        return state if state is not None and state.key == key else None

    def write_part_state(self, state: PartState) -> None:
        path = self.sidecar_path(state.name)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(asdict(state), separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)

    def drop_part(self, name: str, *, keep_data: bool = False, keep_sidecar: bool = False) -> None:
        """Delete a transfer's part and sidecar (``keep_data``: only the sidecar, after the part
        was renamed into place; ``keep_sidecar``: only the data, to start the transfer over)."""
        paths = []
        if not keep_data:
            paths.append(self.part_path(name))
        if not keep_sidecar:
            paths.append(self.sidecar_path(name))
        for path in paths:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    # -- loading -----------------------------------------------------------------------------

    def _load(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self._load_ledger()
        with os.scandir(self.path) as entries:
            sidecars = [e.name for e in entries if e.name.endswith(names.SIDECAR_SUFFIX)]
        for sidecar in sidecars:
            state = _read_sidecar(self.path / sidecar)
            name = sidecar[: -len(names.SIDECAR_SUFFIX)]
            if state is None or state.name != name:
                # a sidecar torn by a kill is written before its part exists; nothing to keep
                log.warning("removing an unreadable download state file %s", self.path / sidecar)
                self.drop_part(name)
                continue
            self._set_claim(state.key, name)

    def _load_ledger(self) -> None:
        try:
            text = (self.path / LEDGER_NAME).read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return
        for line in text.splitlines():
            try:
                data = json.loads(line)
                entry = Finished(key=str(data["key"]), name=str(data["name"]), size=int(data["size"]),
                                 sha256=_opt_str(data.get("sha256")), url=str(data.get("url", "")))
            except (ValueError, KeyError, TypeError):
                continue  # a line torn by a kill: that download is found by its sidecar instead
            if names.sanitize(entry.name) != entry.name:
                continue  # never trust a name that could leave the folder, even from our own file
            self.finished[entry.key] = entry
            self._set_claim(entry.key, entry.name)


def _read_sidecar(path: Path) -> PartState | None:
    try:
        state = PartState.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state if names.sanitize(state.name) == state.name else None


_lock = threading.RLock()
_folders: dict[Path, FolderState] = {}


def folder_state(path: Path) -> FolderState:
    """The state of one output folder, read from disk the first time this process uses it."""
    key = Path(os.path.abspath(path))
    with _lock:
        state = _folders.get(key)
        if state is None:
            state = FolderState(key)
            state._load()
            _folders[key] = state
        return state


def forget_folders() -> None:
    """Drop what this process remembers, so the next use reads the disk as a new process would."""
    with _lock:
        _folders.clear()
