"""Counting the inputs of a batch (a folder walk); runs on a worker thread, no Qt."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from aipopup.gui.wizard.choices import Scan, is_link


def parse_extensions(text: str) -> frozenset[str]:
    """"jpg, .PNG webp" -> {".jpg", ".png", ".webp"}."""
    words = text.replace(",", " ").replace(";", " ").split()
    return frozenset("." + w.lower().lstrip(".").lstrip("*.") for w in words if w.strip(".*"))


def scan_inputs(inputs: Iterable[str], *, recursive: bool, extensions: frozenset[str]) -> Scan:
    """Files named directly always count (as the planner tries them); files in folders count
    when their extension is in ``extensions``. Hidden files and folders are skipped."""
    result = Scan()
    for raw in inputs:
        if is_link(raw):
            result.links += 1
            continue
        path = Path(raw).expanduser()
        if path.is_dir():
            for folder, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for name in sorted(files):
                    if name.startswith(".") or Path(name).suffix.lower() not in extensions:
                        continue
                    _add(result, os.path.join(folder, name))
                if not recursive:
                    break
        elif path.is_file() and (not extensions or path.suffix.lower() in extensions):
            _add(result, str(path))
    return result


def _add(result: Scan, path: str) -> None:
    try:
        result.total_bytes += os.stat(path).st_size
    except OSError:
        return
    result.files.append(path)


def human_size(size: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TB"
