"""Output names from a template with placeholders: {stem} {op} {n} {face} {date} {ext}."""

from __future__ import annotations

import re
import string
import time
from pathlib import Path
from typing import Any

PLACEHOLDERS = ("stem", "op", "n", "face", "date", "ext")
_UNSAFE = re.compile(r'[\x00-\x1f<>:"/\\|?*]')


class NameTemplateError(ValueError):
    pass


def check_template(template: str) -> None:
    """Refuse unknown placeholders and templates that would climb out of the output folder."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise NameTemplateError(f"bad name template {template!r}: {exc}") from None
    for name in fields:
        if name not in PLACEHOLDERS:
            raise NameTemplateError(
                f"unknown placeholder {{{name}}} in {template!r}; "
                f"use {', '.join('{' + p + '}' for p in PLACEHOLDERS)}")
    if "/" in template or "\\" in template or template.strip() in ("", ".", ".."):
        raise NameTemplateError(f"the name template {template!r} must be a plain file name")


def render(template: str, *, stem: str, op: str, ext: str, n: int = 1, face: int | str = "",
           date: str | None = None) -> str:
    fields: dict[str, Any] = {"stem": stem, "op": op, "ext": ext, "n": n, "face": face,
                              "date": date or time.strftime("%Y%m%d")}
    name = _UNSAFE.sub("_", template.format(**fields)).strip(" .")
    return name or f"output{ext}"


def output_path(output_dir: str | Path, rel_dir: str, template: str, *, input_name: str, op: str,
                ext: str | None = None, n: int = 1, face: int | str = "") -> Path:
    """Where one output of one input goes: the input's sub-folder mirrored under ``output_dir``."""
    src = Path(input_name)
    name = render(template, stem=src.stem, op=op, ext=src.suffix.lower() if ext is None else ext,
                  n=n, face=face)
    return Path(output_dir, rel_dir, name) if rel_dir else Path(output_dir, name)
