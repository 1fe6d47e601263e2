from __future__ import annotations

import io
import json
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from tests.conftest import MakeRun
from tests.faces_helpers import in_masks, raw_faces, read

from aipopup.core.cancel import CancelToken
from aipopup.core.errors import Cancelled, TaskError
from aipopup.ops.faces import masks

PHOTOS = sorted(json.loads((Path(__file__).resolve().parents[1].parent / "shared" / "testdata" /
                            "manifest.json").read_text())["faces"])


@pytest.mark.parametrize("name", PHOTOS)
def test_anonymized_photos_show_no_face_to_detect(name: str, testdata: Path, make_run: MakeRun) -> None:
    """The default masks (blur, ellipse): the detect operation at 0.5 finds nothing in the output,
    and plain YuNet (no second look, fine pass forced) finds nothing in a masked region."""
    run = make_run("anonymize", testdata / "faces" / name)
    result = run()
    assert result is not None and result["faces"] >= 1
    assert run.ctx.output is not None
    found = make_run("detect", run.ctx.output, params={"threshold": 0.5, "thorough": True})()
    assert found is not None and found["faces"] == 0, found
    out = read(run.ctx.output)
    size = (out.shape[1], out.shape[0])
    assert not [f for f in raw_faces(out) if in_masks(f, result["boxes"], 1.3, size)]


@pytest.mark.parametrize("mode, shape", [("pixelate", "ellipse"), ("pixelate", "box"), ("blur", "box"),
                                         ("solid", "box"), ("solid", "ellipse")])
@pytest.mark.parametrize("name", ["two_people.jpg", "knn_examples_test_obama_and_biden.jpg",
                                  "obama-240p.jpg", "knn_examples_train_obama_obama2.jpg",
                                  "knn_examples_test_alex_lacamoire1.jpg"])
def test_every_mask_mode_defeats_the_detector(name: str, mode: str, shape: str, testdata: Path,
                                              make_run: MakeRun) -> None:
    run = make_run("anonymize", testdata / "faces" / name, params={"mode": mode, "shape": shape})
    result = run()
    assert result is not None and run.ctx.output is not None
    out = read(run.ctx.output)
    size = (out.shape[1], out.shape[0])
    assert not [f for f in raw_faces(out) if in_masks(f, result["boxes"], 1.3, size)]


def test_pixels_outside_the_masks_are_unchanged(testdata: Path, make_run: MakeRun) -> None:
    src = testdata / "faces" / "knn_examples_test_obama_and_biden.jpg"
    run = make_run("anonymize", src, params={"quality": 95})
    result = run()
    assert result is not None and run.ctx.output is not None
    before, after = read(src).astype(np.int16), read(run.ctx.output).astype(np.int16)
    assert before.shape == after.shape
    outside = np.ones(before.shape[:2], bool)
    height, width = before.shape[:2]
    for box in result["boxes"]:
        x0, y0, x1, y1 = masks.mask_region(box, 1.3, width, height)
        # JPEG works in 8x8 (16x16 for chroma) blocks: a block that touches a mask changes a little
        outside[max(0, y0 - 16):y1 + 16, max(0, x0 - 16):x1 + 16] = False
    diff = np.abs(before - after)[outside]
    assert diff.mean() < 1.5 and np.percentile(diff, 99.9) <= 12
    inside = np.zeros_like(outside)
    for box in result["boxes"]:
        x, y, w, h = box
        inside[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4] = True
    assert np.abs(before - after)[inside].mean() > 10  # and the faces did change


def test_mask_strength_follows_the_face_size(testdata: Path) -> None:
    """The same face at 240p and 1080p ends up with the same amount of detail left."""
    def detail(name: str) -> float:
        photo = read(testdata / "faces" / name)
        face = raw_faces(photo, 0.6)[0]
        masks.apply_masks(photo, [face.box], mode="blur", shape="box")
        x, y, w, h = (round(v) for v in face.box)
        region = cv2.resize(photo[y:y + h, x:x + w], (64, 64), interpolation=cv2.INTER_AREA)
        return float(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())

    small, big = detail("obama-240p.jpg"), detail("obama-1080p.jpg")
    assert small < 5 and big < 5  # an unmasked face at 64x64 scores in the hundreds


def _jpeg_with_exif(src: Path, dest: Path) -> None:
    img = Image.open(src)
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "EOS 5D"  # Model
    exif[0x0112] = 6  # Orientation: rotate 90 CW to show
    exif[0x013B] = "Jane Photographer"  # Artist
    exif[0x8769] = {0x9003: "2024:01:02 03:04:05", 0xA431: "SERIAL123"}
    exif[0x8825] = {1: "N", 2: (52.0, 22.0, 0.0)}  # GPS
    img.save(dest, "JPEG", exif=exif.tobytes(), quality=92)


def test_metadata_is_stripped_by_default(testdata: Path, tmp_path: Path, make_run: MakeRun) -> None:
    src = tmp_path / "exif.jpg"
    _jpeg_with_exif(testdata / "faces" / "obama.jpg", src)
    run = make_run("anonymize", src)
    run()
    assert run.ctx.output is not None
    with Image.open(run.ctx.output) as out:
        assert not out.getexif() and "exif" not in out.info
        # orientation was applied to the pixels: 910x1137 shown turned
        assert out.size == (1137, 910)


