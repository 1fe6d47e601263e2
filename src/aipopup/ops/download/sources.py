"""What to download: URLs given directly, or read from a .txt or .csv list.

Nothing here judges a URL's scheme: a ``file://`` or ``ftp://`` line becomes a task that fails
with its own clear message, so one bad line never rejects the whole list.
"""

from __future__ import annotations

import csv
import importlib
import io
import re
import sys
import threading
from dataclasses import dataclass
from pathlib import Path

from aipopup.core.planner import PlanError

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+:")  # two letters at least: "C:\x" is a path
_COMMENT = re.compile(r"\s+#.*$")
_URL_COLUMNS = ("url", "link", "href", "uri")


class SourceError(PlanError):
    """A list file that cannot be read or understood; the message names the file."""


@dataclass(frozen=True)
class DownloadItem:
    url: str
    filename: str | None = None
    sha256: str | None = None


def looks_like_url(text: str) -> bool:
    return bool(_SCHEME.match(text)) or text.startswith("//")


def expand(args: list[str]) -> list[DownloadItem]:
    """URLs and list files -> one item per download, in order, duplicates dropped."""
    _import_fetch_early()
    items: list[DownloadItem] = []
    seen: set[tuple[str, str | None]] = set()
    for arg in args:
        arg = arg.strip()
        if not arg:
            continue
        found = [DownloadItem(arg)] if looks_like_url(arg) else read_list(Path(arg))
        for item in found:
            # the same URL twice would be two tasks racing for one file name
            if (item.url, item.filename) not in seen:
                seen.add((item.url, item.filename))
                items.append(item)
    return items


_URL_IN_TEXT = re.compile(r"""\bhttps?://[^\s<>"'`]+""", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>'\""


def find_urls(text: str) -> list[str]:
    """The http(s) links in free text (a clipboard, a chat message, an e-mail), in order and
    once each; closing punctuation that ends a sentence is not part of a link."""
    found: list[str] = []
    for match in _URL_IN_TEXT.finditer(text):
        url = match.group(0)
        while url and url[-1] in _TRAILING and not (url[-1] == ")" and url.count("(") >= url.count(")")):
            url = url[:-1]
        if url not in found:
            found.append(url)
    return found


def _import_fetch_early() -> None:
    """Whoever expands a list downloads next: import httpx (a tenth of a second) on a side
    thread while the caller plans and queues, instead of on the first download's thread."""
    if "aipopup.ops.download.fetch" not in sys.modules:
        threading.Thread(target=importlib.import_module, args=("aipopup.ops.download.fetch",),
                         name="aipopup-import-fetch", daemon=True).start()


def read_list(path: Path) -> list[DownloadItem]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SourceError(f"{path}: no such file (give URLs, or a .txt or .csv list of them)") from None
    except IsADirectoryError:
        raise SourceError(f"{path} is a folder; give URLs, or a .txt or .csv list of them") from None
    except UnicodeDecodeError:
        raise SourceError(f"{path} is not UTF-8 text; save the list as UTF-8") from None
    except OSError as exc:
        raise SourceError(f"{path}: cannot read it ({exc.strerror})") from None
    if path.suffix.lower() == ".csv":
        return parse_csv(text, str(path))
    return parse_text(text)


def parse_text(text: str) -> list[DownloadItem]:
    """One URL a line; blank lines and ``#`` comments (whole-line, or after a space) skipped."""
    items = []
    for line in text.splitlines():
        line = _COMMENT.sub("", line).strip()
        if line and not line.startswith("#"):
            items.append(DownloadItem(line))
    return items


def parse_csv(text: str, where: str = "CSV") -> list[DownloadItem]:
    """A ``url`` column and optional ``filename`` and ``sha256`` columns; a list without a header
    whose first cell is a URL is read as url, filename, sha256 by position."""
    rows = [row for row in csv.reader(io.StringIO(text), _dialect(text))
            if any(cell.strip() for cell in row)]
    if not rows:
        return []
    header = [cell.strip().lower() for cell in rows[0]]
    if looks_like_url(header[0]):
        url_col, name_col, sha_col = 0, 1, 2
    else:
        url_col = next((header.index(c) for c in _URL_COLUMNS if c in header), -1)
        if url_col < 0:
            raise SourceError(f"{where}: no 'url' column in the header ({', '.join(header)})")
        name_col = header.index("filename") if "filename" in header else -1
        sha_col = header.index("sha256") if "sha256" in header else -1
        rows = rows[1:]
    items = []
    for row in rows:
        url = _cell(row, url_col)
        if url and not url.startswith("#"):
            sha = _cell(row, sha_col)
            items.append(DownloadItem(url, _cell(row, name_col), sha.lower() if sha else None))
    return items


def _cell(row: list[str], index: int) -> str | None:
    if index < 0 or index >= len(row):
        return None
    return row[index].strip() or None


def _dialect(text: str) -> type[csv.Dialect] | csv.Dialect:
    # spreadsheets in many locales save with ";" (or tabs); the header line tells which
    first = text.split("\n", 1)[0]
    try:
        return csv.Sniffer().sniff(first, delimiters=",;\t")
    except csv.Error:
        return csv.excel
