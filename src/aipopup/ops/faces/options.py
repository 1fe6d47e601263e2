"""Detection options of a face task: its parameters, falling back to the app's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

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
