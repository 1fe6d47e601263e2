from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from tests.conftest import MakeRun
from tests.faces_helpers import raw_faces, read

from aipopup.core.errors import TaskError
from aipopup.ops import images
from aipopup.ops.faces import crop, detector

PHOTOS = sorted(json.loads((Path(__file__).resolve().parents[1].parent / "shared" / "testdata" /
                            "manifest.json").read_text())["faces"])


@pytest.mark.parametrize("name", PHOTOS)
def test_every_crop_holds_its_face_at_the_centre(name: str, testdata: Path, make_run: MakeRun) -> None:
    run = make_run("crop", testdata / "faces" / name,
                   params={"all_faces": True, "width": 300, "height": 400})
    result = run()
    assert result is not None and len(result["crops"]) == result["faces"] >= 1
    assert len(set(result["crops"])) == len(result["crops"])
    for path in result["crops"]:
        out = read(Path(path))
        assert out.shape == (400, 300, 3)
        faces = raw_faces(out, 0.5)
        assert any(f.x <= 150 <= f.x + f.w and f.y <= 200 <= f.y + f.h for f in faces), (path, faces)


def test_the_largest_face_is_cropped_by_default(testdata: Path, make_run: MakeRun) -> None:
    src = testdata / "faces" / "knn_examples_test_obama_and_biden.jpg"
    result = make_run("crop", src)()
    assert result is not None and len(result["crops"]) == 1 and result["faces"] >= 3
    largest = max(detector.detect_faces(read(src), threshold=0.6), key=lambda f: f.area)
    out = read(Path(result["crops"][0]))
    # face_percent 50: the face box is half the crop's height
    faces = raw_faces(out, 0.5)
    centre = [f for f in faces if f.x <= 300 <= f.x + f.w and f.y <= 400 <= f.y + f.h]
    assert centre and abs(centre[0].h - 400) < 60
    assert largest.h > 0


def test_a_face_at_the_edge_is_padded_not_shifted(testdata: Path, tmp_path: Path,
                                                 make_run: MakeRun) -> None:
    photo = read(testdata / "faces" / "obama-1080p.jpg")
    face = detector.detect_faces(photo, threshold=0.6)[0]
    left = int(face.x + face.w * 0.1)  # cut the photo just right of the face's left edge
    edge = tmp_path / "edge.png"
    cv2.imwrite(str(edge), photo[:, left:])
    run = make_run("crop", edge, params={"fill": "black", "width": 300, "height": 400})
    result = run()
    assert result is not None
    out = read(Path(result["crops"][0]))
    assert (out[:, :20] == 0).all()  # the part past the photo's edge is filled
    # the face box's centre is still the crop's centre
    x, y, w, h = face.box
    win = crop.window(detector.Face(x - left, y, w, h, 1.0), 300, 400, 50, (0, 0, 0, 0))
    assert win.x0 < 0
    assert abs((x - left + w / 2) - (win.x0 + win.x1) / 2) < 2


def test_per_side_padding_places_the_face(testdata: Path, make_run: MakeRun) -> None:
    src = testdata / "faces" / "obama.jpg"
    result = make_run("crop", src, params={"padding": "0,0,150,0", "width": 300, "height": 400})()
    assert result is not None
    faces = raw_faces(read(Path(result["crops"][0])), 0.5)
    assert len(faces) == 1 and faces[0].centre[1] < 160  # room below: the face sits high


@pytest.mark.parametrize("text, expected", [("", (0, 0, 0, 0)), ("20", (20, 20, 20, 20)),
                                            ("10,5", (10, 5, 10, 5)), ("1,2,3,4", (1, 2, 3, 4))])
def test_padding_syntax(text: str, expected: tuple[float, ...]) -> None:
    assert crop.parse_padding(text) == expected


def test_bad_padding_is_a_clear_error(testdata: Path, make_run: MakeRun) -> None:
    with pytest.raises(TaskError, match="padding"):
        make_run("crop", testdata / "faces" / "obama.jpg", params={"padding": "a,b"})()


def test_a_photo_without_a_face_fails_visibly(tmp_path: Path, make_run: MakeRun) -> None:
    blank = tmp_path / "blank.jpg"
    cv2.imwrite(str(blank), np.full((300, 400, 3), 90, np.uint8))
    with pytest.raises(TaskError, match=r"No face found in blank\.jpg"):
        make_run("crop", blank)()


def test_a_photo_without_a_face_is_copied_to_the_no_face_folder(tmp_path: Path,
                                                                make_run: MakeRun) -> None:
    blank = tmp_path / "blank.jpg"
    cv2.imwrite(str(blank), np.full((300, 400, 3), 90, np.uint8))
    run = make_run("crop", blank, params={"no_face_dir": "no-face"})
    result = run()
    copied = tmp_path / "out" / "no-face" / "blank.jpg"
    assert result == {"faces": 0, "no_face": True, "copied_to": str(copied)}
    assert copied.read_bytes() == blank.read_bytes()
    assert run.logs and "No face" in run.logs[0][1]


def test_process_writes_three_outputs_from_one_decode(testdata: Path, make_run: MakeRun,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    src = testdata / "faces" / "two_people.jpg"
    decoded: list[str] = []
    real_load = images.load_image

    def counted(path: str | Path, **kwargs: Any) -> images.LoadedImage:
        decoded.append(str(path))
        return real_load(path, **kwargs)

    # Counted, still the real decoder: the point of "process" is one decode for every output.
    monkeypatch.setattr(images, "load_image", counted)
    run = make_run("process", src,
                   params={"max_side": 500, "all_faces": True, "width": 300, "height": 400})
    assert run.ctx.output is None
    result = run()
    assert result is not None and result["faces"] == 2
    assert decoded == [str(src)]
    outs = result["outputs"]
    assert sorted(outs) == ["anonymize", "crop", "resize"]
    assert sorted(run.ctx.outputs) == sorted([outs["anonymize"], outs["resize"], *outs["crop"]])
    assert not raw_faces(read(Path(outs["anonymize"])))
    resized = read(Path(outs["resize"]))
    # Scaled down, the masked heads are small blobs that plain YuNet scores just over 0.5 on this
    # photo; the detector with its second look (the detect operation) finds none.
    assert max(resized.shape[:2]) == 500
    assert not detector.detect_faces(resized, threshold=0.5, thorough=True)
    for path in outs["crop"]:  # crops come from the original pixels: the face is there
        assert len(raw_faces(read(Path(path)), 0.6)) >= 1


def test_process_skips_files_the_policy_keeps(testdata: Path, tmp_path: Path, make_run: MakeRun) -> None:
    src = testdata / "faces" / "obama.jpg"
    existing = tmp_path / "out" / "obama_anonymize.jpg"
    existing.parent.mkdir(parents=True)
    existing.write_bytes(b"keep me")
    run = make_run("process", src, params={"outputs": "anonymize,resize"})
    result = run()
    assert result is not None and "anonymize" not in result["outputs"]
    assert existing.read_bytes() == b"keep me"
    assert Path(result["outputs"]["resize"]).exists()


def test_process_rejects_unknown_outputs(testdata: Path, make_run: MakeRun) -> None:
    with pytest.raises(TaskError, match="choose one or more"):
        make_run("process", testdata / "faces" / "obama.jpg",
                 params={"outputs": "anonymize,thumbnail"})()
