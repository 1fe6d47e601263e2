"""download: one URL to one file in the output folder, resumable, verified, never half-presented.

One call is one attempt. Failures that may pass raise ``TransientError`` and the scheduler
retries with back-off; the ``.part`` and its log line stay, so the next attempt (or the next
process) continues from the bytes on disk with ``Range`` + ``If-Range``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from aipopup.core.errors import Cancelled, TaskError, TransientError
from aipopup.core.operation import TaskContext
from aipopup.ops.download import names, plainhttp, responses, sockets
from aipopup.ops.download.folder import Finished, FolderState, PartState, download_key, folder_state
from aipopup.ops.download.limiter import TokenBucket, shared_limiter
from aipopup.ops.download.responses import Answer, ConnectionFailed, Stalled

MIB = 1024 * 1024
PROGRESS_EVERY = 0.25  # seconds between progress reports of one task
_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


@dataclass(frozen=True)
class Options:
    url: str
    filename: str | None
    sha256: str | None
    stall_timeout: float
    max_bytes: int
    replace_existing: bool


def run(ctx: TaskContext) -> dict[str, Any]:
    options = _options(ctx)
    try:
        folder = folder_state(ctx.output_dir)
        key = download_key(options.url, options.filename)
        if not folder.begin(key):
            # the same URL into the same folder from another batch: one transfer, then this
            # task finds the finished file on its retry
            raise TransientError("The same download is already running in another task.",
                                 "It is retried when that one has finished.", retry_after=2.0)
        try:
            done = _already_done(ctx, folder, key, options)
            if done is not None:
                return done
            ctx.check()
            return _Transfer(ctx, folder, key, options, shared_limiter(ctx.settings)).run()
        finally:
            folder.end(key)
    except OSError as exc:  # the network's errors arrive as Stalled / ConnectionFailed; these are the disk's
        where = exc.filename or ctx.output_dir
        raise TaskError(f"Cannot write {where}: {exc.strerror or exc}.",
                        "Check that the output folder exists, is writable and has free space.") from None


def _options(ctx: TaskContext) -> Options:
    url = ctx.input.strip()
    scheme = urlsplit(url).scheme.lower() if "://" in url else ""
    if scheme not in ("http", "https"):
        shown = f"{scheme}:// URLs are" if scheme else f"{url!r} is not a URL; only URLs"
        raise TaskError(f"{shown} not downloaded; only http and https.",
                        "Give an http:// or https:// link.")
    if not urlsplit(url).hostname:
        raise TaskError(f"{url!r} has no host name.", "Check the link.")
    sha = ctx.params.get("sha256") or None
    if sha is not None and not _SHA256.match(str(sha).strip()):
        raise TaskError(f"The expected sha256 {sha!r} is not 64 hexadecimal digits.",
                        "Fix the sha256 column of the list.")
    stall = ctx.params.get("stall_timeout") or ctx.settings.get("stall_timeout") or 30.0
    max_mb = ctx.params.get("max_size_mb") or ctx.settings.get("max_download_mb") or 20_000
    filename = ctx.params.get("filename") or None
    return Options(url=url, filename=str(filename) if filename else None,
                   sha256=str(sha).strip().lower() if sha else None,
                   stall_timeout=float(stall), max_bytes=int(max_mb) * 1_000_000,
                   replace_existing=ctx.overwrite == "always")


def _already_done(ctx: TaskContext, folder: FolderState, key: str,
                  options: Options) -> dict[str, Any] | None:
    """A finished file of ours is not fetched again, even when the journal never heard of it
    (the app killed after the rename): the folder's download log vouches for it."""
    entry = folder.finished_entry(key)
    if entry is None and options.sha256 is not None:
        entry = _same_sha256(folder, options.sha256)
        if entry is not None:
            ctx.outputs.append(str(folder.path / entry.name))
            ctx.progress(1.0, "already downloaded")
            return {"bytes": entry.size, "fetched": 0, "resumed_from": entry.size,
                    "content_type": None, "sha256": entry.sha256, "url": options.url,
                    "name": entry.name, "is_image": responses.is_image(entry.name, None),
                    "already_done": True, "same_as": entry.url}
    if entry is None:
        state = folder.part_state(key)
        final = folder.path / state.name if state else None
        if (state is None or final is None or state.total is None
                or folder.part_path(state.name).exists() or not final.is_file()
                or final.stat().st_size != state.total):
            return None
        entry = Finished(key, state.name, state.total, url=options.url)
        folder.record_finished(entry)
    final = folder.path / entry.name
    try:
        size = final.stat().st_size
    except FileNotFoundError:
        return None  # removed since: fetch it again under the same name
    if size != entry.size:
        folder.release(key)  # changed since: not ours to replace; a new name is picked
        return None
    digest = entry.sha256
    if options.sha256 is not None:
        digest = digest if digest == options.sha256 else _file_sha256(final, ctx)
        if digest != options.sha256:
            return None  # our earlier copy is not the wanted file: fetch it again over it
    ctx.outputs.append(str(final))
    ctx.progress(1.0, "already downloaded")
    return {"bytes": size, "fetched": 0, "resumed_from": size, "content_type": None,
            "sha256": digest, "url": options.url, "name": entry.name,
            "is_image": responses.is_image(entry.name, None), "already_done": True}


