"""crop: portrait crops centred on a face, one per face or of the largest.

Geometry: the face box (YuNet's, brows to chin) takes ``face_percent`` of the crop's height;
``padding`` (percent of the face's height, ``P`` or ``top,right,bottom,left``) is room the crop
must leave on each side, so uneven padding places the face (``0,0,60,0``: room for shoulders).
A crop that runs past the photo's edge is filled (``fill``), never slid off the face.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from aipopup.core.errors import TaskError
from aipopup.core.operation import TaskContext
from aipopup.ops.faces import pictures
from aipopup.ops.faces.detector import Face
from aipopup.ops.faces.options import find_faces

FILLS = ("edge", "black", "white")


@dataclass(frozen=True)
class Window:
    """The crop rectangle in the photo's pixels; it may extend past the photo."""

    x0: int
    y0: int
    x1: int
    y1: int


def parse_padding(text: str | None) -> tuple[float, float, float, float]:
    """``"20"`` -> 20 on every side; ``"10,0,40,0"`` -> top, right, bottom, left (CSS order)."""
    if text is None or not str(text).strip():
        return (0.0, 0.0, 0.0, 0.0)
    parts = [p.strip() for p in str(text).replace(";", ",").split(",")]
    try:
        values = [float(p) for p in parts]
    except ValueError:
        raise TaskError(f"padding {text!r} is not a number or four numbers "
                        "(top,right,bottom,left).") from None
    if len(values) == 1:
        values *= 4
    elif len(values) == 2:  # vertical, horizontal
        values = [values[0], values[1], values[0], values[1]]
    if len(values) != 4 or any(v < 0 or v > 1000 for v in values):
        raise TaskError(f"padding {text!r} must be one, two or four numbers from 0 to 1000.")
    top, right, bottom, left = values
    return top, right, bottom, left


def window(face: Face, width: int, height: int, face_percent: float,
           padding: tuple[float, float, float, float]) -> Window:
    """The crop around ``face`` for a ``width`` x ``height`` output."""
    top, right, bottom, left = (p / 100 * face.h for p in padding)
    px0, px1 = face.x - left, face.x + face.w + right
    py0, py1 = face.y - top, face.y + face.h + bottom
    aspect = width / height
    win_h = max(face.h * 100 / face_percent, py1 - py0, (px1 - px0) / aspect)
    win_w = win_h * aspect
    cx, cy = (px0 + px1) / 2, (py0 + py1) / 2
    x0, y0 = round(cx - win_w / 2), round(cy - win_h / 2)
    return Window(x0, y0, x0 + max(1, round(win_w)), y0 + max(1, round(win_h)))


def cut(pixels: np.ndarray, win: Window, width: int, height: int, fill: str) -> np.ndarray:
    """``win`` of ``pixels`` resized to ``width`` x ``height``; outside the photo: ``fill``."""
    img_h, img_w = pixels.shape[:2]
    part = pixels[max(0, win.y0):min(img_h, win.y1), max(0, win.x0):min(img_w, win.x1)]
    pads = (max(0, -win.y0), max(0, win.y1 - img_h), max(0, -win.x0), max(0, win.x1 - img_w))
    scale = width / (win.x1 - win.x0)
    if part.size and any(pads):
        # Pad after resizing the part that exists: the border costs output pixels, not input ones.
        part_w = max(1, round(part.shape[1] * scale))
        part_h = max(1, round(part.shape[0] * scale))
        resized = _resize(part, part_w, part_h)
        top, left = round(pads[0] * scale), round(pads[2] * scale)
        bottom, right = max(0, height - part_h - top), max(0, width - part_w - left)
        out = _border(resized, top, bottom, left, right, fill)
        return np.ascontiguousarray(out[:height, :width])
    if not part.size:
        return _border(np.zeros((1, 1, pixels.shape[2]), pixels.dtype), 0, height - 1, 0, width - 1, fill)
    return _resize(part, width, height)


