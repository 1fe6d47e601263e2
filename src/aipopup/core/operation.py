"""The operation interface: registered once, run by the scheduler, described to the CLI and GUI.

An operation's module is imported only when a task first runs (on a worker thread), so listing
operations, building forms and starting the window never import OpenCV or httpx.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

from aipopup.core import naming
from aipopup.core.atomic import atomic_write
from aipopup.core.cancel import CancelToken
from aipopup.core.params import Schema
from aipopup.core.task import Batch, Task

Resource = Literal["cpu", "net"]

IMAGE_EXTENSIONS = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".jfif"})
VIDEO_EXTENSIONS = frozenset({".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"})


class RunFunction(Protocol):
    def __call__(self, ctx: TaskContext) -> dict[str, Any] | None: ...


class FinalizeFunction(Protocol):
    def __call__(self, batch: Batch, tasks: list[Task], token: CancelToken) -> dict[str, Any] | None:
        ...


def _keep_extension(input_name: str, params: Mapping[str, Any]) -> str | None:
    return Path(input_name).suffix.lower() or None


@dataclass(frozen=True)
class Operation:
    name: str
    title: str
    summary: str
    schema: Schema
    runner: str  # "package.module:function", imported lazily; see RunFunction
    resource: Resource = "cpu"
    # extensions a folder is filtered by; a file named explicitly is always tried
    accepts: frozenset[str] = IMAGE_EXTENSIONS
    # the primary output's extension for an input (None: the task has no per-input output,
    # e.g. detect without --draw)
    output_ext: Callable[[str, Mapping[str, Any]], str | None] = _keep_extension
    # "module:function" called once when every task of a batch has finished (e.g. the face report)
    finalizer: str | None = None
    inputs_are_urls: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)

    def run_function(self) -> RunFunction:
        return _resolve(self.runner)  # type: ignore[no-any-return]

    def finalize_function(self) -> FinalizeFunction | None:
        return _resolve(self.finalizer) if self.finalizer else None


def _resolve(spec: str) -> Any:
    module_name, _, attr = spec.partition(":")
    return getattr(importlib.import_module(module_name), attr)


_REGISTRY: dict[str, Operation] = {}


def register(op: Operation) -> Operation:
    if op.name in _REGISTRY and _REGISTRY[op.name] != op:
        raise ValueError(f"operation {op.name!r} is already registered")
    _REGISTRY[op.name] = op
    return op


def get(name: str) -> Operation:
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise KeyError(f"unknown operation {name!r} (known: {known})") from None


def all_operations() -> list[Operation]:
    _load_builtin()
    return sorted(_REGISTRY.values(), key=lambda op: op.name)


def _load_builtin() -> None:
    # The catalogue module only declares operations; it imports nothing heavy.
    importlib.import_module("aipopup.ops.catalog")


class TaskContext:
    """What a running operation sees: its input, options, output naming, progress and cancel.

    Created by the scheduler for one attempt of one task and used on that task's worker thread.
    """

    def __init__(self, task: Task, batch: Batch, token: CancelToken, *,
                 settings: Mapping[str, Any],
                 dep_outputs: list[str],
                 report_progress: Callable[[float, str], None],
                 report_log: Callable[[str, str], None],
                 before_commit: Callable[[], None]) -> None:
        self.task_id = task.id
        self.input = task.input
        self.output = Path(task.output) if task.output else None
        self.output_dir = Path(batch.output_dir)
        self.params: Mapping[str, Any] = task.params
        self.settings = settings
        self.dep_outputs = dep_outputs
        self.token = token
        self.outputs: list[str] = []
        self._task = task
        self._batch = batch
        self._report_progress = report_progress
        self._report_log = report_log
        self._before_commit = before_commit

    @property
    def op_name(self) -> str:
        return self._task.op

    @property
    def overwrite(self) -> str:
        return self._batch.overwrite

    @property
    def name_template(self) -> str:
        return self._batch.name_template

    def check(self) -> None:
        """Raise if the task was cancelled, paused or timed out; call between units of work."""
        self.token.check()

    def progress(self, fraction: float, message: str = "") -> None:
        self._report_progress(min(max(fraction, 0.0), 1.0), message)

    def log(self, text: str, level: str = "info") -> None:
        self._report_log(level, text)

    def name_output(self, *, ext: str | None = None, face: int | str = "", n: int = 1,
                    op: str | None = None, input_name: str | None = None) -> Path:
        """Path of an extra output, named by the batch's template beside the primary one."""
        return naming.output_path(self.output_dir, self._task.rel_dir, self._batch.name_template,
                                  input_name=input_name or self.input, op=op or self._task.op,
                                  ext=ext, n=n, face=face)

    @contextlib.contextmanager
    def atomic_output(self, final: Path) -> Iterator[Path]:
        """Yield a temporary path to write ``final``'s content to; it is renamed into place on
        success (after the journal has recorded that this task started) and removed on failure.

        No fsync here: the journal makes the task's outputs durable, all at once, before it
        writes that the task succeeded (see Journal.sync_files)."""
        with atomic_write(final, self.task_id, durable=False) as tmp:
            yield tmp
            self.check()
            self._before_commit()
        self.outputs.append(str(final))

    def commit(self, tmp: Path, final: Path) -> None:
        """Rename a finished temporary file the operation managed itself (a download's ``.part``,
        kept across attempts for resume) into place, in the same order as ``atomic_output``."""
        self.check()
        self._before_commit()
        os.replace(tmp, final)
        self.outputs.append(str(final))
