"""anonymize: every face in a photo blurred, pixelated or filled; videos go to ``video.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aipopup.core.errors import ParamError, TaskError
from aipopup.core.operation import VIDEO_EXTENSIONS, TaskContext
from aipopup.ops.faces import masks, pictures
from aipopup.ops.faces.options import find_faces, given_boxes


def run(ctx: TaskContext) -> dict[str, Any]:
    try:
        reviewed = given_boxes(ctx.params)
    except ParamError as exc:
        raise TaskError(f"The reviewed face boxes of this photo are damaged ({exc.message}).",
                        "Review the photo again, or run it without a review.") from None
    if Path(ctx.input).suffix.lower() in VIDEO_EXTENSIONS:
        if reviewed is not None:
            raise TaskError("Reviewed face boxes apply to photos only, not to videos.")
        from aipopup.ops.faces.video import anonymize_video

        return anonymize_video(ctx)
    if ctx.output is None:
        raise TaskError("No output path was planned for this task.")
    picture = pictures.load(ctx)
    ctx.progress(0.4, "decoded")
    ctx.check()
    # A reviewed photo is masked exactly where the person said: detecting again could bring
    # back a box they removed.
    faces: list[Any] = find_faces(ctx, picture.bgr) if reviewed is None else list(reviewed)
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
    """``faces``: detector faces (with ``.box``) or plain ``(x, y, w, h)`` boxes from a review."""
    return {"faces": len(faces), "width": picture.loaded.width, "height": picture.loaded.height,
            "boxes": [[round(v) for v in (f.box if hasattr(f, "box") else f)] for f in faces]}
