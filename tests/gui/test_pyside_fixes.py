"""PySide6 6.12.0 drops a reference to True on every Python emit; the fix must hold it level."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

import aipopup.gui  # noqa: F401 - importing the package applies the fixes
from aipopup.gui import pyside_fixes


class Emitter(QObject):
    plain = Signal()
    flag = Signal(bool)


def test_emit_keeps_true_alive() -> None:
    emitter = Emitter()
    seen: list[int] = []
    emitter.flag.connect(lambda value: seen.append(int(value)))
    before = sys.getrefcount(True)
    for _ in range(20_000):  # without the fix, 3.11 aborts long before this
        emitter.plain.emit()
        emitter.flag.emit(True)
    assert abs(sys.getrefcount(True) - before) <= 2  # not -40,000
    assert len(seen) == 20_000 and all(seen)
    assert not pyside_fixes.emit_steals_true()
