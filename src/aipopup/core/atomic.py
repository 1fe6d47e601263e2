"""Outputs are never written in place: a temporary file beside the target, then a rename."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

TEMP_MARK = ".aipopup-tmp-"


def temp_path_for(final: Path, tag: str) -> Path:
    """Hidden, beside the target (same file system, so the rename is atomic), keeping the
    extension because encoders such as ``cv2.imwrite`` choose the format from it."""
    return final.with_name(f".{final.stem}{TEMP_MARK}{tag}{final.suffix}")


def remove_temps(folder: Path, tag: str) -> int:
    """Delete temporary files a crashed or cancelled attempt tagged ``tag`` left in ``folder``."""
    removed = 0
    with contextlib.suppress(OSError):
        for leftover in folder.glob(f".*{TEMP_MARK}{tag}*"):
            with contextlib.suppress(OSError):
                leftover.unlink()
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
