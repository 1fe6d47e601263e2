from __future__ import annotations

from pathlib import Path

import cv2
import pytest
from tests.conftest import MakeRun

from aipopup.core.errors import TaskError


def test_convert_resizes_and_reencodes(testdata: Path, make_run: MakeRun, tmp_path: Path) -> None:
    src = testdata / "faces" / "obama-1080p.jpg"
    run = make_run("convert", src, params={"max_side": 500, "format": "png"})
    result = run()
    assert run.ctx.output is not None and run.ctx.output.suffix == ".png"
    out = cv2.imread(str(run.ctx.output))
    assert max(out.shape[:2]) == 500
    assert result is not None and max(result["width"], result["height"]) == 500
    assert not list(run.ctx.output.parent.glob(".*aipopup-tmp*"))


@pytest.mark.parametrize("content, message", [
    (b"", "empty"),
    (b"this is not an image at all", "not an image"),
])
def test_convert_bad_input_is_a_clear_task_error(tmp_path: Path, make_run: MakeRun,
                                                 content: bytes, message: str) -> None:
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(content)
    with pytest.raises(TaskError, match=message):
        make_run("convert", bad)()


def test_truncated_jpeg_is_refused(testdata: Path, tmp_path: Path, make_run: MakeRun) -> None:
    data = (testdata / "faces" / "obama.jpg").read_bytes()
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(TaskError, match="truncated"):
        make_run("convert", cut)()
