"""What a drop or a paste holds: local files and folders, and http(s) links."""

from __future__ import annotations

import re

from PySide6.QtCore import QMimeData

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


def links_in(text: str) -> list[str]:
    return [m.group(0).rstrip(".,;)") for m in _URL.finditer(text)]


def inputs_from_mime(mime: QMimeData) -> list[str]:
    """Paths for file URLs, the links themselves for http(s) URLs or text holding them.
    No file is touched: whether a path is a folder is the planner's business, off-thread."""
    found: list[str] = []
    if mime.hasUrls():
        for url in mime.urls():
            if url.isLocalFile():
                found.append(url.toLocalFile())
            elif url.scheme().lower() in ("http", "https"):
                found.append(url.toString())
    if not found and mime.hasText():
        found = links_in(mime.text())
    return list(dict.fromkeys(found))


def accepts(mime: QMimeData) -> bool:
    return bool(inputs_from_mime(mime))
