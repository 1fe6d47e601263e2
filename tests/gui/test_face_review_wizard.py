"""The face review inside the real wizard over a real engine: a box removed with a mouse click
leaves that face unmasked in the output, a box dragged on a face-free region masks it, the
edits are in the journaled task parameters, and without the option there is no review page."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWizard
from pytestqt.qtbot import QtBot
from tests.faces_helpers import read
from tests.gui.test_wizard import to_options

from aipopup.core.engine import replay
from aipopup.core.task import State
from aipopup.gui.face_review import FaceReview, FaceTile
from aipopup.gui.main_window import MainWindow
from aipopup.ops.faces import masks

WAIT_MS = 30_000
TWO_FACES = "two_people.jpg"
ONE_FACE = "obama.jpg"


def centre_diff(before: np.ndarray, after: np.ndarray, box: list[int] | tuple[float, ...]) -> float:
    """Mean absolute change over the middle half of ``box``."""
    x, y, w, h = (round(v) for v in box)
    region = (slice(y + h // 4, y + 3 * h // 4), slice(x + w // 4, x + 3 * w // 4))
    return float(np.abs(before[region].astype(np.int16) - after[region].astype(np.int16)).mean())


def tile_for(review: FaceReview, name: str) -> FaceTile:
    tile = next(t for t in review.tiles if t.isVisible() and Path(t.path).name == name)
    assert tile.detections is not None
    return tile


def test_review_edits_change_the_output_and_are_journaled(
        qtbot: QtBot, window: MainWindow, testdata: Path, tmp_path: Path, isolated_profile: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in (TWO_FACES, ONE_FACE):
        shutil.copy2(testdata / "faces" / name, folder / name)
    wizard = window.open_wizard([str(folder)])
    to_options(qtbot, wizard, "anonymize")
    options = wizard.options_page
    assert options.review_faces.isVisible() and not options.review_faces.isChecked()
    qtbot.mouseClick(options.review_faces, Qt.MouseButton.LeftButton)
    assert wizard.choices.review_faces
    assert options.form is not None
    options.form.set_values({"mode": "solid", "shape": "box", "quality": 95})
    wizard.next()
    wizard.output_page.folder.setText(str(tmp_path / "out"))
    wizard.next()
    assert wizard.currentPage() is wizard.faces_page
    review = wizard.faces_page.review
    assert review is not None
    qtbot.waitUntil(lambda: len(review.found) == 2, timeout=WAIT_MS)

    # (a) a real click on the centre of the left face's box removes it
    pair = tile_for(review, TWO_FACES)
    assert pair.detections is not None and len(pair.detections.boxes) == 2
    left, right = sorted(pair.detections.boxes)
    with qtbot.waitSignal(review.changed, timeout=WAIT_MS):
        QTest.mouseClick(pair, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                         pair.box_rect(left).center().toPoint())
    assert pair.detections.boxes == [right]

    # (b) a drag over the top-left corner of the other photo adds a box there
    single = tile_for(review, ONE_FACE)
    assert single.detections is not None and len(single.detections.boxes) == 1
    face = single.detections.boxes[0]
    start = single.box_rect((0, 0, 0, 0)).topLeft().toPoint() + QPoint(3, 3)
    end = start + QPoint(40, 30)
    QTest.mousePress(single, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(single, end)
    QTest.mouseRelease(single, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)
    assert len(single.detections.boxes) == 2
    added = [round(v) for v in single.detections.boxes[1]]
    width, height = single.detections.width, single.detections.height
    _ax0, _ay0, ax1, ay1 = masks.mask_region(added, 1.3, width, height)
    fx0, fy0, _fx1, _fy1 = masks.mask_region(face, 1.3, width, height)
    assert ax1 < fx0 or ay1 < fy0, "the added box must be away from the face for this test to mean anything"

    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    with qtbot.waitSignal(window.batchAdded, timeout=WAIT_MS):
        wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: window.model.counts()[State.SUCCEEDED] == 2, timeout=WAIT_MS)

    out = tmp_path / "out"
    pair_in, pair_out = read(folder / TWO_FACES), read(next(out.glob("two_people*")))
    assert centre_diff(pair_in, pair_out, left) < 3  # removed: only JPEG noise
    assert centre_diff(pair_in, pair_out, right) > 40  # kept: painted over
    single_in, single_out = read(folder / ONE_FACE), read(next(out.glob("obama*")))
    assert centre_diff(single_in, single_out, added) > 40  # added: painted over
    assert centre_diff(single_in, single_out, face) > 40

    # (d) the reviewed boxes are the tasks' own parameters in the journal
    def journaled() -> dict[str, list[list[int]]]:
        store, _report = replay(isolated_profile / "state")
        return {Path(t.input).name: json.loads(t.params["boxes"]) for t in store.tasks.values()
                if t.state is State.SUCCEEDED}

    qtbot.waitUntil(lambda: len(journaled()) == 2, timeout=WAIT_MS)
    boxes = journaled()
    assert boxes[TWO_FACES] == [[round(v) for v in right]]
    assert boxes[ONE_FACE] == [[round(v) for v in face], added]


def test_without_the_option_there_is_no_review_page(
        qtbot: QtBot, window: MainWindow, testdata: Path, tmp_path: Path) -> None:
    wizard = window.open_wizard([str(testdata / "faces" / ONE_FACE)])
    to_options(qtbot, wizard, "anonymize")
    assert not wizard.options_page.review_faces.isChecked()
    wizard.next()
    wizard.output_page.folder.setText(str(tmp_path / "out"))
    wizard.next()
    assert wizard.currentPage() is wizard.review_page
    assert wizard.request().per_input_params == {}
    wizard.reject()
