"""Detection options of a face task: its parameters, falling back to the app's settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from aipopup.core.errors import ParamError
from aipopup.core.operation import TaskContext
from aipopup.ops.faces import detector, model


@dataclass(frozen=True)
class DetectOptions:
    threshold: float
    size: int
    model_path: str
    min_face: int
    thorough: bool

    @classmethod
    def of(cls, params: Mapping[str, Any], settings: Mapping[str, Any]) -> DetectOptions:
        threshold = params.get("threshold")
        size = params.get("detection_size")
        return cls(
            threshold=float(threshold if threshold is not None else settings.get("detector_threshold", 0.6)),
            size=int(size if size is not None else settings.get("detector_size", 640)),
            model_path=str(model.model_from_settings(settings)),
            min_face=int(params.get("min_face") or detector.DEFAULT_MIN_FACE),
            thorough=bool(params.get("thorough", False)),
        )


def find_faces(ctx: TaskContext, bgr: np.ndarray) -> list[detector.Face]:
    opts = DetectOptions.of(ctx.params, ctx.settings)
    return detector.detect_faces(bgr, threshold=opts.threshold, size=opts.size, model_path=opts.model_path,
                                 min_face=opts.min_face, thorough=opts.thorough, check=ctx.check)


Box = tuple[float, float, float, float]


def given_boxes(params: Mapping[str, Any]) -> list[Box] | None:
    """The faces a person chose in the review (the hidden ``boxes`` parameter), or None when
    the detector should look: ``""`` means "not reviewed", ``"[]"`` "reviewed, no face".

    Boxes are ``[x, y, w, h]`` in the photo's pixels after EXIF orientation, as the review draws
    them; a box partly outside the photo is fine (masks are clipped to the photo)."""
    text = str(params.get("boxes") or "").strip()
    if not text:
        return None
    try:
        raw = json.loads(text)
    except ValueError:
        raise ParamError("boxes", f"not JSON: {text[:60]!r}") from None
    if not isinstance(raw, list):
        raise ParamError("boxes", "must be a list of [x, y, w, h] boxes")
    boxes: list[Box] = []
    for item in raw:
        if (not isinstance(item, list) or len(item) != 4
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in item)):
            raise ParamError("boxes", f"{item!r} is not an [x, y, w, h] box of numbers")
        x, y, w, h = (float(v) for v in item)
        if w <= 0 or h <= 0:
            raise ParamError("boxes", f"{item!r} has no area (width and height must be positive)")
        boxes.append((x, y, w, h))
    return boxes
