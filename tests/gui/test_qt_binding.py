"""PySide6 6.12.0 lost a reference to True on every emit from Python and aborted the
interpreter after a few thousand (pyproject excludes it); make sure the installed one does not."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    fired = Signal(int)


def test_emitting_from_python_keeps_reference_counts_level(qapp: object) -> None:
    emitter = _Emitter()
    received: list[int] = []
    emitter.fired.connect(received.append)
    before = sys.getrefcount(True)
    for n in range(500):  # few enough that a leaking binding fails here instead of aborting
        emitter.fired.emit(n)
    assert len(received) == 500
    assert sys.getrefcount(True) - before > -10  # the bug lost one per emit: -500 here
