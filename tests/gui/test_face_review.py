"""Face review on real photos: detections load off-thread as tiles are shown, a click removes a
box, a drag adds one, arrow keys move between photos, and every photo shown is reported."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from pytestqt.qtbot import QtBot

from aipopup.core.settings import Settings
from aipopup.gui.face_review import FaceReview, FaceTile, detect_for_review
from aipopup.gui.worker import BackgroundRunner

WAIT_MS = 20_000


@pytest.fixture
def runner() -> Iterator[BackgroundRunner]:
    made = BackgroundRunner()
    yield made
    made.shutdown()


def open_review(qtbot: QtBot, photos: Path, runner: BackgroundRunner) -> FaceReview:
    paths = [str(p.resolve()) for p in sorted(photos.glob("*.jpg"))]
    settings = Settings().snapshot()
    review = FaceReview(paths, lambda path: detect_for_review(path, {}, settings), runner)
    qtbot.addWidget(review)
    review.resize(1000, 700)
    review.show()
    qtbot.waitExposed(review)
    qtbot.waitUntil(lambda: len(review.found) == len(paths), timeout=WAIT_MS)
    return review


def centre(tile: FaceTile, index: int) -> QPoint:
    assert tile.detections is not None
    return tile.box_rect(tile.detections.boxes[index]).center().toPoint()


def test_click_removes_a_box_and_drag_adds_one(qtbot: QtBot, photos: Path, runner: BackgroundRunner) -> None:
    review = open_review(qtbot, photos, runner)
    shown = review.reviewed_boxes()  # every photo on screen, as detected
    assert sorted(shown) == sorted(review.paths) and all(shown.values())
    tile = next(t for t in review.tiles if t.detections is not None and t.detections.boxes)
    assert tile.detections is not None
    before = list(tile.detections.boxes)
    with qtbot.waitSignal(review.changed) as changed:
        qtbot.mouseClick(tile, Qt.MouseButton.LeftButton, pos=centre(tile, 0))
    assert changed.args == [tile.path]
    assert tile.detections.boxes == before[1:]

    # A drag over the photo's top-left corner adds a box there, in the photo's own pixels.
    start = tile.box_rect((0, 0, 0, 0)).topLeft().toPoint() + QPoint(2, 2)
    qtbot.mousePress(tile, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(tile, start + QPoint(40, 30))
    qtbot.mouseRelease(tile, Qt.MouseButton.LeftButton, pos=start + QPoint(40, 30))
    added = tile.detections.boxes[-1]
    scale = tile.box_rect((0, 0, 1000, 1000)).width() / 1000
    assert added[2] == pytest.approx(40 / scale, abs=2 / scale)
    assert added[0] == pytest.approx(2 / scale, abs=2 / scale)
    assert tile.detections.scores[-1] == 1.0
    reported = review.reviewed_boxes()
    assert reported[tile.path][-1] == [round(v) for v in added]
    assert [k for k in reported if reported[k] != shown[k]] == [tile.path]


def test_arrow_keys_move_between_photos(qtbot: QtBot, photos: Path, runner: BackgroundRunner) -> None:
    review = open_review(qtbot, photos, runner)
    review.setFocus()
    qtbot.keyClick(review, Qt.Key.Key_Right)
    qtbot.keyClick(review, Qt.Key.Key_Right)
    assert review.current == 2 and review.tiles[2].current and not review.tiles[0].current
    qtbot.keyClick(review, Qt.Key.Key_Left)
    assert review.current == 1
    qtbot.keyClick(review, Qt.Key.Key_Up)  # clamps at the first photo
    assert review.current == 0


def test_a_click_beside_every_box_changes_nothing(qtbot: QtBot, photos: Path,
                                                  runner: BackgroundRunner) -> None:
    review = open_review(qtbot, photos, runner)
    tile = review.tiles[0]
    assert tile.detections is not None
    count = len(tile.detections.boxes)
    shown = review.reviewed_boxes()
    assert not tile.remove_box_at(QPointF(-5, -5))
    assert len(tile.detections.boxes) == count and review.reviewed_boxes() == shown


def test_thumbnails_scrolled_away_are_let_go_and_come_back(qtbot: QtBot, runner: BackgroundRunner,
                                                            testdata: Path) -> None:
    """Memory stays bounded however far one scrolls: decoded thumbnails beyond a small cache are
    dropped (their JPEG kept) and decoded again when their photo returns to the screen."""
    import cv2

    from aipopup.gui import face_review
    from aipopup.gui.face_review import Detections

    photo = cv2.imread(str(sorted((testdata / "faces").glob("*.jpg"))[0]))
    small = cv2.resize(photo, (200, 150))
    jpeg = cv2.imencode(".jpg", small)[1].tobytes()

    def loader(path: str) -> Detections:  # the real grid, with photos that are quick to "detect"
        return Detections(path, 200, 150, [(50.0, 40.0, 60.0, 60.0)], [0.9], jpeg, source=path)

    paths = [f"/photos/{n:04d}.jpg" for n in range(400)]
    review = FaceReview(paths, loader, runner)
    qtbot.addWidget(review)
    review.resize(1000, 700)
    review.show()
    qtbot.waitExposed(review)

    def all_visible_loaded() -> bool:
        return all(i in review.found for i in review._visible)

    for step in range(0, 12):
        review.scrollbar.setValue(step * review.scrollbar.maximum() // 11)
        qtbot.waitUntil(all_visible_loaded, timeout=WAIT_MS)
    kept = max(face_review.PIXMAPS_KEPT, 2 * len(review.tiles))
    assert len(review.found) > kept  # enough photos were shown for the cache to overflow
    assert len(review._pixmaps) <= kept
    review.scrollbar.setValue(0)
    first = next(t for t in review.tiles if t.index == 0)
    assert first.detections is not None and first._pixmap is not None and not first._pixmap.isNull()


def edge_colours(tile: FaceTile, index: int) -> set[str]:
    """The pen colours on the left edge of box ``index`` as painted (orange or green)."""
    assert tile.detections is not None
    image = tile.grab().toImage()
    rect = tile.box_rect(tile.detections.boxes[index]).toAlignedRect()
    seen = set()
    for y in range(rect.top() + 1, rect.bottom()):
        colour = image.pixelColor(rect.left(), y)
        for name, (r, g, b) in (("orange", (0xff, 0x98, 0x00)), ("green", (0x4c, 0xaf, 0x50))):
            if abs(colour.red() - r) + abs(colour.green() - g) + abs(colour.blue() - b) < 40:
                seen.add(name)
    return seen


def test_low_confidence_boxes_are_highlighted(qtbot: QtBot, testdata: Path) -> None:
    from PySide6.QtGui import QPixmap

    from aipopup.gui.face_review import LOW_CONFIDENCE

    path = str(testdata / "faces" / "knn_examples_test_obama_and_biden.jpg")
    detections = detect_for_review(path, {}, Settings().snapshot())
    assert len(detections.boxes) >= 2
    # The detector's own scores are all sure on this photo; one is lowered as a doubtful find.
    detections.scores = [LOW_CONFIDENCE - 0.2] + [max(s, LOW_CONFIDENCE + 0.1) for s in detections.scores[1:]]
    pixmap = QPixmap()
    assert pixmap.loadFromData(detections.thumbnail)
    tile = FaceTile()
    qtbot.addWidget(tile)
    tile.bind(0, path, detections, pixmap, "", False)
    assert edge_colours(tile, 0) == {"orange"}
    assert all(edge_colours(tile, i) == {"green"} for i in range(1, len(detections.boxes)))
