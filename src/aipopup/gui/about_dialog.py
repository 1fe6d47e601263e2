"""Help > About AI Popup: the version (from ``aipopup.__version__``, the one version source), the
libraries it runs on, and where its files are, which is what a bug report needs."""

from __future__ import annotations

import platform
import sys
from pathlib import Path

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QGuiApplication, QIcon
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QVBoxLayout, QWidget

import aipopup
from aipopup.app import paths
from aipopup.gui.i18n import tr

ICON_FILE = Path(aipopup.__file__).resolve().parent / "resources" / "icons" / "aipopup.svg"


def app_icon() -> QIcon:
    """The application icon, drawn from the SVG that ships inside the package (frozen too)."""
    return QIcon(str(ICON_FILE)) if ICON_FILE.is_file() else QIcon()


def about_text() -> str:
    """Plain text, also what the Copy button puts on the clipboard."""
    frozen = tr(" (installed build)") if getattr(sys, "frozen", False) else ""
    return "\n".join([
        f"AI Popup {aipopup.__version__}{frozen}",
        f"Python {platform.python_version()}, Qt {qVersion()}, PySide6 {PySide6.__version__}",
        f"{platform.system()} {platform.release()} ({platform.machine()})",
        tr("Settings: {path}").format(path=paths.settings_file()),
        tr("Tasks and journal: {path}").format(path=paths.state_dir()),
        tr("Logs: {path}").format(path=paths.log_dir()),
    ])


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle(tr("About AI Popup"))
        self.setWindowIcon(app_icon())
        layout = QVBoxLayout(self)
        logo = QLabel(self)
        logo.setPixmap(app_icon().pixmap(64, 64))
        logo.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(logo)
        title = QLabel(f"<h2>AI Popup {aipopup.__version__}</h2>", self)
        title.setObjectName("aboutTitle")
        title.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(title)
        blurb = QLabel(tr("Blur faces, crop portraits, convert and download photos and videos in bulk. "
                          "Everything runs on this computer; nothing is sent anywhere."), self)
        blurb.setWordWrap(True)
        layout.addWidget(blurb)
        self.details = QLabel(about_text(), self)
        self.details.setObjectName("aboutDetails")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.details)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        self.copy_button = buttons.addButton(tr("Copy"), QDialogButtonBox.ButtonRole.ActionRole)
        self.copy_button.clicked.connect(self.copy)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(about_text())
