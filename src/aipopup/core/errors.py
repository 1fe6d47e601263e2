"""The errors an operation raises, and how the scheduler treats each.

Expected failures carry a message a person understands and a hint about what to do; anything
else that escapes an operation is a bug and is reported as an internal error with its traceback.
"""

from __future__ import annotations


class TaskError(Exception):
    """A permanent failure: retrying will not help (corrupt image, 404, no permission)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class TransientError(TaskError):
    """A failure that may go away on its own (timeouts, resets, HTTP 5xx/429): retried with back-off.

    ``retry_after`` (seconds) overrides the back-off when the other side said how long to wait.
    """

    def __init__(self, message: str, hint: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class Cancelled(Exception):
    """Raised by ``CancelToken.check()``; the scheduler decides from the token's reason what it meant."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TaskTimeout(TransientError):
    """The task ran past its time limit."""


class ParamError(ValueError):
    """A parameter value is missing, of the wrong type or out of range; the message names it."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.message = message


class StateLocked(RuntimeError):
    """Another process owns the state directory (its journal)."""
