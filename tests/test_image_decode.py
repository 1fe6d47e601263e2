"""load_image decodes into a few kept buffers: the same pixels as a plain decode, never the
memory of an image someone still holds, and no more buffers than images decoded at once."""

from __future__ import annotations

import threading
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


@pytest.mark.parametrize("into_buffer", [True, False], ids=["into-buffer", "older-opencv"])
def test_pixels_are_those_of_a_plain_decode(testdata: Path, tmp_path: Path, into_buffer: bool,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "_DECODE_INTO", into_buffer and images._DECODE_INTO)
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
    assert not any(np.shares_memory(pixels, kept) for kept in images._buffers)


@needs_decode_into
def test_threads_share_the_kept_buffers(testdata: Path) -> None:
    """The executor may run each task on another thread: one photo at a time on six threads
    still uses one buffer, and images held at once never add buffers past BUFFERS_KEPT."""
    path = testdata / "faces" / "obama-720p.jpg"
    bases: list[int] = []
    turn = [threading.Event() for _ in range(7)]  # the 7th: all six have decoded
    leave = threading.Event()

    def decode(index: int) -> None:
        turn[index].wait(30)
        pixels = images.load_image(path).pixels
        bases.append(id(pixels.base))
        del pixels
        turn[index + 1].set()
        leave.wait(30)  # alive until all have decoded, as a pool's idle threads are

    threads = [threading.Thread(target=decode, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    turn[0].set()
    turn[-1].wait(30)
    leave.set()
    for thread in threads:
        thread.join(30)
    assert len(bases) == 6 and len(set(bases)) == 1

    held = [images.load_image(path).pixels for _ in range(images.BUFFERS_KEPT + 3)]
    assert len(images._buffers) <= images.BUFFERS_KEPT
    expected = _plain(path)
    assert all(np.array_equal(pixels, expected) for pixels in held)
