"""Face detection with OpenCV's YuNet, one detector per worker thread, on downscaled copies.

Public API (also used by the video path, keep it stable):

- ``Face``: box ``x, y, w, h``, ``score`` and five ``landmarks`` (right eye, left eye, nose tip,
  right and left mouth corner), all in the full-resolution pixels of the array passed in.
- ``detect_faces(bgr, threshold=, size=, model_path=, min_face=, thorough=, check=)``.

Two passes, measured on this machine (see ``docs`` in the report of issue 3):

1. A coarse pass on a copy whose longest side is ``size`` (640 by default), or smaller where that
   still shows a ``min_face``-pixel face ``MIN_DETECT_PX`` tall, finds every face that is at least
   ``MIN_DETECT_PX`` tall in that copy, so all faces in photos up to ~1,500 px and the large faces
   of any photo.
2. A fine pass at the scale where a ``min_face``-pixel face becomes ``MIN_DETECT_PX`` tall, over
   768-px tiles. It runs only when the coarse pass cannot see ``min_face``-pixel faces, and then
   when the coarse pass found nothing, or found faces so small that smaller ones are likely (a
   group or street scene), or ``thorough`` asks for it. Tiles instead of one big pass: on a 24 MP
   photo the fine pass costs 432 ms tiled against 406 ms whole, but the whole pass needs 340 MB
   more memory (54 MB tiled).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from aipopup.core.errors import TaskError
from aipopup.ops.faces import model as model_locator

# YuNet's smallest reliable box height: at 16 px the score is ~0.68, at 14 px it finds nothing.
MIN_DETECT_PX = 18
# Coarse-pass faces below this height (in the copy's pixels) suggest a scene with distant people.
SMALL_FACE_HINT_PX = 48
TILE = 768
TILE_OVERLAP = 128
NMS_THRESHOLD = 0.3
DEFAULT_MIN_FACE = 40
# Candidates scoring below this get a second look at a standard size (see ``_confirmed``).
VERIFY_BELOW = 0.85
VERIFY_FACE_PX = 128

Landmarks = tuple[tuple[float, float], ...]


@dataclass(frozen=True, slots=True)
class Face:
    x: float
    y: float
    w: float
    h: float
    score: float
    landmarks: Landmarks = ()

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)

    @property
    def centre(self) -> tuple[float, float]:
        return (self.x + self.w / 2, self.y + self.h / 2)

    @property
    def area(self) -> float:
        return max(self.w, 0.0) * max(self.h, 0.0)

    def mapped(self, scale: float, dx: float = 0.0, dy: float = 0.0) -> Face:
        """This face in another frame: coordinates divided by ``scale``, then offset."""
        inv = 1.0 / scale
        return Face(self.x * inv + dx, self.y * inv + dy, self.w * inv, self.h * inv, self.score,
                    tuple((px * inv + dx, py * inv + dy) for px, py in self.landmarks))

    def to_json(self, digits: int = 1) -> dict[str, Any]:
        return {"box": [round(v, digits) for v in self.box], "score": round(self.score, 4),
                "landmarks": [[round(px, digits), round(py, digits)] for px, py in self.landmarks]}


_local = threading.local()


def _detector(path: Path) -> Any:
    """This thread's detector for ``path``: cv2.FaceDetectorYN is not safe to share."""
    cache: dict[Path, Any] | None = getattr(_local, "detectors", None)
    if cache is None:
        cache = _local.detectors = {}
    detector = cache.get(path)
    if detector is None:
        try:
            detector = cv2.FaceDetectorYN.create(str(path), "", (320, 320), 0.5, NMS_THRESHOLD, 5000)
        except cv2.error as exc:
            raise TaskError(f"The face model {path.name} could not be loaded: {str(exc).strip()[:200]}",
                            "Choose a YuNet ONNX file in Settings > Face model, or clear it.") from None
        cache[path] = detector
    return detector


def shrink(bgr: np.ndarray, scale: float) -> np.ndarray:
    """A copy of ``bgr`` scaled by ``scale`` (< 1) for the detector, cheaply.

    INTER_AREA over a whole 12 MP photo costs 34 ms, more than the detection; sampling to twice
    the target with INTER_NEAREST, then INTER_AREA (each output pixel the mean of four samples)
    costs 3 ms and still averages enough to avoid the aliasing that would cost faces (numpy
    strides to the same size cost 19 ms: the copy of a strided view is slow).
    """
    height, width = bgr.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scale >= 1.0:
        return bgr
    if scale < 0.5:
        bgr = cv2.resize(bgr, (size[0] * 2, size[1] * 2), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)


def _run(detector: Any, image: np.ndarray, threshold: float) -> list[Face]:
    height, width = image.shape[:2]
    detector.setInputSize((width, height))
    detector.setScoreThreshold(threshold)
    _, rows = detector.detect(np.ascontiguousarray(image))
    if rows is None:
        return []
    faces = []
    for row in rows:
        values = [float(v) for v in row]
        landmarks = tuple((values[i], values[i + 1]) for i in range(4, 14, 2))
        faces.append(Face(values[0], values[1], values[2], values[3], values[14], landmarks))
    return faces


