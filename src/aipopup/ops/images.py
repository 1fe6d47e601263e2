"""Reading and writing images: the one place that turns files into pixels and back.

Every operation decodes through ``load_image`` so that orientation, the pixel limit and the
error messages for bad files are the same everywhere.
"""

from __future__ import annotations

import os
import sys
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from aipopup.core.errors import TaskError

DEFAULT_PIXEL_LIMIT = 200_000_000
ENCODE_EXT = {"jpg": ".jpg", "jpeg": ".jpg", "png": ".png", "webp": ".webp"}
JPEG_SOI = b"\xff\xd8"
# Decoded pixels up to this size go into buffers kept for the next images (see
# ``_pixel_buffer``); larger photos get memory of their own, so nothing huge stays held.
REUSE_MAX_BYTES = 128 * 2**20
REUSE_ROUND_BYTES = 4 * 2**20
# As many kept buffers as images decoded at once by default (one per core, as the engine runs
# CPU tasks), whichever threads the executor runs them on: a buffer per thread grew to 357 MB.
BUFFERS_KEPT = max(2, os.cpu_count() or 2)
# OpenCV 4.10+ can decode into a given array; older builds have no ``dst`` argument.
_DECODE_INTO = "dst" in (cv2.imread.__doc__ or "")
_buffers: list[np.ndarray] = []
_buffers_lock = threading.Lock()


@dataclass
class LoadedImage:
    pixels: np.ndarray  # BGR uint8, EXIF orientation applied
    path: Path
    data: bytes  # the file's bytes, already in memory: hash them instead of reading again
    source_format: str  # "JPEG", "PNG", ... as the header says
    exif: bytes | None  # the raw EXIF block, for operations that keep metadata

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


def read_bytes(path: Path) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        raise TaskError(f"{path.name} no longer exists.",
                        "It was moved or deleted after it was added.") from None
    except IsADirectoryError:
        raise TaskError(f"{path.name} is a folder, not an image.") from None
    except PermissionError:
        raise TaskError(f"No permission to read {path.name}.",
                        "Check the file's permissions, or copy it somewhere readable.") from None
    except OSError as exc:
        raise TaskError(f"Could not read {path.name}: {exc.strerror or exc}.") from None


def probe(path: Path, data: bytes) -> tuple[int, int, str, bytes | None]:
    """Width, height, format and EXIF from the header alone, before any pixels are decoded."""
    import io

    try:
        with warnings.catch_warnings():
            # We enforce our own limit with a clear message instead of Pillow's warning/error.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            Image.MAX_IMAGE_PIXELS = None
            with Image.open(io.BytesIO(data)) as img:
                exif = img.info.get("exif")
                return img.width, img.height, img.format or "?", exif if isinstance(exif, bytes) else None
    except Exception:  # any header failure: decide by the first bytes
        return 0, 0, _format_by_signature(data), None


_SIGNATURES = ((b"\xff\xd8\xff", "JPEG"), (b"\x89PNG\r\n\x1a\n", "PNG"), (b"RIFF", "WEBP"),
               (b"BM", "BMP"), (b"II*\x00", "TIFF"), (b"MM\x00*", "TIFF"))


def _format_by_signature(data: bytes) -> str:
    """A file that starts like an image but whose header is broken is damaged, not foreign."""
    return next((fmt for magic, fmt in _SIGNATURES if data.startswith(magic)), "?")


def load_image(path: str | Path, *, pixel_limit: int = DEFAULT_PIXEL_LIMIT) -> LoadedImage:
    """Decode ``path`` to BGR with EXIF orientation applied, or raise a TaskError a person can act on."""
    path = Path(path)
    data = read_bytes(path)
    if not data:
        raise TaskError(f"{path.name} is empty (0 bytes).", "The file was not fully copied or downloaded.")
    width, height, fmt, exif = probe(path, data)
    if width * height > pixel_limit:
        raise TaskError(
            f"{path.name} is {width}x{height} ({width * height / 1e6:.0f} megapixels), over the "
            f"{pixel_limit / 1e6:.0f}-megapixel limit.",
            "Raise the pixel limit in Settings if this image is genuine; huge images can exhaust memory.")
    if fmt == "JPEG" and _jpeg_truncated(data):
        # libjpeg fills a cut-off JPEG with grey and only warns; a person would call it broken.
        raise TaskError(f"{path.name} is truncated: the JPEG data ends early.",
                        "The file was not fully copied or downloaded.")
    pixels = _decode(path, data, (height, width))
    if pixels is None:
        if fmt == "?":
            raise TaskError(f"{path.name} is not an image OpenCV can read.",
                            "Supported: JPEG, PNG, WebP, BMP and TIFF.")
        raise TaskError(f"{path.name} is a damaged {fmt} file.", "Re-export or re-download it.")
    return LoadedImage(pixels=pixels, path=path, data=data, source_format=fmt, exif=exif)


