"""Work-arounds for bugs in the PySide6 we ship, each applied only where the bug is measured.

PySide6 6.12.0 on CPython 3.11: ``SignalInstance.emit()`` returns ``True`` without taking a
reference to it, so every emit from Python drops one reference to ``True``. On 3.11 ``True`` is
not immortal: after a few thousand emits (the bridge emits 20 a second) the interpreter aborts
with "Fatal Python error: bool_dealloc". Found by benchmarks/gui_responsiveness.py. The fix gives
back the missing reference; the probe makes it a no-op on a PySide6 (or Python) without the bug.

The same release also drops a reference to ``None`` each time C++ calls a Python override of a
void virtual (``QRunnable.run``, ``paintEvent``...), which no wrapper here can reach: 6.12.0 on
3.11 must not ship (6.11.3 on 3.11 and 6.12.0 on 3.12, where None and True are immortal, measure
clean). ``immortal_singletons_at_risk`` lets start-up say so instead of aborting at random later.
"""

from __future__ import annotations

import ctypes
import sys
from typing import Any

from PySide6.QtCore import QObject, Signal, SignalInstance

_applied = False


class _Probe(QObject):
    ping = Signal()


def emit_steals_true() -> bool:
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(8):
        probe.ping.emit()
    return sys.getrefcount(True) - before == -8


def immortal_singletons_at_risk() -> bool:
    """True on the broken combination: PySide6 6.12.0 with a Python whose None is mortal."""
    import PySide6

    return PySide6.__version__ == "6.12.0" and sys.version_info < (3, 12)


def apply() -> bool:
    """Install the fixes this PySide6 needs; returns whether the emit fix was installed."""
    global _applied
    if _applied:
        return True
    if not emit_steals_true():
        return False
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    incref.argtypes = [ctypes.py_object]
    incref.restype = None

    def emit(self: SignalInstance, *args: Any) -> Any:
        result = original(self, *args)
        if result is True or result is False:
            incref(result)  # the reference PySide6 forgot to take
        return result

    SignalInstance.emit = emit  # type: ignore[method-assign]
    _applied = True
    return True
