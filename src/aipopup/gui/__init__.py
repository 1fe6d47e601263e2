"""The desktop app. Importing any of it first applies the work-arounds the installed PySide6
needs (see pyside_fixes): a bug there aborts the interpreter, so nothing may run before them."""

from aipopup.gui import pyside_fixes as _pyside_fixes

_pyside_fixes.apply()
