"""The empty state: what to do when nothing is queued yet."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from aipopup.gui.i18n import tr

DROP_TEXT = "Drop photos, videos, folders or links"


class DropZone(QWidget):
    addFilesClicked = Signal()
    addFolderClicked = Signal()
    addLinksClicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("dropZone")
        layout = QVBoxLayout(self)
        layout.addStretch(1)
        self.label = QLabel(tr(DROP_TEXT), self)
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        font = self.label.font()
        font.setPointSizeF(font.pointSizeF() * 1.6)
        self.label.setFont(font)
        layout.addWidget(self.label)
        hint = QLabel(tr("or"), self)
        hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout.addWidget(hint)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        for text, signal in ((tr("Add files…"), self.addFilesClicked),
                             (tr("Add folder…"), self.addFolderClicked),
                             (tr("Add links…"), self.addLinksClicked)):
            button = QPushButton(text, self)
            button.clicked.connect(signal)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self.setStyleSheet("#dropZone { border: 2px dashed palette(mid); border-radius: 12px; }")
