"""Scaled image loads for previews; runs on a worker thread (QImage is safe off the GUI thread,
QPixmap is not)."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QImageReader

PREVIEW_SIDE = 260


def load_scaled(path: str, side: int = PREVIEW_SIDE) -> QImage | None:
    """The image at ``path`` decoded at preview size (JPEG decodes at reduced scale directly),
    EXIF orientation applied; None when it is not an image Qt can read."""
    if not path or "://" in path:
        return None
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and (size.width() > side or size.height() > side):
        reader.setScaledSize(size.scaled(QSize(side, side), Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return None if image.isNull() else image