def _decode(path: Path, data: bytes, stored: tuple[int, int]) -> np.ndarray | None:
    """BGR pixels of ``data`` (the bytes of ``path``, ``stored`` height and width as its header
    says), decoded into a reused buffer where possible.

    A fresh 12-megapixel array costs as much as the decode itself: 9,400 new pages faulted in
    and zeroed by the kernel, and OpenCV decodes into memory of its own and copies that into the
    array it returns (50 ms a photo in all, here). Decoded into a buffer already in use, the
    same photo takes 26 ms. ``imread`` reads the file again for this (from the page cache);
    where it cannot (an older OpenCV, a non-ASCII path on Windows, a header OpenCV reads as
    another size) the bytes are decoded. A photo its EXIF orientation turns a quarter round
    comes back in an array of its own: OpenCV decodes into the buffer, then turns it.
    """
    # OpenCV opens files with the narrow C API: on Windows only ASCII paths (it warns on others).
    openable = sys.platform != "win32" or str(path).isascii()
    dst = _pixel_buffer(stored) if _DECODE_INTO and openable and min(stored) > 0 else None
    if dst is not None:
        try:
            pixels = cv2.imread(str(path), dst, cv2.IMREAD_COLOR)
        except cv2.error:
            pixels = None
        if pixels is not None and pixels.size:
            return pixels
    decoded: np.ndarray | None = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return decoded


def _pixel_buffer(shape: tuple[int, int]) -> np.ndarray | None:
    """A ``shape`` view of a kept buffer nothing else uses, or None (decode into new memory)
    for photos over ``REUSE_MAX_BYTES`` and when all ``BUFFERS_KEPT`` are in use.

    A buffer is in use while anything refers to it: the image decoded into it, and every view
    of that (a task that still holds its pixels, a thumbnail not yet copied). The view handed
    out is made under the lock, so two threads never take the same buffer.
    """
    need = shape[0] * shape[1] * 3
    if need > REUSE_MAX_BYTES:
        return None
    with _buffers_lock:
        # References to an unused buffer: the list's and getrefcount's argument (counted through
        # the list: Python 3.14 may not count a local name's).
        free = [i for i in range(len(_buffers)) if sys.getrefcount(_buffers[i]) <= 2]
        fitting = [i for i in free if _buffers[i].size >= need]
        if fitting:
            flat = _buffers[min(fitting, key=lambda i: _buffers[i].size)]
        else:
            if free:  # too small for this photo: a larger one takes its place
                del _buffers[free[0]]
            elif len(_buffers) >= BUFFERS_KEPT:
                return None
            # Rounded up so that the next photo, a few pixels larger, still fits.
            flat = np.empty(-(-need // REUSE_ROUND_BYTES) * REUSE_ROUND_BYTES, np.uint8)
            _buffers.append(flat)
        return flat[:need].reshape(shape[0], shape[1], 3)


def _jpeg_truncated(data: bytes) -> bool:
    # In entropy-coded data 0xFF is always stuffed, so an end-of-image marker after the last
    # start-of-scan is the real end (some cameras append trailers after it; that is fine).
    if data.rstrip(b"\0\r\n ").endswith(b"\xff\xd9"):
        return False
    return data.rfind(b"\xff\xd9") < data.rfind(b"\xff\xda")


def encode_params(ext: str, quality: int) -> list[int]:
    if ext in (".jpg", ".jpeg"):
        return [cv2.IMWRITE_JPEG_QUALITY, quality]
    if ext == ".webp":
        return [cv2.IMWRITE_WEBP_QUALITY, quality]
    if ext == ".png":
        # zlib's run-length strategy: on the test PNGs (two RGBA portraits and a 720p photo) 53 ms
        # and 1.15 MB against 79 ms and 1.23 MB for level 3 with the default strategy (level 6:
        # 175 ms, 1.12 MB); with RLE the level makes no difference.
        return [cv2.IMWRITE_PNG_COMPRESSION, 3, cv2.IMWRITE_PNG_STRATEGY, cv2.IMWRITE_PNG_STRATEGY_RLE]
    return []


def write_image(path: Path, pixels: np.ndarray, *, quality: int = 92) -> None:
    """Encode to ``path`` (a temporary path; callers rename it into place)."""
    ext = path.suffix.lower()
    ok, buf = cv2.imencode(ext, pixels, encode_params(ext, quality))
    if not ok:
        raise TaskError(f"Could not encode the image as {ext}.")
    try:
        with open(path, "wb") as fh:
            fh.write(buf.data)
    except PermissionError:
        raise TaskError(f"No permission to write in {path.parent}.",
                        "Choose another output folder, or make this one writable.") from None
    except OSError as exc:
        if exc.errno == 28:
            raise TaskError(f"The disk holding {path.parent} is full.",
                            "Free some space and retry.") from None
        raise TaskError(f"Could not write to {path.parent}: {exc.strerror or exc}.") from None


def resize_max_side(pixels: np.ndarray, max_side: int | None) -> np.ndarray:
    if not max_side:
        return pixels
    height, width = pixels.shape[:2]
    longest = max(width, height)
    if longest <= max_side:
        return pixels
    scale = max_side / longest
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(pixels, size, interpolation=cv2.INTER_AREA)


def pixel_limit(settings: object) -> int:
    limit = getattr(settings, "get", lambda *_: None)("pixel_limit_mp")
    return int(float(limit) * 1_000_000) if limit else DEFAULT_PIXEL_LIMIT
