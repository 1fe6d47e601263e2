"""process: several outputs from one decode of each photo (anonymized copy, portrait crop, web
size), sharing one detection.

The crop is cut from the original pixels (a portrait of a blurred face is useless); the resized
copy is made from the anonymized pixels unless ``resize_from`` says ``original``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aipopup.core.errors import TaskError
from aipopup.core.operation import TaskContext
from aipopup.ops import images
from aipopup.ops.faces import crop, masks, pictures
from aipopup.ops.faces.options import find_faces

OUTPUTS = ("anonymize", "crop", "resize")


def parse_outputs(text: str | None) -> list[str]:
    wanted = [part.strip().lower() for part in str(text or "").split(",") if part.strip()]
    unknown = [w for w in wanted if w not in OUTPUTS]
    if unknown or not wanted:
        raise TaskError(f"outputs {text!r}: choose one or more of {', '.join(OUTPUTS)}, comma-separated.")
    return list(dict.fromkeys(wanted))


def run(ctx: TaskContext) -> dict[str, Any]:
    wanted = parse_outputs(ctx.params.get("outputs"))
    params = ctx.params
    quality = int(params.get("quality") or 92)
    picture = pictures.load(ctx)
    ctx.progress(0.3, "decoded")
    ctx.check()
    faces = find_faces(ctx, picture.bgr)
    ctx.progress(0.5, f"{len(faces)} face(s) found")
    result: dict[str, Any] = {"faces": len(faces), "width": picture.loaded.width,
                              "height": picture.loaded.height, "outputs": {}}
    written: dict[str, Any] = result["outputs"]
    exif = pictures.kept_exif(ctx, picture)

    if "crop" in wanted:
        if faces:
            paths = []
            for index, _face, pixels in crop.crops(ctx, picture, faces):
                final = crop.face_output(ctx, index, op="crop") if params.get("all_faces") else \
                    ctx.name_output(op="crop")
                paths.append(_write(ctx, final, pixels, quality))
            written["crop"] = [p for p in paths if p]
        else:
            result.update(crop.no_face(ctx, fail=False))
    resize_from_original = str(params.get("resize_from") or "anonymized") == "original"
    if "resize" in wanted and resize_from_original:
        written["resize"] = _write_resized(ctx, picture, quality, exif)
    ctx.check()
    if "anonymize" in wanted or ("resize" in wanted and not resize_from_original):
        masks.apply_masks(picture.bgr, faces, mode=str(params.get("mode") or "blur"),
                          shape=str(params.get("shape") or "ellipse"),
                          mask_scale=float(params.get("mask_scale") or 1.3))
    if "anonymize" in wanted:
        dest = pictures.target(ctx, ctx.name_output(op="anonymize"))
        if dest is not None:
            written["anonymize"] = str(pictures.save(ctx, dest, picture.bgr, alpha=picture.alpha,
                                                     exif=exif, quality=quality))
    if "resize" in wanted and not resize_from_original:
        written["resize"] = _write_resized(ctx, picture, quality, exif)
    return result


def _write(ctx: TaskContext, final: Path, pixels: np.ndarray, quality: int) -> str | None:
    dest = pictures.target(ctx, final)
    if dest is None:
        return None
    bgr, alpha = (pixels[:, :, :3], pixels[:, :, 3]) if pixels.shape[2] == 4 else (pixels, None)
    return str(pictures.save(ctx, dest, np.ascontiguousarray(bgr), alpha=alpha, quality=quality))


def _write_resized(ctx: TaskContext, picture: pictures.Picture, quality: int,
                   exif: bytes | None) -> str | None:
    dest = pictures.target(ctx, ctx.name_output(op="resize"))
    if dest is None:
        return None
    max_side = int(ctx.params.get("max_side") or 1600)
    small = images.resize_max_side(picture.bgr, max_side)
    alpha = images.resize_max_side(picture.alpha, max_side) if picture.alpha is not None else None
    return str(pictures.save(ctx, dest, small, alpha=alpha, exif=exif, quality=quality))
