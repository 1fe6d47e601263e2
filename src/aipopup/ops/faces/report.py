"""The detect batch's report: one CSV or JSON file written when every task has finished.

Each detect task returns its faces in its result; this gathers them, in input order. Photos with
no face and photos that failed are listed too (a report that leaves them out would lie).
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from aipopup.core.atomic import atomic_write
from aipopup.core.cancel import CancelToken
from aipopup.core.errors import TaskError
from aipopup.core.task import Batch, State, Task

DEFAULT_REPORT = "faces.csv"
LANDMARK_NAMES = ("right_eye", "left_eye", "nose", "mouth_right", "mouth_left")
CSV_COLUMNS = ("file", "face", "x", "y", "w", "h", "score",
               *(f"{name}_{axis}" for name in LANDMARK_NAMES for axis in ("x", "y")),
               "image_width", "image_height", "status", "error")


def report_path(batch: Batch) -> Path:
    name = str(batch.params.get("report") or DEFAULT_REPORT)
    path = Path(name).expanduser()
    return path if path.is_absolute() else Path(batch.output_dir) / path


def images(tasks: list[Task]) -> list[dict[str, Any]]:
    out = []
    for task in sorted(tasks, key=lambda t: (t.seq, t.id)):
        result = task.result or {}
        entry: dict[str, Any] = {"file": task.input, "status": task.state.value,
                                 "width": result.get("width"), "height": result.get("height"),
                                 "faces": list(result.get("detections") or [])}
        if task.state is not State.SUCCEEDED:
            entry["error"] = task.error
        out.append(entry)
    return out


def to_csv(entries: list[dict[str, Any]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for entry in entries:
        tail = [entry.get("width") or "", entry.get("height") or "", entry["status"], entry.get("error", "")]
        if not entry["faces"]:
            writer.writerow([entry["file"], "", "", "", "", "", "", *([""] * 10), *tail])
        for index, face in enumerate(entry["faces"], 1):
            points = [v for point in face.get("landmarks", []) for v in point]
            points += [""] * (10 - len(points))
            writer.writerow([entry["file"], index, *face["box"], face["score"], *points, *tail])
    return buffer.getvalue()


def to_json(entries: list[dict[str, Any]]) -> str:
    return json.dumps({"version": 1, "landmarks": list(LANDMARK_NAMES), "images": entries}, indent=1)


def finalize(batch: Batch, tasks: list[Task], token: CancelToken) -> dict[str, Any]:
    path = report_path(batch)
    entries = images(tasks)
    text = to_json(entries) if path.suffix.lower() == ".json" else to_csv(entries)
    token.check()
    try:
        with atomic_write(path, f"report-{batch.id}") as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise TaskError(f"Could not write the face report {path}: {exc.strerror or exc}.") from None
    return {"report": str(path), "images": len(entries),
            "faces": sum(len(e["faces"]) for e in entries)}
