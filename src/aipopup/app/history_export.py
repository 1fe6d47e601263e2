"""A finished batch's results as CSV or JSON, for a spreadsheet or another program.

One CSV row per task; a task whose result lists its faces (detect) gets one row per face with
the same face columns as the detect report, so the face report of the batch is included. The
history itself lives in ``core/history.py``; this sits in ``app`` because it reuses the face
report's column layout from ``ops``. Files are written atomically. No Qt here.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from aipopup.core.atomic import atomic_write
from aipopup.core.history import BatchRecord, load_results
from aipopup.core.task import Task
from aipopup.ops.faces.report import LANDMARK_NAMES

FACE_COLUMNS = ("face", "x", "y", "w", "h", "score",
                *(f"{name}_{axis}" for name in LANDMARK_NAMES for axis in ("x", "y")))
CSV_COLUMNS = ("task", "file", "output", "status", "error", "faces", *FACE_COLUMNS,
               "image_width", "image_height")


def _faces(task: Task) -> list[dict[str, Any]]:
    detections = task.result.get("detections")
    return list(detections) if isinstance(detections, list) else []


def _face_count(task: Task) -> int | str:
    if _faces(task):
        return len(_faces(task))
    count = task.result.get("faces")
    return count if isinstance(count, int) else ""


def to_csv(tasks: list[Task]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for task in tasks:
        head = [task.id, task.input, task.output or "", task.state.value, task.error, _face_count(task)]
        tail = [task.result.get("width") or "", task.result.get("height") or ""]
        faces = _faces(task)
        if not faces:
            writer.writerow([*head, *([""] * len(FACE_COLUMNS)), *tail])
        for index, face in enumerate(faces, 1):
            points = [v for point in face.get("landmarks", []) for v in point]
            points += [""] * (2 * len(LANDMARK_NAMES) - len(points))
            writer.writerow([*head, index, *face["box"], face["score"], *points, *tail])
    return buffer.getvalue()


def to_json(record: BatchRecord, tasks: list[Task]) -> str:
    rows = [{"task": t.id, "file": t.input, "output": t.output, "outputs": list(t.outputs),
             "status": t.state.value, "error": t.error, "hint": t.hint, "started": t.started,
             "finished": t.finished, "faces": _face_count(t), "result": dict(t.result)} for t in tasks]
    return json.dumps({"version": 1, "batch": record.to_json(), "landmarks": list(LANDMARK_NAMES),
                       "tasks": rows}, indent=1, ensure_ascii=False)


def export_csv(state_dir: Path, record: BatchRecord, target: Path) -> Path:
    _batch, tasks = load_results(state_dir, record)
    return _write(target, to_csv(tasks))


def export_json(state_dir: Path, record: BatchRecord, target: Path) -> Path:
    _batch, tasks = load_results(state_dir, record)
    return _write(target, to_json(record, tasks))


def export(state_dir: Path, record: BatchRecord, target: Path) -> Path:
    """CSV or JSON, chosen by ``target``'s extension (anything but .json is CSV)."""
    if target.suffix.lower() == ".json":
        return export_json(state_dir, record, target)
    return export_csv(state_dir, record, target)


def _write(target: Path, text: str) -> Path:
    with atomic_write(target, "export") as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
