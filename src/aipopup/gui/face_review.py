"""Face review before anonymizing: a grid of thumbnails with the detector's boxes drawn.

Click a box to remove it (a false face), drag on the picture to add one (a missed face), arrow
keys move between pictures. Boxes the detector was unsure of are drawn dashed in orange.

The grid is virtual: a few tile widgets, enough to fill the view, are moved and re-bound to other
photos as it scrolls, so opening the review for 1,000 photos creates about twenty widgets, not
1,000. Only photos on screen are loaded, at most ``IN_FLIGHT`` at a time; a photo scrolled past
before its turn is never loaded. Decoding, detection and the thumbnail (already small) are made
on the runner's threads; the GUI thread only turns a small QImage into a pixmap.
Boxes are kept in the photo's own pixels (EXIF orientation applied), the frame the anonymize
operation masks in, so an edit made on a thumbnail means the same region at full size.
"""

from __future__ import annotations

import math
import os
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QKeyEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QPixmap,
    QResizeEvent,
    QWheelEvent,
)
from PySide6.QtWidgets import QHBoxLayout, QLabel, QScrollBar, QVBoxLayout, QWidget

from aipopup.gui.i18n import tr
from aipopup.gui.worker import BackgroundRunner

THUMB_SIDE = 220
TILE_SIDE = THUMB_SIDE + 8
STEP = TILE_SIDE + 6  # tile plus the gap between tiles
LOW_CONFIDENCE = 0.75  # below this a box is highlighted for a second look
PIXMAPS_KEPT = 64  # decoded thumbnails kept beyond those on screen
MIN_DRAG_PX = 6  # a shorter drag on a thumbnail is a click, not a new box
# Photos loading at once (no queue that outlives a scroll). One core is left to the GUI thread:
# with both cores of a 2-core machine detecting, the heartbeat stalled past 50 ms under load.
IN_FLIGHT = max(1, (os.cpu_count() or 2) - 1)

Box = tuple[float, float, float, float]


@dataclass
class Detections:
    """One photo's faces as reviewed: (x, y, w, h) in the photo's pixels, and the detector's
    score (1.0 for a box a person drew). ``source`` is the resolved path the planner keys
    per-input parameters by."""
    path: str
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    thumbnail: bytes = b""  # a JPEG at most THUMB_SIDE across, made on the worker thread
    edited: bool = False
    source: str = ""


def detect_for_review(path: str, params: Mapping[str, Any], settings: Mapping[str, Any]) -> Detections:
    """Decode ``path`` once, find its faces with the task's detection options and make the
    thumbnail from the same pixels; worker thread only."""
    import cv2

    from aipopup.ops import images
    from aipopup.ops.faces import detector
    from aipopup.ops.faces.options import DetectOptions

    loaded = images.load_image(path, pixel_limit=images.pixel_limit(settings))
    opts = DetectOptions.of(params, settings)
    faces = detector.detect_faces(loaded.pixels, threshold=opts.threshold, size=opts.size,
                                  model_path=opts.model_path, min_face=opts.min_face, thorough=opts.thorough)
    scale = min(1.0, THUMB_SIDE / max(loaded.width, loaded.height))
    size = (max(1, round(loaded.width * scale)), max(1, round(loaded.height * scale)))
    small = cv2.resize(loaded.pixels, size, interpolation=cv2.INTER_AREA)
    ok, jpeg = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 88])
    thumbnail = jpeg.tobytes() if ok else b""
    return Detections(path, loaded.width, loaded.height, [f.box for f in faces], [f.score for f in faces],
                      thumbnail, source=str(Path(path).resolve()))


Loader = Callable[[str], Detections]