def _tiles(width: int, height: int) -> Iterator[tuple[int, int]]:
    step = TILE - TILE_OVERLAP
    ys = range(0, max(height - TILE_OVERLAP, 1), step)
    xs = range(0, max(width - TILE_OVERLAP, 1), step)
    for y in ys:
        for x in xs:
            yield x, y


def _same_face(a: Face, b: Face) -> bool:
    ix = max(0.0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x))
    iy = max(0.0, min(a.y + a.h, b.y + b.h) - max(a.y, b.y))
    inter = ix * iy
    if inter <= 0:
        return False
    # Overlap of the smaller box too: a face cut by a tile edge lies mostly inside the whole one.
    return (inter / (a.area + b.area - inter) >= NMS_THRESHOLD
            or inter / max(min(a.area, b.area), 1e-6) >= 0.7)


def merge(faces: list[Face]) -> list[Face]:
    """Non-maximum suppression across passes and tiles; best score first, then left to right."""
    kept: list[Face] = []
    for face in sorted(faces, key=lambda f: f.score, reverse=True):
        if not any(_same_face(face, other) for other in kept):
            kept.append(face)
    return sorted(kept, key=lambda f: (f.x, f.y))


def _confirmed(detector: Any, bgr: np.ndarray, face: Face, threshold: float) -> bool:
    """Look again at a doubtful candidate alone, the face ``VERIFY_FACE_PX`` tall, black around.

    YuNet scores textures at the image border as faces (0.63-0.70 on a painted landscape beside
    Biden in the test photos); seen alone and centred they score under 0.45, while every real face
    in the test set scores over 0.9 both ways.
    """
    x, y, w, h = face.box
    half = max(w, h)
    cx, cy = x + w / 2, y + h / 2
    x0, y0, x1, y1 = int(cx - half), int(cy - half), int(cx + half), int(cy + half)
    height, width = bgr.shape[:2]
    crop = bgr[max(0, y0):min(height, y1), max(0, x0):min(width, x1)]
    if crop.size == 0:
        return False
    scale = VERIFY_FACE_PX / max(w, h, 1.0)
    small = cv2.resize(crop, None, fx=scale, fy=scale,
                       interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, bottom, left, right = (round(v * scale) for v in (max(0, -y0), max(0, y1 - height),
                                                           max(0, -x0), max(0, x1 - width)))
    small = cv2.copyMakeBorder(small, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    centre_x, centre_y = (cx - x0) * scale, (cy - y0) * scale
    near = VERIFY_FACE_PX * 0.4
    return any(abs(g.centre[0] - centre_x) < near and abs(g.centre[1] - centre_y) < near
               for g in _run(detector, small, threshold))


def detection_scale(width: int, height: int, size: int) -> float:
    """Scale of the coarse copy: its longest side is ``size``; never upscaled."""
    return min(1.0, size / max(width, height, 1))


def fine_scale(min_face: float) -> float:
    return min(1.0, MIN_DETECT_PX / min_face)


def detect_faces(bgr: np.ndarray, *, threshold: float, size: int = 640, model_path: str | Path = "",
                 min_face: float | None = DEFAULT_MIN_FACE, thorough: bool = False, verify: bool = True,
                 check: Callable[[], None] | None = None) -> list[Face]:
    """Faces in ``bgr`` (BGR uint8, any size) in its own pixel coordinates, sorted left to right.

    ``min_face``: the smallest face height (full-resolution px) that must be found; None runs the
    coarse pass only (video frames, where speed matters and faces are re-found in later frames).
    ``verify`` re-checks candidates scoring under ``VERIFY_BELOW`` on their own (drops false
    positives at textured borders; False gives raw YuNet, e.g. to test that masks defeat it).
    ``check`` is called between tiles so that a cancel stops a long fine pass.
    """
    detector = _detector(model_locator.model_path(model_path))
    height, width = bgr.shape[:2]
    fine = fine_scale(min_face) if min_face else 1.0
    # No finer than the smallest wanted face needs: YuNet's time follows the pixel count, and a
    # 1,000-px photo at 640 px costs twice what it does at the 450 px that show a 40-px face.
    coarse = min(detection_scale(width, height, size), fine)
    faces = [f.mapped(coarse) for f in _run(detector, shrink(bgr, coarse), threshold)]
    smallest = min((f.h * coarse for f in faces), default=0.0)
    if min_face and coarse < fine and (thorough or smallest < SMALL_FACE_HINT_PX):
        if check:
            check()
        small = shrink(bgr, fine)
        fine_height, fine_width = small.shape[:2]
        for x, y in _tiles(fine_width, fine_height):
            tile = small[y:y + TILE, x:x + TILE]
            faces.extend(f.mapped(fine, x / fine, y / fine) for f in _run(detector, tile, threshold))
            if check:
                check()
    faces = merge(faces)
    if verify:
        faces = [f for f in faces if f.score >= VERIFY_BELOW or _confirmed(detector, bgr, f, threshold)]
    return faces
