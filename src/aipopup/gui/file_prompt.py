"""A window-modal file dialog that answers through a callback instead of a nested event loop
(``QFileDialog.getSaveFileName`` blocks its caller and cannot be driven by a test).

``native=False`` uses Qt's own dialog, which tests fill in and accept like a person would.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtWidgets import QFileDialog, QWidget


def ask_file(parent: QWidget, *, save: bool, caption: str, name_filter: str, directory: str = "",
             suffix: str = "", native: bool = True, on_chosen: Callable[[str], None]) -> QFileDialog:
    dialog = QFileDialog(parent, caption, directory, name_filter)
    dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave if save else QFileDialog.AcceptMode.AcceptOpen)
    dialog.setFileMode(QFileDialog.FileMode.AnyFile if save else QFileDialog.FileMode.ExistingFile)
    if suffix:
        dialog.setDefaultSuffix(suffix)
    if not native:
        dialog.setOption(QFileDialog.Option.DontUseNativeDialog, True)
    dialog.fileSelected.connect(on_chosen)
    dialog.finished.connect(dialog.deleteLater)
    dialog.open()
    return dialog