def _same_sha256(folder: FolderState, sha256: str) -> Finished | None:
    """Another URL's finished file with the wanted checksum, still there at its size."""
    entry = folder.finished_with_sha256(sha256)
    if entry is None:
        return None
    try:
        size = (folder.path / entry.name).stat().st_size
    except FileNotFoundError:
        return None
    return entry if size == entry.size else None


class _Transfer:
    def __init__(self, ctx: TaskContext, folder: FolderState, key: str, options: Options,
                 limiter: TokenBucket) -> None:
        self.ctx = ctx
        self.folder = folder
        self.key = key
        self.opt = options
        self.limiter = limiter
        self.state = folder.part_state(key)
        self.fetched = 0
        self.resumed_from = 0
        self.head: dict[str, str] = {}

    # -- the attempt ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        try:
            final_url, content_type = self._fetch()
            return self._finish(final_url, content_type)
        except Cancelled as exc:
            if exc.reason == "cancel" and self.state is not None:
                self.folder.drop_part(self.key, self.state.name)  # a pause keeps it
            raise

    def _fetch(self) -> tuple[str, str | None]:
        offset = self._resumable_offset()
        try:
            with self._request(offset) as answer:
                self.head = answer.head
                start = self._accept(answer, offset)
                self.resumed_from = start
                total = self.state.total if self.state else None
                if start and start == total:  # the part was already complete (416)
                    content_type = self.state.content_type if self.state else None
                else:
                    self._stream(answer, start)
                    content_type = responses.media_type(self.head)
                final_url = answer.url
        except Stalled:
            self._raise_if_cancelled()
            raise TransientError(f"No data from the server for {self.opt.stall_timeout:g} s.",
                                 "The download is retried and resumes where it stopped.") from None
        except ConnectionFailed as exc:
            self._raise_if_cancelled()
            raise TransientError(f"The connection failed: {exc}.",
                                 "The download is retried and resumes where it stopped.") from None
        return final_url, content_type

    def _discard_data(self) -> None:
        assert self.state is not None
        with contextlib.suppress(FileNotFoundError):
            self.folder.part_path(self.state.name).unlink()

    def _resumable_offset(self) -> int:
        if self.state is None:
            return 0
        if not self.state.resumable:
            self._discard_data()
            return 0
        try:
            size = self.folder.part_path(self.state.name).stat().st_size
        except FileNotFoundError:
            return 0
        if self.state.total is not None and size > self.state.total:
            self._discard_data()  # longer than the file: not trustworthy
            return 0
        return size

    @contextlib.contextmanager
    def _request(self, offset: int) -> Iterator[Answer]:
        headers = {}
        if offset > 0 and self.state is not None:
            headers["Range"] = f"bytes={offset}-"
            if self.state.validator:
                headers["If-Range"] = self.state.validator
        stall = self.opt.stall_timeout
        connect = min(stall, 30.0)
        self.ctx.check()
        aborter = sockets.Aborter(self.ctx.token.cancelled)
        unregister = self.ctx.token.on_cancel(aborter.abort)
        try:
            if plainhttp.usable(self.opt.url):
                try:
                    with plainhttp.get(self.opt.url, headers, stall=stall, connect_timeout=connect,
                                       on_socket=aborter.add_socket) as answer:
                        yield answer
                    return
                except plainhttp.Unsupported:
                    pass  # nothing of the body was read: httpx asks again
            # imported here: a run of plain http links never loads httpx (a tenth of a second)
            from aipopup.ops.download import client

            with client.request(self.opt.url, headers, stall=stall, connect_timeout=connect,
                                aborter=aborter) as answer:
                yield answer
        finally:
            unregister()

    def _raise_if_cancelled(self) -> None:
        if self.ctx.token.cancelled:
            self.ctx.check()

    # -- deciding what the response means ------------------------------------------------------

    def _accept(self, answer: Answer, offset: int) -> int:
        """Check the answer before a byte is written; returns where the body starts in the file."""
        status = answer.status
        if status == 416 and offset > 0 and self.state is not None:
            _, _, total = responses.content_range(self.head)
            if total == offset and self.state.total in (None, offset):
                self.state.total = offset  # the part was already complete
                return offset
            self._restart_needed("the server refused to resume")
        if status not in (200, 206):
            responses.raise_for_status(answer)
        if self._is_error_page():
            raise TaskError(
                f"The server answered with a web page ({responses.media_type(self.head)}) instead of "
                "the file; the partial download was kept.",
                "The link has probably expired. Get a fresh link, or retry later to resume.")
        if status == 206:
            first, _last, total = responses.content_range(self.head)
            if offset > 0 and self.state is not None:
                if first != offset or (self.state.total is not None and total != self.state.total):
                    self._restart_needed("the server sent a different part than asked for")
                if total is None:
                    total = self.state.total
                self._check_size(total)
                self.state.total = total
                return offset
            if first != 0:
                raise TransientError("The server sent only part of the file without being asked.",
                                     "The download is retried.")
            self._begin(answer, total)
            return 0
        # 200: a fresh download, or a server that ignores Range / a file that changed since:
        # either way the whole file comes again, so what is on disk is dropped
        self._begin(answer, responses.content_length(self.head))
        return 0

    def _is_error_page(self) -> bool:
        if self.state is None or not self.folder.part_path(self.state.name).exists():
            return False  # nothing to protect; a web page asked for is a fine download
        got = responses.media_type(self.head)
        expected = (self.state.content_type or "").lower()
        return got in _HTML_TYPES and expected not in _HTML_TYPES

    def _restart_needed(self, why: str) -> None:
        assert self.state is not None
        self.folder.drop_part(self.key, self.state.name)
        raise TransientError(f"Could not resume: {why}; starting over.",
                             "The download is retried from the beginning.")

    def _begin(self, answer: Answer, total: int | None) -> None:
        """A whole-file answer: pick the name (now that Content-Disposition is known) and
        record the start in the folder's log before the part exists."""
        self._check_size(total)
        if self.state is None:
            wanted = names.choose(override=self.opt.filename,
                                  disposition=self.head.get("content-disposition"),
                                  url=answer.url, content_type=responses.media_type(self.head))
            if self.opt.filename is None:  # a list's own file name is used as it is
                wanted = names.templated(wanted, self.ctx.name_template, n=_task_number(self.ctx))
            name = self.folder.claim(self.key, wanted, replace_existing=self.opt.replace_existing)
        else:
            name = self.state.name
        self.state = PartState(key=self.key, url=self.opt.url, name=name,
                               etag=self.head.get("etag"),
                               last_modified=self.head.get("last-modified"),
                               total=total if responses.is_identity(self.head) else None,
                               content_type=responses.media_type(self.head) or None,
                               # decoded bytes on disk cannot be matched to encoded Range offsets
                               resumable=responses.is_identity(self.head))
        self._guard_inside(self.folder.path / name)
        self.folder.record_start(self.state)  # the part is truncated when it is opened

    def _check_size(self, total: int | None) -> None:
        if total is not None and total > self.opt.max_bytes:
            raise TaskError(f"The file is {total / 1e6:,.0f} MB, over the {self.opt.max_bytes / 1e6:,.0f} MB "
                            "limit.", "Raise the download size cap in Settings if it is wanted.")

    def _guard_inside(self, path: Path) -> None:
        # names are single sanitized components; this is the last line should that ever change
        if path.parent != self.folder.path or path.name in ("", ".", ".."):
            raise TaskError(f"Refusing to write outside the output folder: {path}.")

    # -- the body ------------------------------------------------------------------------------

    def _stream(self, answer: Answer, start: int) -> None:
        assert self.state is not None
        part = self.folder.part_path(self.state.name)
        total = self.state.total
        written = start
        limit = self.opt.max_bytes
        chunks = answer.body(self.limiter.rate is not None)
        fd = self._open_part(part, append=start > 0)
        try:
            last_report = time.monotonic()
            for chunk in chunks:
                self.ctx.check()
                written += len(chunk)
                if written > limit or (total is not None and written > total):
                    os.close(fd)
                    fd = -1
                    self.folder.drop_part(self.key, self.state.name)
                    if written > limit:
                        raise TaskError(f"The download passed the {limit / 1e6:,.0f} MB limit.",
                                        "Raise the download size cap in Settings if it is wanted.")
                    raise TransientError("The server sent more than the file's announced size.",
                                         "The download is retried from the beginning.")
                _write_all(fd, chunk)
                self.fetched += len(chunk)
                self.limiter.consume(len(chunk), self.ctx.token)
                now = time.monotonic()
                if now - last_report >= PROGRESS_EVERY:
                    last_report = now
                    self.ctx.progress(written / total if total else 0.0, f"{written / MIB:,.1f} MiB")
        finally:
            if fd >= 0:
                os.close(fd)
        self.ctx.check()
        if total is not None and written < total:
            raise TransientError(f"The connection ended after {written:,} of {total:,} bytes.",
                                 "The download is retried and resumes where it stopped.")
        if total is None:
            self.state.total = written

    def _open_part(self, part: Path, *, append: bool) -> int:
        assert self.state is not None
        # a whole-file answer truncates whatever an earlier attempt left
        flags = os.O_WRONLY | os.O_CREAT | getattr(os, "O_BINARY", 0)
        flags |= os.O_APPEND if append else os.O_TRUNC
        try:
            return os.open(part, flags, 0o644)
        except FileNotFoundError:
            # the output folder was removed since this process first used it: a new folder,
            # and the start logged again in a new log there
            part.parent.mkdir(parents=True, exist_ok=True)
            self.folder.log_lost()
            self.folder.record_start(self.state)
            return os.open(part, flags, 0o644)

    def _finish(self, final_url: str, content_type: str | None) -> dict[str, Any]:
        assert self.state is not None
        name = self.state.name
        part, final = self.folder.part_path(name), self.folder.path / name
        try:
            size = os.stat(part).st_size
        except FileNotFoundError:
            part.touch()  # an empty file is still a file
            size = 0
        digest = None
        if self.opt.sha256 is not None:
            digest = _file_sha256(part, self.ctx)
            if digest != self.opt.sha256:
                self.folder.drop_part(self.key, name)
                raise TaskError(f"The file's sha256 is {digest}, not the expected {self.opt.sha256}; "
                                "the download was removed.",
                                "The server sent a different file; check the link and the checksum.")
        # Not ctx.commit: its wait for the journal's "running" record lets recovery adopt a
        # task's planned output, and a download has none (the name is only known now). What
        # a kill leaves here is judged by the folder log instead (see folder.py), so the wait
        # bought nothing and cost half of a small file's time (measured: 3.4 of 7 ms).
        self.ctx.check()
        os.replace(part, final)
        self.ctx.outputs.append(str(final))
        self.folder.record_finished(Finished(self.key, name, size, digest, self.opt.url))
        return {"bytes": size, "fetched": self.fetched, "resumed_from": self.resumed_from,
                "content_type": content_type, "sha256": digest, "url": final_url, "name": name,
                "is_image": responses.is_image(name, content_type), "already_done": False}


# -- helpers -------------------------------------------------------------------------------------

def _write_all(fd: int, data: bytes | memoryview) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _task_number(ctx: TaskContext) -> int:
    """{n} of a download's name: its place in the batch ("3.17" -> 17)."""
    number = ctx.task_id.rpartition(".")[2]
    return int(number) if number.isdigit() else 1


def _file_sha256(path: Path, ctx: TaskContext) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(4 * MIB):
            ctx.check()
            digest.update(block)
    return digest.hexdigest()
