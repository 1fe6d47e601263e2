"""Skip what is done: a finished run is remembered by its input's content and its settings."""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aipopup.core.params import settings_hash

_CHUNK = 1 << 20


def content_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def done_key(op: str, source: str, params: Mapping[str, Any], *, is_url: bool,
             output: str | None = None) -> str:
    """Content hash + settings hash + the planned output; "" when the input cannot be read (the
    task will say why). The output is part of the key because two inputs with the same bytes
    under different names each want their own output."""
    if is_url:
        identity = "url:" + source
    else:
        try:
            identity = "sha256:" + content_hash(Path(source))
        except OSError:
            return ""
    blob = f"{identity}|{settings_hash(op, params)}|{output or ''}"
    return hashlib.sha256(blob.encode()).hexdigest()


def outputs_intact(outputs: list[str], sizes: list[int]) -> bool:
    if not outputs or len(outputs) != len(sizes):
        return False
    for output, size in zip(outputs, sizes, strict=True):
        try:
            if Path(output).stat().st_size != size:
                return False
        except OSError:
            return False
    return True


def unique_path(path: Path) -> Path:
    """``name-2.ext``, ``name-3.ext``... the first that does not exist."""
    if not path.exists():
        return path
    for n in itertools.count(2):
        candidate = path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists():
            return candidate
    raise AssertionError("unreachable")
