"""load_image decodes into a buffer its thread reuses: the same pixels as a plain decode, and
never the memory of an image someone still holds."""

from __future__ import annotations

import weakref
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from aipopup.ops import images

needs_decode_into = pytest.mark.skipif("dst" not in (cv2.imread.__doc__ or ""),
                                       reason="an OpenCV without imread(filename, dst)")


def _plain(path: Path) -> np.ndarray:
    pixels = cv2.imdecode(np.fromfile(path, np.uint8), cv2.IMREAD_COLOR)
    assert pixels is not None
    return pixels


def _variants(testdata: Path, folder: Path) -> list[Path]:
    """Every test photo, plus every EXIF orientation, grey, RGBA, 16-bit and other formats."""
    photo = Image.open(testdata / "faces" / "obama.jpg")
    made = []
    for orientation in range(1, 9):
        exif = Image.Exif()
        exif[0x0112] = orientation
        made.append(folder / f"orientation{orientation}.jpg")
        photo.save(made[-1], "JPEG", exif=exif.tobytes(), quality=90)
    for name, image in (("grey.jpg", photo.convert("L")), ("rgba.png", photo.convert("RGBA")),
                        ("photo.webp", photo), ("photo.bmp", photo), ("photo.tiff", photo)):
        image.save(folder / name)
        made.append(folder / name)
    deep = folder / "deep.png"
    cv2.imwrite(str(deep), _plain(testdata / "faces" / "obama.jpg").astype(np.uint16) * 257)
    originals = sorted(p for p in (testdata / "faces").iterdir()
                       if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    return [*originals, *made, deep]


def test_pixels_are_those_of_a_plain_decode(testdata: Path, tmp_path: Path) -> None:
    for path in _variants(testdata, tmp_path):
        loaded = images.load_image(path)
        expected = _plain(path)
        assert loaded.pixels.shape == expected.shape, path.name
        assert np.array_equal(loaded.pixels, expected), path.name


@needs_decode_into
def test_a_held_image_is_never_overwritten_by_the_next(testdata: Path) -> None:
    first_path, second_path = testdata / "faces" / "obama.jpg", testdata / "faces" / "obama2.jpg"
    first = images.load_image(first_path).pixels
    view = first[10:20]  # a view alone keeps the buffer too
    del first
    second = images.load_image(second_path).pixels
    assert not np.shares_memory(view, second)
    assert np.array_equal(view, _plain(first_path)[10:20])
    assert np.array_equal(second, _plain(second_path))


@needs_decode_into
def test_a_released_buffer_is_decoded_into_again(testdata: Path) -> None:
    first = images.load_image(testdata / "faces" / "obama-1080p.jpg").pixels
    assert first.base is not None
    buffer = weakref.ref(first.base)
    del first
    # the same-size photo goes into the same memory, and the buffer outlived the first image
    second = images.load_image(testdata / "faces" / "obama-720p.jpg").pixels
    assert buffer() is not None and second.base is buffer()
    assert np.array_equal(second, _plain(testdata / "faces" / "obama-720p.jpg"))


def test_huge_photos_get_memory_of_their_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "REUSE_MAX_BYTES", 1000)
    path = tmp_path / "small.png"
    cv2.imwrite(str(path), np.full((40, 40, 3), 7, np.uint8))
    pixels = images.load_image(path).pixels
    assert pixels.shape == (40, 40, 3) and int(pixels[0, 0, 0]) == 7
    slot = getattr(images._buffers, "flat", None)
    assert slot is None or not np.shares_memory(pixels, slot)
