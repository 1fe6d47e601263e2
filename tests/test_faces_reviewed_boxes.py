"""Anonymize with reviewed boxes (the hidden ``boxes`` parameter the face review sets): the
detector is skipped and exactly the given boxes are masked; the boxes are part of skip-done's
key, so a photo reviewed again is rendered again."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests.conftest import MakeRun
from tests.faces_helpers import raw_faces, read

from aipopup.core.engine import Engine
from aipopup.core.errors import TaskError
from aipopup.core.planner import BatchRequest, plan
from aipopup.core.task import State
from aipopup.ops.faces import masks

PHOTO = "two_people.jpg"


def centre_diff(before: np.ndarray, after: np.ndarray, box: list[int] | tuple[float, ...]) -> float:
    """Mean absolute change over the middle half of ``box``."""
    x, y, w, h = (round(v) for v in box)
    region = (slice(y + h // 4, y + 3 * h // 4), slice(x + w // 4, x + 3 * w // 4))
    return float(np.abs(before[region].astype(np.int16) - after[region].astype(np.int16)).mean())


def test_given_boxes_are_masked_instead_of_the_detected_faces(testdata: Path, make_run: MakeRun) -> None:
    source = testdata / "faces" / PHOTO
    before = read(source)
    faces = sorted(raw_faces(before, 0.6), key=lambda f: f.box[0])
    assert len(faces) == 2
    kept_face = [round(v) for v in faces[0].box]
    # A face-free patch of the background: the detector would never mask it.
    height, width = before.shape[:2]
    patch = [width // 2 - 20, height - 60, 40, 40]
    run = make_run("anonymize", source, params={"boxes": json.dumps([kept_face, patch]), "quality": 95,
                                                "mode": "solid", "shape": "box"})
    result = run()
    assert result is not None and run.ctx.output is not None
    assert result["faces"] == 2 and result["boxes"] == [kept_face, patch]
    after = read(run.ctx.output)
    assert centre_diff(before, after, kept_face) > 40
    assert centre_diff(before, after, patch) > 40
    # The other detected face is not masked: only JPEG noise there.
    assert centre_diff(before, after, faces[1].box) < 3


def test_an_empty_list_masks_nothing(testdata: Path, make_run: MakeRun) -> None:
    source = testdata / "faces" / PHOTO
    run = make_run("anonymize", source, params={"boxes": "[]", "quality": 95})
    result = run()
    assert result is not None and run.ctx.output is not None
    assert result["faces"] == 0 and result["boxes"] == []
    before, after = read(source), read(run.ctx.output)
    assert np.abs(before.astype(np.int16) - after.astype(np.int16)).mean() < 1.5  # JPEG noise
    for face in raw_faces(before, 0.6):
        assert centre_diff(before, after, face.box) < 3


def test_an_unset_value_still_detects(testdata: Path, make_run: MakeRun) -> None:
    run = make_run("anonymize", testdata / "faces" / PHOTO, params={"boxes": ""})
    result = run()
    assert result is not None and result["faces"] == 2


@pytest.mark.parametrize("value, says", [
    ("[[1, 2, 3]", "not JSON"),
    ('{"x": 1}', "list of [x, y, w, h]"),
    ("[[1, 2, 3]]", "is not an [x, y, w, h] box"),
    ('[[1, 2, "a", 4]]', "is not an [x, y, w, h] box"),
    ("[[10, 10, 0, 5]]", "has no area"),
])
def test_damaged_boxes_fail_the_task_with_a_clear_message(value: str, says: str, testdata: Path,
                                                          make_run: MakeRun) -> None:
    run = make_run("anonymize", testdata / "faces" / PHOTO, params={"boxes": value})
    with pytest.raises(TaskError, match="reviewed face boxes") as raised:
        run()
    assert says in raised.value.message
    assert run.ctx.output is not None and not run.ctx.output.exists()


def test_other_boxes_are_not_skipped_as_already_done(testdata: Path, tmp_path: Path) -> None:
    source = (testdata / "faces" / PHOTO).resolve()
    first, second = [[10, 10, 50, 50]], [[100, 60, 50, 50]]

    def run(boxes: list[list[int]]) -> tuple[State, str, list[list[int]]]:
        request = BatchRequest(op="anonymize", inputs=[str(source)], output_dir=str(tmp_path / "out"),
                               overwrite="always",
                               per_input_params={str(source): {"boxes": json.dumps(boxes)}})
        with Engine(tmp_path / "state") as engine:
            batch = engine.scheduler.add_batch(*plan(request))
            assert engine.scheduler.wait_idle(timeout=60)
            task = engine.scheduler.tasks(batch.id)[0]
            return task.state, task.error, (task.result or {}).get("boxes", [])

    assert run(first) == (State.SUCCEEDED, "", first)
    assert run(second) == (State.SUCCEEDED, "", second)  # new boxes: rendered again
    state, error, _ = run(second)
    assert state is State.SKIPPED and error.startswith("Already done")
    out = read(next((tmp_path / "out").iterdir()))
    x0, y0, x1, y1 = masks.mask_region(second[0], 1.3, out.shape[1], out.shape[0])
    assert centre_diff(read(source), out, [x0, y0, x1 - x0, y1 - y0]) > 5  # the second render's mask
