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