class FaceTile(QWidget):
    """A slot of the grid showing one photo at a time; edits change ``detections`` in place."""

    edited = Signal(object)  # this tile, after a box was removed or added
    clicked = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.index = -1
        self.path = ""
        self.detections: Detections | None = None
        self.problem = ""
        self._pixmap: QPixmap | None = None
        self._drag_from: QPointF | None = None
        self._drag_to: QPointF | None = None
        self.current = False
        self.setFixedSize(TILE_SIDE, TILE_SIDE)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)

    def bind(self, index: int, path: str, detections: Detections | None, pixmap: QPixmap | None,
             problem: str, current: bool) -> None:
        if (index == self.index and detections is self.detections and pixmap is self._pixmap
                and problem == self.problem and current == self.current):
            return  # scrolling within a row re-binds every tile: repaint only what changed
        if index != self.index:
            self._drag_from = self._drag_to = None
            self.setToolTip(path)
        self.index, self.path, self.detections, self._pixmap = index, path, detections, pixmap
        self.problem, self.current = problem, current
        self.update()

    # -- geometry: photo pixels <-> widget pixels --------------------------------------------------
    def _frame(self) -> tuple[float, float, float]:
        """Scale and offset of the drawn thumbnail (photo px * scale + offset = widget px)."""
        d = self.detections
        if d is None or d.width <= 0 or d.height <= 0:
            return 1.0, 0.0, 0.0
        scale = min(THUMB_SIDE / d.width, THUMB_SIDE / d.height)
        return scale, (self.width() - d.width * scale) / 2, (self.height() - d.height * scale) / 2

    def box_rect(self, box: Box) -> QRectF:
        scale, dx, dy = self._frame()
        x, y, w, h = box
        return QRectF(x * scale + dx, y * scale + dy, w * scale, h * scale)

    def to_photo(self, point: QPointF) -> QPointF:
        scale, dx, dy = self._frame()
        return QPointF((point.x() - dx) / scale, (point.y() - dy) / scale)

    # -- editing -----------------------------------------------------------------------------------
    def remove_box_at(self, point: QPointF) -> bool:
        d = self.detections
        if d is None:
            return False
        # The smallest box under the click: a face inside a bigger false box stays reachable.
        hits = [i for i, box in enumerate(d.boxes) if self.box_rect(box).contains(point)]
        if not hits:
            return False
        index = min(hits, key=lambda i: d.boxes[i][2] * d.boxes[i][3])
        del d.boxes[index]
        del d.scores[index]
        d.edited = True
        self.update()
        self.edited.emit(self)
        return True

    def add_box(self, start: QPointF, end: QPointF) -> bool:
        d = self.detections
        if d is None:
            return False
        a, b = self.to_photo(start), self.to_photo(end)
        x0, x1 = sorted((max(0.0, min(a.x(), b.x())), min(float(d.width), max(a.x(), b.x()))))
        y0, y1 = sorted((max(0.0, min(a.y(), b.y())), min(float(d.height), max(a.y(), b.y()))))
        if x1 - x0 < 1 or y1 - y0 < 1:
            return False
        d.boxes.append((x0, y0, x1 - x0, y1 - y0))
        d.scores.append(1.0)
        d.edited = True
        self.update()
        self.edited.emit(self)
        return True

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self._drag_from = event.position()
            self._drag_to = None
            self.clicked.emit(self)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._drag_to = event.position()
            self.update()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        start, self._drag_from, self._drag_to = self._drag_from, None, None
        if start is None or event.button() != Qt.MouseButton.LeftButton:
            return
        end = event.position()
        if (end - start).manhattanLength() < MIN_DRAG_PX:
            self.remove_box_at(end)
        else:
            self.add_box(start, end)
        self.update()

    # -- painting ----------------------------------------------------------------------------------
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#2b2b2b"))
        d = self.detections
        if d is not None and self._pixmap is not None:
            scale, dx, dy = self._frame()
            painter.drawPixmap(QRectF(dx, dy, d.width * scale, d.height * scale), self._pixmap,
                               QRectF(self._pixmap.rect()))
            for box, score in zip(d.boxes, d.scores, strict=True):
                unsure = score < LOW_CONFIDENCE
                pen = QPen(QColor("#ff9800") if unsure else QColor("#4caf50"), 2)
                if unsure:
                    pen.setStyle(Qt.PenStyle.DashLine)
                painter.setPen(pen)
                painter.drawRect(self.box_rect(box))
        else:
            painter.setPen(QColor("#bbbbbb"))
            text = self.problem or tr("Looking for faces…")
            painter.drawText(self.rect().adjusted(6, 6, -6, -6),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, text)
        if self._drag_from is not None and self._drag_to is not None:
            painter.setPen(QPen(QColor("#2196f3"), 2, Qt.PenStyle.DashLine))
            painter.drawRect(QRectF(self._drag_from, self._drag_to).normalized())
        if self.current:
            painter.setPen(QPen(self.palette().highlight().color(), 3))
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
        painter.end()


