"""A small live chart of finished tasks per second, painted with QPainter (no QtCharts)."""

from __future__ import annotations

from collections import deque

from PySide6.QtCore import QPointF, QSize, Qt
from PySide6.QtGui import QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from aipopup.gui.i18n import tr

SAMPLES = 60


class ThroughputChart(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.samples: deque[float] = deque([0.0] * SAMPLES, maxlen=SAMPLES)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setToolTip(tr("Tasks finished per second, last minute"))

    def sizeHint(self) -> QSize:
        return QSize(120, 22)

    def add_sample(self, per_second: float) -> None:
        self.samples.append(per_second)
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        rect = self.rect().adjusted(1, 1, -1, -1)
        painter.fillRect(rect, self.palette().color(QPalette.ColorRole.Base))
        peak = max(max(self.samples), 1.0)
        step = rect.width() / max(1, SAMPLES - 1)
        path = QPainterPath()
        for i, value in enumerate(self.samples):
            point = QPointF(rect.left() + i * step, rect.bottom() - value / peak * rect.height())
            if i == 0:
                path.moveTo(point)
            else:
                path.lineTo(point)
        pen = QPen(self.palette().color(QPalette.ColorRole.Highlight), 1.5)
        painter.setPen(pen)
        painter.drawPath(path)
        painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Mid), 1, Qt.PenStyle.SolidLine))
        painter.drawRect(rect)
        painter.end()
