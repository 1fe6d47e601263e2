"""What an HTTP answer says: its headers read once, and its status as the error a person reads."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

from aipopup.core.errors import TaskError, TransientError
from aipopup.core.operation import IMAGE_EXTENSIONS

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)\s*$", re.IGNORECASE)


class Stalled(Exception):
    """No data from the server for the stall timeout."""


class ConnectionFailed(Exception):
    """The connection could not be made, or broke; the message says how."""


@dataclass
class Answer:
    """What a download reads from a server's answer, whichever client fetched it."""

    status: int
    reason: str
    url: str  # after redirects
    head: dict[str, str]  # lower-case names, the first of repeated headers
    body: Callable[[bool], Iterator[bytes | memoryview]]  # (under a speed limit?) -> chunks


def raise_for_status(answer: Answer) -> None:
    status = answer.status
    reason = answer.reason or "error"
    if status == 429 or status == 408 or status >= 500:
        wait = retry_after(answer.head.get("retry-after"))
        waited = f"; it asked to wait {wait:g} s" if wait is not None else ""
        raise TransientError(f"The server answered {status} {reason}{waited}.",
                             "The download is retried later.", retry_after=wait)
    hints = {401: "The link needs a login; download it in a browser.",
             403: "The server refuses access; the link may have expired or need a login.",
             404: "The file is not there; check the link.",
             410: "The file was removed from the server."}
    if 300 <= status < 400:
        raise TaskError(f"The server answered {status} {reason} without a usable redirect.",
                        "Open the link in a browser to check it.")
    raise TaskError(f"The server answered {status} {reason}.",
                    hints.get(status, "Check the link; retrying will not help."))


def retry_after(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), 3600.0)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), 3600.0)


def content_range(head: dict[str, str]) -> tuple[int | None, int | None, int | None]:
    match = _CONTENT_RANGE.match(head.get("content-range", ""))
    if not match:
        return None, None, None
    first, last, total = match.groups()
    return (int(first) if first else None, int(last) if last else None,
            int(total) if total and total != "*" else None)


def content_length(head: dict[str, str]) -> int | None:
    value = head.get("content-length", "").strip()
    return int(value) if value.isdigit() else None


def is_identity(head: dict[str, str]) -> bool:
    return head.get("content-encoding", "identity").strip().lower() in ("", "identity")


def media_type(head: dict[str, str]) -> str:
    return head.get("content-type", "").split(";", 1)[0].strip().lower()


def is_image(name: str, content_type: str | None) -> bool:
    if content_type and content_type.startswith("image/"):
        return True
    return PurePosixPath(name).suffix.lower() in IMAGE_EXTENSIONS
