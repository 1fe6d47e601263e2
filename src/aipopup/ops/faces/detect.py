"""detect: faces found per photo, into the task's result (the batch's report is ``report.py``);
with ``draw``, an annotated copy."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np

from aipopup.core.errors import TaskError
from aipopup.core.operation import TaskContext
from aipopup.ops.faces import pictures
from aipopup.ops.faces.detector import Face
from aipopup.ops.faces.options import find_faces

LANDMARK_COLOURS = ((255, 0, 0), (0, 0, 255), (0, 255, 0), (255, 0, 255), (0, 255, 255))


def run(ctx: TaskContext) -> dict[str, Any]:
    picture = pictures.load(ctx)
    ctx.progress(0.4, "decoded")
    ctx.check()
    faces = find_faces(ctx, picture.bgr)
    result: dict[str, Any] = {"faces": len(faces), "width": picture.loaded.width,
                              "height": picture.loaded.height,
                              "detections": [f.to_json() for f in faces]}
    if ctx.params.get("draw"):
        if ctx.output is None:
            raise TaskError("No output path was planned for the annotated copy.")
        ctx.progress(0.7, f"{len(faces)} face(s) found")
        draw(picture.bgr, faces)
        pictures.save(ctx, ctx.output, picture.bgr, quality=int(ctx.params.get("quality") or 92))
    return result


def draw(bgr: np.ndarray, faces: list[Face]) -> np.ndarray:
    """Boxes, scores and landmarks drawn IN PLACE, sized to the photo so they show at any size."""
    thickness = max(1, round(max(bgr.shape[:2]) / 500))
    for face in faces:
        x, y, w, h = (round(v) for v in face.box)
        cv2.rectangle(bgr, (x, y), (x + w, y + h), (0, 255, 0), thickness, cv2.LINE_AA)
        cv2.putText(bgr, f"{face.score:.2f}", (x, max(0, y - 3 * thickness)), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4 * thickness, (0, 255, 0), thickness, cv2.LINE_AA)
        for (px, py), colour in zip(face.landmarks, LANDMARK_COLOURS, strict=False):
            cv2.circle(bgr, (round(px), round(py)), 2 * thickness, colour, -1, cv2.LINE_AA)
    return bgr
