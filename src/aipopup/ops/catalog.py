"""The operations AI Popup offers: names, option schemas and where their code lives.

Declarations only: this module must stay cheap to import (no OpenCV, no httpx), because the
command line's help and the GUI's forms are built from it before any work starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aipopup.core.operation import IMAGE_EXTENSIONS, Operation, register
from aipopup.core.params import Param, Schema

FORMATS = ("keep", "jpg", "png", "webp")


def _converted_ext(input_name: str, params: Mapping[str, Any]) -> str:
    fmt = params.get("format") or "keep"
    if fmt == "keep":
        ext = Path(input_name).suffix.lower()
        return ext if ext in IMAGE_EXTENSIONS else ".jpg"
    return ".jpg" if fmt == "jpg" else f".{fmt}"


QUALITY = Param("quality", "int", 90, "JPEG/WebP quality (1-100).", minimum=1, maximum=100)
MAX_SIDE = Param("max_side", "int", None, "Resize so the longest side is at most this many pixels.",
                 label="Longest side", minimum=16, maximum=100_000, optional=True)

CONVERT = register(Operation(
    name="convert",
    title="Convert and resize",
    summary="Apply EXIF orientation, resize to a longest side, and re-encode as JPEG, PNG or WebP.",
    schema=Schema((
        Param("format", "choice", "keep", "Output format.", choices=FORMATS),
        QUALITY,
        MAX_SIDE,
    )),
    runner="aipopup.ops.convert:run",
    output_ext=_converted_ext,
))

# --- face operations (anonymize, crop, detect): declared below by ops/faces ---

# --- download: declared below by ops/download ---

DOWNLOAD = register(Operation(
    name="download",
    title="Download",
    summary="Download URLs (or a .txt/.csv list of them) with resume, retry and checksum checks.",
    schema=Schema((
        Param("filename", "str", None, "Save under this file name (a list's 'filename' column).",
              optional=True, advanced=True),
        Param("sha256", "str", None, "The file's expected SHA-256; a mismatch fails the download.",
              label="SHA-256", optional=True, advanced=True),
        Param("stall_timeout", "float", None,
              "Retry a download that receives nothing for this many seconds (default: Settings).",
              label="Stall timeout (s)", minimum=0.1, maximum=3600.0, optional=True, advanced=True),
        Param("max_size_mb", "int", None, "Refuse files larger than this (default: Settings).",
              label="Size cap (MB)", minimum=1, maximum=10_000_000, optional=True, advanced=True),
    )),
    runner="aipopup.ops.download.fetch:run",
    resource="net",
    # what a folder given as input is searched for: URL lists
    accepts=frozenset({".txt", ".csv"}),
    output_ext=lambda *_: None,  # the name comes from the list, the server or the URL
    inputs_are_urls=True,
))
