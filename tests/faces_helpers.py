"""Helpers shared by the face tests: real detection on files, and synthetic-but-real inputs made
from the test photos (a 24 MP scene with one small face)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from aipopup.ops.faces import detector, masks


def raw_faces(pixels: np.ndarray, threshold: float = 0.5) -> list[detector.Face]:
    """Plain YuNet (no second look) at every scale the app detects at: the copy that just shows
    40-px faces with the fine pass forced, and the copy 640 px across (what video frames and
    detection without a smallest face use). The strictest judge of a mask."""
    faces = detector.detect_faces(pixels, threshold=threshold, size=640, thorough=True, verify=False)
    faces += detector.detect_faces(pixels, threshold=threshold, size=640, min_face=None, verify=False)
    return detector.merge(faces)


def read(path: Path) -> np.ndarray:
    pixels = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert pixels is not None, path
    return pixels


def in_masks(face: detector.Face, boxes: list[list[int]], mask_scale: float, size: tuple[int, int]) -> bool:
    cx, cy = face.centre
    for box in boxes:
        x0, y0, x1, y1 = masks.mask_region(box, mask_scale, *size)
        if x0 <= cx < x1 and y0 <= cy < y1:
            return True
    return False


def big_scene_with_small_face(testdata: Path, face_px: int = 45) -> tuple[np.ndarray, tuple[float, float]]:
    """A 6000x4000 photo (the podium and suit of obama2.jpg, upscaled: no face in it) with one
    real face pasted in, ``face_px`` tall; returns the pixels and the face's centre."""
    base = read(testdata / "faces" / "obama2.jpg")
    lower = base[base.shape[0] // 2 + 150:, :]
    scene = cv2.resize(lower, (6000, 4000), interpolation=cv2.INTER_LINEAR)
    person = read(testdata / "faces" / "obama-240p.jpg")
    found = detector.detect_faces(person, threshold=0.6)
    assert len(found) == 1
    scale = face_px / found[0].h
    small = cv2.resize(person, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    x, y = 4100, 2900
    scene[y:y + small.shape[0], x:x + small.shape[1]] = small
    fx, fy = found[0].centre
    return scene, (x + fx * scale, y + fy * scale)