class _Viewport(QWidget):
    """Where the tiles sit; wheel turns become scroll-bar moves."""

    def __init__(self, review: FaceReview) -> None:
        super().__init__(review)
        self._review = review

    def resizeEvent(self, event: QResizeEvent) -> None:
        self._review.relayout()

    def wheelEvent(self, event: QWheelEvent) -> None:
        bar = self._review.scrollbar
        bar.setValue(bar.value() - event.angleDelta().y())


class FaceReview(QWidget):
    """The grid. ``loader(path)`` runs on ``runner``'s threads and returns ``Detections``."""

    loaded = Signal(str)  # a photo's detections arrived
    changed = Signal(str)  # a photo's boxes were edited

    def __init__(self, paths: list[str], loader: Loader, runner: BackgroundRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.paths = list(paths)
        self._loader = loader
        self._runner = runner
        self.found: dict[int, Detections] = {}
        self.problems: dict[int, str] = {}
        # 1,000 decoded thumbnails would be ~150 MB; their JPEGs are ~10 KB each. Pixmaps are
        # decoded again (well under a millisecond) when a tile scrolled away comes back.
        self._pixmaps: OrderedDict[int, QPixmap] = OrderedDict()
        self._in_flight: set[int] = set()
        self._visible: list[int] = []
        self.columns = 1
        self.current = 0
        self.tiles: list[FaceTile] = []  # the pool; each shows whichever photo is at its place
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(self)
        self.hint = QLabel(tr("Click a box to remove it; drag to add a missed face. Dashed orange: "
                              "the detector was unsure. Arrow keys move between photos."), self)
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        row = QHBoxLayout()
        self.view = _Viewport(self)
        self.scrollbar = QScrollBar(Qt.Orientation.Vertical, self)
        self.scrollbar.setSingleStep(STEP // 4)
        self.scrollbar.valueChanged.connect(lambda _value: self.relayout())
        row.addWidget(self.view, 1)
        row.addWidget(self.scrollbar)
        layout.addLayout(row, 1)

    # -- the virtual grid --------------------------------------------------------------------------
    def relayout(self) -> None:
        """Place the pooled tiles for the current scroll position and bind each to its photo."""
        width, height = self.view.width(), self.view.height()
        self.columns = max(1, width // STEP)
        rows = math.ceil(len(self.paths) / self.columns)
        self.scrollbar.blockSignals(True)
        self.scrollbar.setRange(0, max(0, rows * STEP - height))
        self.scrollbar.setPageStep(max(STEP, height))
        self.scrollbar.blockSignals(False)
        value = self.scrollbar.value()
        first_row, offset = divmod(value, STEP)
        slots = (height // STEP + 2) * self.columns
        while len(self.tiles) < slots:
            tile = FaceTile(self.view)
            tile.edited.connect(self._edited)
            tile.clicked.connect(lambda t: self.set_current(t.index))
            self.tiles.append(tile)
        margin = max(0, (width - self.columns * STEP) // 2)
        visible: list[int] = []
        for slot, tile in enumerate(self.tiles):
            index = first_row * self.columns + slot
            top = (slot // self.columns) * STEP - offset
            if slot >= slots or index >= len(self.paths) or top >= height:
                tile.hide()
                continue
            tile.move(margin + (slot % self.columns) * STEP, top)
            self._bind(tile, index)
            tile.show()
            visible.append(index)
        self._visible = visible
        self._pump()

    def _bind(self, tile: FaceTile, index: int) -> None:
        tile.bind(index, self.paths[index], self.found.get(index), self._pixmap(index),
                  self.problems.get(index, ""), index == self.current)

    def _pixmap(self, index: int) -> QPixmap | None:
        pixmap = self._pixmaps.get(index)
        if pixmap is not None:
            self._pixmaps.move_to_end(index)
            return pixmap
        detections = self.found.get(index)
        if detections is None or not detections.thumbnail:
            return None
        pixmap = QPixmap()
        if not pixmap.loadFromData(detections.thumbnail, "JPG"):
            return None
        self._pixmaps[index] = pixmap
        while len(self._pixmaps) > max(PIXMAPS_KEPT, 2 * len(self.tiles)):
            self._pixmaps.popitem(last=False)
        return pixmap

    def _tile_of(self, index: int) -> FaceTile | None:
        return next((t for t in self.tiles if t.index == index and t.isVisible()), None)

    # -- loading: only what is on screen, a few at a time -----------------------------------------
    def _pump(self) -> None:
        for index in self._visible:
            if len(self._in_flight) >= IN_FLIGHT:
                return
            if index in self.found or index in self.problems or index in self._in_flight:
                continue
            self._in_flight.add(index)
            # Bound now: the loop moves on before a worker calls the lambda.
            work = partial(self._loader, self.paths[index])
            self._runner.run(work, partial(self._loaded, index), partial(self._failed, index))

    def _loaded(self, index: int, detections: Detections) -> None:
        self._in_flight.discard(index)
        self.found[index] = detections
        tile = self._tile_of(index)
        if tile is not None:
            self._bind(tile, index)
        self.loaded.emit(detections.path)
        self._pump()

    def _failed(self, index: int, exc: Exception) -> None:
        self._in_flight.discard(index)
        self.problems[index] = tr("Cannot show this photo: {error}").format(error=exc)
        tile = self._tile_of(index)
        if tile is not None:
            self._bind(tile, index)
        self._pump()

    @property
    def loading(self) -> bool:
        return bool(self._in_flight)

    # -- current photo and keys --------------------------------------------------------------------
    def _edited(self, tile: FaceTile) -> None:
        self.changed.emit(tile.path)

    def set_current(self, index: int) -> None:
        if not self.paths:
            return
        self.current = max(0, min(index, len(self.paths) - 1))
        top = (self.current // self.columns) * STEP
        bar = self.scrollbar
        if top < bar.value():
            bar.setValue(top)
        elif top + STEP > bar.value() + self.view.height():
            bar.setValue(top + STEP - self.view.height())
        for tile in self.tiles:
            if tile.isVisible():
                self._bind(tile, tile.index)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        rows_per_page = max(1, self.view.height() // STEP) * self.columns
        step = {Qt.Key.Key_Right: 1, Qt.Key.Key_Left: -1, Qt.Key.Key_Down: self.columns,
                Qt.Key.Key_Up: -self.columns, Qt.Key.Key_PageDown: rows_per_page,
                Qt.Key.Key_PageUp: -rows_per_page}.get(Qt.Key(event.key()))
        if event.key() == Qt.Key.Key_Home:
            self.set_current(0)
        elif event.key() == Qt.Key.Key_End:
            self.set_current(len(self.paths) - 1)
        elif step is not None:
            self.set_current(self.current + step)
        else:
            super().keyPressEvent(event)

    # -- the result --------------------------------------------------------------------------------
    def reviewed_boxes(self) -> dict[str, list[list[int]]]:
        """Boxes of every photo whose detections were shown, edited or not, rounded to whole
        pixels and keyed by resolved path: what the render masks instead of detecting again, so
        the output is what the person saw. Photos never shown are detected as usual."""
        return {d.source or d.path: [[round(v) for v in box] for box in d.boxes]
                for _index, d in sorted(self.found.items())}
