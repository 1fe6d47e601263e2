"""The settings dialog: the settings schema as a form, validated inline, applied live.

Apply and OK validate through the schema, hand the values to ``Settings.update`` (whose listeners,
the scheduler among them, adjust at once: a new worker count needs no restart) and save the file
atomically. The theme is switched here too, since only the GUI knows about palettes.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from aipopup.core.errors import ParamError
from aipopup.core.params import Value
from aipopup.core.settings import SCHEMA, Settings
from aipopup.gui.forms import ERROR_STYLE, ParamForm
from aipopup.gui.i18n import tr
from aipopup.gui.theme import apply_theme
from aipopup.gui.watch_editor import WatchFoldersEditor

log = logging.getLogger(__name__)

RESTART_NEEDED = frozenset({"language"})


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Settings"))
        self.setObjectName("settingsDialog")
        self.settings = settings
        self.form = ParamForm(SCHEMA, settings.snapshot(), self)
        scroll = QScrollArea(self)
        scroll.setWidget(self.form)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.status = QLabel(self)
        self.status.setObjectName("settingsStatus")
        self.status.setWordWrap(True)
        self.status.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
            | QDialogButtonBox.StandardButton.Apply | QDialogButtonBox.StandardButton.RestoreDefaults,
            self)
        self.ok_button: QPushButton = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.apply_button: QPushButton = self.buttons.button(QDialogButtonBox.StandardButton.Apply)
        defaults = self.buttons.button(QDialogButtonBox.StandardButton.RestoreDefaults)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.apply_button.clicked.connect(self.apply)
        defaults.clicked.connect(lambda: self.form.set_values(SCHEMA.defaults()))
        self.form.validityChanged.connect(self._set_valid)
        self._set_valid(self.form.is_valid())
        layout = QVBoxLayout(self)
        layout.addWidget(scroll, 1)
        self.watch_folders = WatchFoldersEditor(self)
        layout.addWidget(self.watch_folders)
        layout.addWidget(self.status)
        layout.addWidget(self.buttons)
        self.resize(520, 640)

    def _set_valid(self, valid: bool) -> None:
        self.ok_button.setEnabled(valid)
        self.apply_button.setEnabled(valid)

    def apply(self) -> bool:
        """Validate, apply live and save; on failure the dialog stays open and says why."""
        if not self.watch_folders.save():
            return False
        try:
            values: dict[str, Value] = self.form.values()
            changed = self.settings.update(values)
        except ParamError as exc:
            self._say(str(exc), error=True)
            return False
        if "theme" in changed:
            apply_theme(str(changed["theme"]))
        try:
            self.settings.save()
        except OSError as exc:
            log.warning("could not save settings: %s", exc)
            self._say(tr("Applied, but could not be saved: {error}").format(error=exc), error=True)
            return False
        if RESTART_NEEDED & set(changed):
            self._say(tr("The language changes the next time AI Popup starts."), error=False)
        else:
            self.status.hide()
        return True

    def _say(self, text: str, *, error: bool) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(ERROR_STYLE if error else "")
        self.status.show()

    def accept(self) -> None:
        if self.apply():
            super().accept()
