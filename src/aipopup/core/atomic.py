"""Outputs are never written in place: a temporary file beside the target, then a rename."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path

TEMP_MARK = ".aipopup-tmp-"


def temp_path_for(final: Path, tag: str) -> Path:
    """Hidden, beside the target (same file system, so the rename is atomic), keeping the
    extension because encoders such as ``cv2.imwrite`` choose the format from it. The tag ends
    at "~", so task 1.1's files are never mistaken for task 1.10's."""
    return final.with_name(f".{final.stem}{TEMP_MARK}{tag}~{final.suffix}")


def temp_tag(name: str) -> str | None:
    """The tag of a temporary file's name, or None when it is not one of ours."""
    start = name.find(TEMP_MARK)
    if not name.startswith(".") or start < 0:
        return None
    tag, sep, _ = name[start + len(TEMP_MARK):].partition("~")
    return tag if sep else None


def remove_temps(folder: Path, tags: Collection[str]) -> int:
    """Delete the temporary files that attempts tagged with any of ``tags`` left in ``folder``
    (after a kill): one listing of the folder, however many tags."""
    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if temp_tag(entry.name) in tags:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)
                removed += 1
    return removed


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: Path) -> None:
    if os.name != "posix":  # Windows cannot open a directory; NTFS renames are journaled anyway
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_write(final: Path, tag: str, *, durable: bool = True) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``final`` in one step.

    ``durable`` fsyncs the data before the rename so that a power cut leaves either the old
    file or the complete new one, never a torn one. On any exception the temporary file goes.
    """
    tmp = temp_path_for(final, tag)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"nothing was written to {tmp}")
        if durable:
            fsync_file(tmp)
        os.replace(tmp, final)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _load_syncfs() -> object | None:
    if not hasattr(os, "sync") or os.name != "posix":
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return libc.syncfs
    except (OSError, AttributeError):  # not Linux/glibc: fsync file by file
        return None


_SYNCFS = _load_syncfs()


def sync_paths(paths: Iterable[str]) -> None:
    """Make these files' data durable. On Linux one syncfs per file system they live on (one
    journal commit of the file system instead of one per file); elsewhere an fsync each. Files
    gone meanwhile are skipped: whoever removed them knows."""
    done_devices: set[int] = set()
    done_folders: set[str] = set()
    # a task's outputs come with its "succeeded" and its "done" record: each is looked at once
    for path in dict.fromkeys(paths):
        folder = os.path.dirname(path)
        if folder in done_folders:
            # an output in a folder is on the folder's file system (it is never a mount point
            # itself), and that one was synced: 1,000 downloads cost 6,000 syscalls without this
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            device = os.fstat(fd).st_dev
            if device in done_devices:
                done_folders.add(folder)
                continue
            if _SYNCFS is not None and _SYNCFS(fd) == 0:  # type: ignore[operator]
                done_devices.add(device)
                done_folders.add(folder)
            else:
                os.fsync(fd)
        except OSError:
            continue
        finally:
            os.close(fd)
