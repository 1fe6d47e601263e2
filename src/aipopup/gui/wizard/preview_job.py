"""The options page's preview: the real operation run on a downscaled copy of one of the
user's photos, into a temporary folder. Runs on a worker thread (QImage is safe there)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtGui import QImage

from aipopup.core import operation
from aipopup.core.cancel import CancelToken
from aipopup.core.errors import TaskError
from aipopup.core.task import Batch, Task
from aipopup.gui.i18n import tr
from aipopup.gui.preview import load_scaled

PREVIEW_SOURCE_SIDE = 640  # detection and masks look right, and a run stays well under 300 ms


@dataclass
class PreviewResult:
    request: int  # which request this answers; older answers are dropped
    before: QImage | None
    after: QImage | None
    message: str
    seconds: float


def small_copy(source: str, folder: Path) -> Path:
    """A downscaled copy of ``source`` in ``folder``, made once per source."""
    target = folder / f"source-{abs(hash(source)):x}.png"
    if not target.exists():
        image = load_scaled(source, PREVIEW_SOURCE_SIDE)
        if image is None:
            raise TaskError(f"{Path(source).name} cannot be previewed (not a photo)")
        tmp = target.with_suffix(".tmp.png")
        if not image.save(str(tmp)):
            raise OSError(f"cannot write {tmp}")
        os.replace(tmp, target)
    return target


def render(request: int, source: str, op_name: str, params: Mapping[str, Any],
           settings: Mapping[str, Any], folder: Path, side: int) -> PreviewResult:
    started = time.monotonic()
    op = operation.get(op_name)
    values = op.schema.validate(params)
    copy = small_copy(source, folder)
    out_dir = folder / f"out-{request}"
    ext = op.output_ext(copy.name, values)
    output = out_dir / f"preview{ext}" if ext else None
    batch = Batch(id=0, op=op_name, params=values, output_dir=str(out_dir), overwrite="always")
    task = Task(id=f"preview{request}", batch_id=0, op=op_name, input=str(copy),
                output=str(output) if output else None, params=values, resource=op.resource)
    ctx = operation.TaskContext(task, batch, CancelToken(), settings=settings, dep_outputs=[],
                                report_progress=lambda _f, _m: None, report_log=lambda _l, _t: None,
                                before_commit=lambda: None)
    result = op.run_function()(ctx) or {}
    written = [p for p in ctx.outputs if Path(p).suffix.lower() in operation.IMAGE_EXTENSIONS]
    after = load_scaled(written[0], side) if written else None
    message = _describe(result)
    shutil.rmtree(out_dir, ignore_errors=True)
    return PreviewResult(request, load_scaled(str(copy), side), after, message,
                         time.monotonic() - started)


def _describe(result: Mapping[str, Any]) -> str:
    faces = result.get("faces")
    return tr("{n} face(s) found").format(n=faces) if isinstance(faces, int) else ""
