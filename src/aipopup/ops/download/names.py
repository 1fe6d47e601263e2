"""File names for downloads: where a name comes from, and making it safe.

A name can come from a CSV list, a server's Content-Disposition header or the URL; the last two
are chosen by someone else, so every name is reduced to one plain component that cannot climb
out of the output folder, cannot be a device on Windows and fits every file system.
"""

from __future__ import annotations

import codecs
import mimetypes
import re
import unicodedata
from collections.abc import Iterator
from pathlib import PurePosixPath
from urllib.parse import unquote, urlsplit

from aipopup.core import naming
from aipopup.core.task import DEFAULT_NAME_TEMPLATE

FALLBACK_STEM = "download"
MAX_NAME_BYTES = 200  # leaves room for " (NNN)" and ".part" under the usual 255-byte limit
PART_SUFFIX = ".part"

_WINDOWS_RESERVED = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"}
    | {f"COM{i}" for i in range(10)} | {f"LPT{i}" for i in range(10)})
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_PREFERRED_EXT = {"image/jpeg": ".jpg", "image/tiff": ".tif", "text/plain": ".txt",
                  "application/octet-stream": ""}


def sanitize(raw: str) -> str:
    """One safe file name component, or "" when nothing usable is left."""
    name = unicodedata.normalize("NFC", raw)
    # RFC 6266 says to drop any path; both separators, since a name may be meant for Windows
    name = re.split(r"[/\\]", name)[-1]
    name = _UNSAFE_CHARS.sub("_", name)
    # leading dots would hide the file (and ".." would climb); trailing dots and spaces vanish on
    # Windows, so two names that differ only there would collide
    name = name.strip().lstrip(".").rstrip(". ").strip()
    if not name:
        return ""
    stem = name.split(".", 1)[0].upper()
    if stem.rstrip() in _WINDOWS_RESERVED:
        name = "_" + name
    # a download must not be mistaken for another one's partial file
    if name.lower().endswith(PART_SUFFIX):
        name = name[: -len(PART_SUFFIX)] + "_part"
    return _limit_length(name)


def _limit_length(name: str) -> str:
    if len(name.encode()) <= MAX_NAME_BYTES:
        return name
    path = PurePosixPath(name)
    suffix = path.suffix if len(path.suffix.encode()) <= 16 else ""
    stem = name[: len(name) - len(suffix)] if suffix else name
    budget = MAX_NAME_BYTES - len(suffix.encode())
    stem = stem.encode()[:budget].decode(errors="ignore").rstrip(". ")
    return (stem or FALLBACK_STEM) + suffix


def from_url(url: str) -> str:
    """The last path segment of the URL, percent-decoded (query and fragment ignored)."""
    path = urlsplit(url).path
    segment = path.rstrip("/").rsplit("/", 1)[-1] if path else ""
    return unquote(segment, errors="replace")


def from_content_disposition(value: str | None) -> str | None:
    """The file name an RFC 6266 Content-Disposition header suggests; ``filename*`` wins."""
    if not value:
        return None
    params = _parse_params(value)
    extended = params.get("filename*")
    if extended:
        decoded = _decode_ext_value(extended)
        if decoded:
            return decoded
    plain = params.get("filename")
    return plain or None


def _parse_params(value: str) -> dict[str, str]:
    """``type; name=token; name="quoted \\"string\\""`` -> {name: value}; first occurrence wins."""
    params: dict[str, str] = {}
    i, n = value.find(";"), len(value)
    if i < 0:
        return params
    while i < n:
        i += 1  # past ';'
        match = re.compile(r"\s*([^\s=;]+)\s*=\s*").match(value, i)
        if not match:
            nxt = value.find(";", i)
            i = n if nxt < 0 else nxt
            continue
        key, i = match.group(1).lower(), match.end()
        if i < n and value[i] == '"':
            chars: list[str] = []
            i += 1
            while i < n and value[i] != '"':
                if value[i] == "\\" and i + 1 < n:
                    i += 1
                chars.append(value[i])
                i += 1
            item = "".join(chars)
            nxt = value.find(";", i)
            i = n if nxt < 0 else nxt
        else:
            nxt = value.find(";", i)
            end = n if nxt < 0 else nxt
            item, i = value[i:end].strip(), end
        params.setdefault(key, item)
    return params


def _decode_ext_value(value: str) -> str | None:
    """RFC 8187 ``charset'lang'percent-encoded``; None when malformed or the charset is unknown."""
    parts = value.split("'", 2)
    if len(parts) != 3:
        return None
    charset, _lang, encoded = parts
    try:
        codecs.lookup(charset)
        return unquote(encoded, encoding=charset, errors="strict")
    except (LookupError, UnicodeDecodeError):
        return None


def extension_for(content_type: str | None) -> str:
    """The usual extension for a media type ("" when unknown or generic)."""
    if not content_type:
        return ""
    media = content_type.split(";", 1)[0].strip().lower()
    if media in _PREFERRED_EXT:
        return _PREFERRED_EXT[media]
    return mimetypes.guess_extension(media, strict=False) or ""


def choose(*, override: str | None, disposition: str | None, url: str,
           content_type: str | None) -> str:
    """The safe name for a download: the CSV's, else the server's, else the URL's."""
    for raw in (override, from_content_disposition(disposition), from_url(url)):
        if raw:
            name = sanitize(raw)
            if name:
                break
    else:
        name = FALLBACK_STEM
    if override is None and not PurePosixPath(name).suffix:
        # "https://host/photo/123" served as image/jpeg should be recognisable as an image
        name = _limit_length(name + extension_for(content_type))
    return name


def templated(name: str, template: str, *, n: int) -> str:
    """``name`` through the batch's name template ({stem} and {ext} are the name's, {n} the
    download's place in the batch). The default template keeps the name as it came: a
    download's name is its own, not "photo_download.jpg"."""
    if template == DEFAULT_NAME_TEMPLATE:
        return name
    path = PurePosixPath(name)
    stem, ext = (path.stem, path.suffix) if path.stem else (name, "")
    return sanitize(naming.render(template, stem=stem, op="download", ext=ext, n=n)) or name


def variants(name: str) -> Iterator[str]:
    """``name``, then ``stem (2).ext``, ``stem (3).ext``, ... for picking a free name."""
    yield name
    path = PurePosixPath(name)
    stem, suffix = (path.stem, path.suffix) if path.stem else (name, "")
    n = 2
    while True:
        tail = f" ({n}){suffix}"
        budget = MAX_NAME_BYTES - len(tail.encode())
        yield stem.encode()[:budget].decode(errors="ignore") + tail
        n += 1
