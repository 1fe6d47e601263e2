"""Decoding a face task's input once and writing its outputs: alpha, metadata, overwrite policy."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from aipopup.core.errors import TaskError
from aipopup.core.operation import TaskContext
from aipopup.core.skipdone import unique_path
from aipopup.ops import images
from aipopup.ops.faces import metadata

ALPHA_FORMATS = frozenset({".png", ".webp", ".tif", ".tiff"})


@dataclass
class Picture:
    loaded: images.LoadedImage
    alpha: np.ndarray | None  # 8-bit alpha of PNG/WebP/TIFF inputs that have one, else None

    @property
    def bgr(self) -> np.ndarray:
        return self.loaded.pixels


def load(ctx: TaskContext) -> Picture:
    loaded = images.load_image(ctx.input, pixel_limit=images.pixel_limit(ctx.settings))
    return Picture(loaded, _alpha(loaded))


def _alpha(loaded: images.LoadedImage) -> np.ndarray | None:
    if loaded.source_format not in ("PNG", "WEBP", "TIFF"):
        return None
    # Only the header is read here; the second decode happens for images with alpha alone.
    try:
        with Image.open(io.BytesIO(loaded.data)) as img:
            if "A" not in img.getbands() and "transparency" not in img.info:
                return None
    except Exception:
        return None
    full = cv2.imdecode(np.frombuffer(loaded.data, np.uint8), cv2.IMREAD_UNCHANGED)
    if full is None or full.ndim != 3 or full.shape[2] != 4 or full.shape[:2] != loaded.pixels.shape[:2]:
        return None  # palette transparency or an EXIF-rotated PNG: keep the colour image only
    alpha = np.asarray(full[:, :, 3])
    if alpha.dtype == np.uint16:
        alpha = (alpha // 257).astype(np.uint8)
    return np.ascontiguousarray(alpha)


def target(ctx: TaskContext, path: Path) -> Path | None:
    """Where to write an extra output under the batch's overwrite policy; None: keep the file
    that is there (policy "never"). The scheduler applies the policy to the primary output."""
    if ctx.output is not None and path == ctx.output:
        return path
    if not path.exists():
        return path
    if ctx.overwrite == "never":
        ctx.log(f"Kept the existing {path.name} (overwrite policy: never).", "warning")
        return None
    if ctx.overwrite == "rename":
        return unique_path(path)
    return path


def save(ctx: TaskContext, final: Path, bgr: np.ndarray, *, alpha: np.ndarray | None = None,
         exif: bytes | None = None, quality: int = 92) -> Path:
    """Encode ``bgr`` (+ ``alpha`` where the format has one, + cleaned ``exif``) atomically to
    ``final``; returns ``final``."""
    suffix = final.suffix.lower()
    pixels = bgr
    if alpha is not None and suffix in ALPHA_FORMATS and alpha.shape[:2] == bgr.shape[:2]:
        pixels = np.dstack((bgr, alpha))
    with ctx.atomic_output(final) as tmp:
        if exif and suffix == ".webp":
            _save_webp(tmp, pixels, exif, quality)
        else:
            images.write_image(tmp, pixels, quality=quality)
            if exif and not metadata.embed(tmp, exif):
                ctx.log(f"{suffix} files cannot carry EXIF here; metadata was not kept.", "warning")
    return final


def _save_webp(tmp: Path, pixels: np.ndarray, exif: bytes, quality: int) -> None:
    mode_conv = cv2.COLOR_BGRA2RGBA if pixels.shape[2] == 4 else cv2.COLOR_BGR2RGB
    img = Image.fromarray(cv2.cvtColor(pixels, mode_conv))
    try:
        img.save(tmp, "WEBP", quality=quality, exif=exif)
    except OSError as exc:
        raise TaskError(f"Could not write {tmp.name}: {exc}.") from None


def kept_exif(ctx: TaskContext, picture: Picture) -> bytes | None:
    if not ctx.params.get("keep_metadata"):
        return None
    return metadata.clean_exif(picture.loaded.exif)
