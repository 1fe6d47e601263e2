"""anonymize: every face in a photo blurred, pixelated or filled; videos go to ``video.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aipopup.core.errors import TaskError
from aipopup.core.operation import VIDEO_EXTENSIONS, TaskContext
from aipopup.ops.faces import masks, pictures
from aipopup.ops.faces.options import find_faces


def run(ctx: TaskContext) -> dict[str, Any]:
    if Path(ctx.input).suffix.lower() in VIDEO_EXTENSIONS:
        from aipopup.ops.faces.video import anonymize_video

        return anonymize_video(ctx)
    if ctx.output is None:
        raise TaskError("No output path was planned for this task.")
    picture = pictures.load(ctx)
    ctx.progress(0.4, "decoded")
    ctx.check()
    faces = find_faces(ctx, picture.bgr)
    ctx.progress(0.6, f"{len(faces)} face(s) found")
    ctx.check()
    anonymize_pixels(ctx, picture, faces)
    pictures.save(ctx, ctx.output, picture.bgr, alpha=picture.alpha, exif=pictures.kept_exif(ctx, picture),
                  quality=int(ctx.params.get("quality") or 92))
    return summary(picture, faces)


def anonymize_pixels(ctx: TaskContext, picture: pictures.Picture, faces: list[Any]) -> None:
    """Mask ``faces`` in ``picture.bgr`` in place with the task's mode, shape and scale."""
    masks.apply_masks(picture.bgr, faces, mode=str(ctx.params.get("mode") or "blur"),
                      shape=str(ctx.params.get("shape") or "ellipse"),
                      mask_scale=float(ctx.params.get("mask_scale") or 1.3))


def summary(picture: pictures.Picture, faces: list[Any]) -> dict[str, Any]:
    return {"faces": len(faces), "width": picture.loaded.width, "height": picture.loaded.height,
            "boxes": [[round(v) for v in f.box] for f in faces]}