def _resize(part: np.ndarray, width: int, height: int) -> np.ndarray:
    shrinking = width < part.shape[1]
    return cv2.resize(part, (width, height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_CUBIC)


def _border(img: np.ndarray, top: int, bottom: int, left: int, right: int, fill: str) -> np.ndarray:
    if fill == "edge":
        return cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_REPLICATE)
    level = 255 if fill == "white" else 0
    value = (level, level, level, 255) if img.shape[2] == 4 else (level, level, level)
    return cv2.copyMakeBorder(img, top, bottom, left, right, cv2.BORDER_CONSTANT, value=value)


def face_output(ctx: TaskContext, index: int, op: str | None = None) -> Path:
    """``index``'s crop: the batch's name template with {face}; when the template has none, the
    face number is appended so that crops of one photo never share a name."""
    path = ctx.name_output(face=index, op=op)
    if path == ctx.name_output(face=index + 1, op=op):
        path = path.with_name(f"{path.stem}_{index}{path.suffix}")
    return path


def crops(ctx: TaskContext, picture: pictures.Picture,
          faces: list[Face]) -> list[tuple[int, Face, np.ndarray]]:
    """The task's crops (face number from 1, face, pixels with alpha when the input has one)."""
    params = ctx.params
    width, height = int(params.get("width") or 600), int(params.get("height") or 800)
    percent = float(params.get("face_percent") or 50)
    padding = parse_padding(params.get("padding"))
    fill = str(params.get("fill") or "edge")
    pixels = picture.bgr if picture.alpha is None else np.dstack((picture.bgr, picture.alpha))
    chosen = list(enumerate(faces, 1)) if params.get("all_faces") else \
        [max(enumerate(faces, 1), key=lambda item: item[1].area)]
    out = []
    for index, face in chosen:
        ctx.check()
        win = window(face, width, height, percent, padding)
        out.append((index, face, cut(pixels, win, width, height, fill)))
    return out


def no_face(ctx: TaskContext, *, fail: bool = True) -> dict[str, Any]:
    """Copy a face-less input to ``no_face_dir`` when asked; otherwise fail the task visibly
    (``fail``) or log it and flag it in the result."""
    folder = str(ctx.params.get("no_face_dir") or "")
    name = Path(ctx.input).name
    if not folder and not fail:
        ctx.log(f"No face found in {name}: no crop written.", "warning")
        return {"faces": 0, "no_face": True}
    if not folder:
        raise TaskError(f"No face found in {name}.",
                        "Lower the threshold or turn on 'thorough', or set a no-face folder to "
                        "collect such photos.")
    dest_dir = Path(folder).expanduser()
    if not dest_dir.is_absolute():
        dest_dir = ctx.output_dir / dest_dir
    dest = pictures.target(ctx, dest_dir / name)
    if dest is not None:
        with ctx.atomic_output(dest) as tmp:
            shutil.copyfile(ctx.input, tmp)
    ctx.log(f"No face found in {name}; copied to {dest_dir}.", "warning")
    return {"faces": 0, "no_face": True, "copied_to": str(dest or dest_dir / name)}


def run(ctx: TaskContext) -> dict[str, Any]:
    picture = pictures.load(ctx)
    ctx.progress(0.4, "decoded")
    ctx.check()
    faces = find_faces(ctx, picture.bgr)
    ctx.progress(0.6, f"{len(faces)} face(s) found")
    if not faces:
        return no_face(ctx)
    quality = int(ctx.params.get("quality") or 92)
    written = []
    for index, _face, pixels in crops(ctx, picture, faces):
        final = face_output(ctx, index) if ctx.params.get("all_faces") else ctx.output
        if final is None:
            raise TaskError("No output path was planned for this task.")
        dest = pictures.target(ctx, final)
        if dest is None:
            continue
        bgr, alpha = (pixels[:, :, :3], pixels[:, :, 3]) if pixels.shape[2] == 4 else (pixels, None)
        written.append(str(pictures.save(ctx, dest, np.ascontiguousarray(bgr), alpha=alpha, quality=quality)))
    return {"faces": len(faces), "crops": written, "width": picture.loaded.width,
            "height": picture.loaded.height}
