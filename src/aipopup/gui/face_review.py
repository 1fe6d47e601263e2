"""Face review before anonymizing: a grid of thumbnails with the detector's boxes drawn.

Click a box to remove it (a false face), drag on the picture to add one (a missed face), arrow
keys move between pictures. Boxes the detector was unsure of are drawn dashed in orange.

Each tile asks for its detections the first time it is painted, so opening the review for
1,000 photos decodes only what is on screen; decoding and detection run on the runner's
threads, and results come back as plain data (boxes in the photo's pixels and a QImage).
Boxes are kept in the photo's own pixels (EXIF orientation applied), the frame the anonymize
operation masks in, so an edit made on a thumbnail means the same region at full size.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QKeyEvent, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from aipopup.gui.worker import BackgroundRunner

THUMB_SIDE = 220
LOW_CONFIDENCE = 0.75  # below this a box is highlighted for a second look
MIN_DRAG_PX = 6  # a shorter drag on a thumbnail is a click, not a new box
COLUMNS = 4

Box = tuple[float, float, float, float]


@dataclass
class Detections:
    """One photo's faces as reviewed: (x, y, w, h) in the photo's pixels, and the detector's
    score (1.0 for a box a person drew)."""
    path: str
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    thumbnail: Any = None  # QImage, made on the worker thread
    edited: bool = False


def detect_for_review(path: str, params: Mapping[str, Any], settings: Mapping[str, Any]) -> Detections:
    """Decode ``path``, find its faces with the task's detection options; worker thread only."""
    from aipopup.gui.preview import load_scaled
    from aipopup.ops import images
    from aipopup.ops.faces import detector
    from aipopup.ops.faces.options import DetectOptions

    loaded = images.load_image(path)
    opts = DetectOptions.of(params, settings)
    faces = detector.detect_faces(loaded.pixels, threshold=opts.threshold, size=opts.size,
                                  model_path=opts.model_path, min_face=opts.min_face, thorough=opts.thorough)
    return Detections(path, loaded.width, loaded.height, [f.box for f in faces], [f.score for f in faces],
                      load_scaled(path, THUMB_SIDE))


Loader = Callable[[str], Detections]


class FaceTile(QWidget):
    """One photo: its thumbnail and boxes; edits change ``detections`` in place."""

    loadRequested = Signal(object)  # this tile, the first time it is painted
    edited = Signal(object)  # this tile, after a box was removed or added
    clicked = Signal(object)

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.detections: Detections | None = None
        self._pixmap: QPixmap | None = None
        self._requested = False
        self._drag_from: QPointF | None = None
        self._drag_to: QPointF | None = None
        self.current = False
        self.setFixedSize(THUMB_SIDE + 8, THUMB_SIDE + 8)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setToolTip(path)

    def set_detections(self, detections: Detections) -> None:
        self.detections = detections
        self._pixmap = QPixmap.fromImage(detections.thumbnail) if detections.thumbnail is not None else None
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
        if not self._requested:
            self._requested = True
            self.loadRequested.emit(self)
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
        elif d is None:
            painter.setPen(QColor("#bbbbbb"))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "Looking for faces…")
        if self._drag_from is not None and self._drag_to is not None:
            painter.setPen(QPen(QColor("#2196f3"), 2, Qt.PenStyle.DashLine))
            painter.drawRect(QRectF(self._drag_from, self._drag_to).normalized())
        if self.current:
            painter.setPen(QPen(self.palette().highlight().color(), 3))
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))
        painter.end()


class FaceReview(QWidget):
    """The grid. ``loader(path)`` runs on ``runner``'s threads and returns ``Detections``."""

    loaded = Signal(str)  # a photo's detections arrived
    changed = Signal(str)  # a photo's boxes were edited

    def __init__(self, paths: list[str], loader: Loader, runner: BackgroundRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._loader = loader
        self._runner = runner
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        layout = QVBoxLayout(self)
        self.hint = QLabel("Click a box to remove it; drag to add a missed face. Dashed orange: the "
                           "detector was unsure. Arrow keys move between photos.", self)
        self.hint.setWordWrap(True)
        layout.addWidget(self.hint)
        self.area = QScrollArea(self)
        self.area.setWidgetResizable(True)
        grid_host = QWidget(self.area)
        grid = QGridLayout(grid_host)
        self.tiles: list[FaceTile] = []
        for index, path in enumerate(paths):
            tile = FaceTile(path, grid_host)
            tile.loadRequested.connect(self._load)
            tile.edited.connect(lambda t: self.changed.emit(t.path))
            tile.clicked.connect(self._make_current)
            grid.addWidget(tile, index // COLUMNS, index % COLUMNS)
            self.tiles.append(tile)
        self.area.setWidget(grid_host)
        layout.addWidget(self.area, 1)
        self.current = 0
        if self.tiles:
            self.tiles[0].current = True

    def _load(self, tile: FaceTile) -> None:
        path, loader = tile.path, self._loader
        self._runner.run(lambda: loader(path), lambda d: self._loaded(tile, d),
                         lambda exc: self.hint.setText(f"{path}: {exc}"))

    def _loaded(self, tile: FaceTile, detections: Detections) -> None:
        tile.set_detections(detections)
        self.loaded.emit(tile.path)

    def _make_current(self, tile: FaceTile) -> None:
        self.set_current(self.tiles.index(tile))

    def set_current(self, index: int) -> None:
        index = max(0, min(index, len(self.tiles) - 1))
        if not self.tiles:
            return
        self.tiles[self.current].current = False
        self.tiles[self.current].update()
        self.current = index
        tile = self.tiles[index]
        tile.current = True
        tile.update()
        self.area.ensureWidgetVisible(tile)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        step = {Qt.Key.Key_Right: 1, Qt.Key.Key_Left: -1, Qt.Key.Key_Down: COLUMNS,
                Qt.Key.Key_Up: -COLUMNS}.get(Qt.Key(event.key()))
        if step is None:
            super().keyPressEvent(event)
            return
        self.set_current(self.current + step)

    def reviewed_boxes(self) -> dict[str, list[list[int]]]:
        """Boxes of every photo a person edited, rounded to whole pixels: what the render must
        mask instead of detecting again. Photos left alone are detected as usual."""
        return {t.path: [[round(v) for v in box] for box in t.detections.boxes]
                for t in self.tiles if t.detections is not None and t.detections.edited}