def test_keep_metadata_keeps_only_what_does_not_identify(testdata: Path, tmp_path: Path,
                                                         make_run: MakeRun) -> None:
    src = tmp_path / "exif.jpg"
    _jpeg_with_exif(testdata / "faces" / "obama.jpg", src)
    run = make_run("anonymize", src, params={"keep_metadata": True})
    run()
    assert run.ctx.output is not None
    with Image.open(run.ctx.output) as out:
        exif = out.getexif()
        assert exif[0x010F] == "Canon" and exif[0x0110] == "EOS 5D"
        assert exif[0x0112] == 1
        assert 0x013B not in exif and 0x8825 not in exif
        sub = exif.get_ifd(0x8769)
        assert sub[0x9003] == "2024:01:02 03:04:05" and 0xA431 not in sub
        out.load()  # the file still decodes after the EXIF block was added
    faces = raw_faces(read(run.ctx.output))
    assert not faces


@pytest.mark.parametrize("kind", ["gray", "gray16", "rgb16", "alpha"])
def test_png_variants_are_anonymized(kind: str, testdata: Path, tmp_path: Path, make_run: MakeRun) -> None:
    photo = read(testdata / "faces" / "obama-480p.jpg")
    path = tmp_path / f"{kind}.png"
    if kind == "gray":
        pixels = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY)
    elif kind == "gray16":
        pixels = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY).astype(np.uint16) * 257
    elif kind == "rgb16":
        pixels = photo.astype(np.uint16) * 257
    else:
        alpha = np.full(photo.shape[:2], 255, np.uint8)
        alpha[:, :100] = 0
        pixels = np.dstack((photo, alpha))
    cv2.imwrite(str(path), pixels)
    run = make_run("anonymize", path)
    result = run()
    assert result is not None and result["faces"] == 1
    assert run.ctx.output is not None
    out = cv2.imread(str(run.ctx.output), cv2.IMREAD_UNCHANGED)
    assert out.shape[:2] == photo.shape[:2]
    if kind == "alpha":
        assert out.shape[2] == 4 and (out[:, :100, 3] == 0).all() and (out[:, 100:, 3] == 255).all()
    assert not raw_faces(read(run.ctx.output))


def test_an_alpha_png_from_the_test_set_keeps_its_alpha(testdata: Path, make_run: MakeRun) -> None:
    src = testdata / "faces" / "alex-lacamoire.png"
    run = make_run("anonymize", src)
    run()
    assert run.ctx.output is not None
    before = cv2.imread(str(src), cv2.IMREAD_UNCHANGED)
    after = cv2.imread(str(run.ctx.output), cv2.IMREAD_UNCHANGED)
    assert after.shape == before.shape and np.array_equal(after[:, :, 3], before[:, :, 3])


def test_cmyk_jpeg_is_anonymized(testdata: Path, tmp_path: Path, make_run: MakeRun) -> None:
    src = tmp_path / "cmyk.jpg"
    Image.open(testdata / "faces" / "obama-720p.jpg").convert("CMYK").save(src, "JPEG", quality=92)
    run = make_run("anonymize", src)
    result = run()
    assert result is not None and result["faces"] == 1 and run.ctx.output is not None
    out = read(run.ctx.output)
    assert out.shape == (720, 1280, 3) and not raw_faces(out)


def test_an_image_over_the_pixel_limit_is_refused(testdata: Path, make_run: MakeRun) -> None:
    run = make_run("anonymize", testdata / "faces" / "obama-1080p.jpg", settings={"pixel_limit_mp": 1})
    with pytest.raises(TaskError, match="over the 1-megapixel limit"):
        run()
    assert run.ctx.output is not None and not run.ctx.output.exists()


def _png_header_only(path: Path, width: int, height: int) -> None:
    """A PNG whose header announces ``width`` x ``height`` but whose data stops after a few rows:
    a decoder that trusted the header would allocate the whole picture first."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = zlib.compress(b"\0" * (width * 3 + 1) * 4)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    signature = b"\x89PNG\r\n\x1a\n"
    path.write_bytes(signature + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b""))


def test_the_default_pixel_limit_refuses_a_250_megapixel_photo(tmp_path: Path, make_run: MakeRun) -> None:
    huge = tmp_path / "panorama.png"
    _png_header_only(huge, 25_000, 10_000)
    run = make_run("anonymize", huge)  # the settings' defaults: 200 megapixels
    with pytest.raises(TaskError, match=r"25000x10000 \(250 megapixels\), over the 200-megapixel limit"):
        run()
    assert run.ctx.output is not None and not run.ctx.output.exists()


def test_a_cancelled_task_leaves_no_output(testdata: Path, make_run: MakeRun) -> None:
    token = CancelToken()
    token.cancel()
    run = make_run("anonymize", testdata / "faces" / "obama-1080p.jpg", token=token)
    with pytest.raises(Cancelled):
        run()
    assert run.ctx.output is not None
    assert not run.ctx.output.parent.exists() or not list(run.ctx.output.parent.iterdir())


def test_webp_keeps_metadata_through_pillow(testdata: Path, tmp_path: Path, make_run: MakeRun) -> None:
    src = tmp_path / "exif.webp"
    img = Image.open(testdata / "faces" / "obama-480p.jpg")
    exif = Image.Exif()
    exif[0x010F] = "Canon"
    exif[0x8825] = {1: "N"}
    img.save(src, "WEBP", exif=exif.tobytes(), quality=90)
    run = make_run("anonymize", src, params={"keep_metadata": True})
    run()
    assert run.ctx.output is not None
    with Image.open(io.BytesIO(run.ctx.output.read_bytes())) as out:
        kept = out.getexif()
        assert kept[0x010F] == "Canon" and 0x8825 not in kept
