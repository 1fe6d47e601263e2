"""The one way to run work off the GUI thread and get its result back on it.

``runner.run(fn, on_done, on_error)`` calls ``fn()`` on a pool thread; ``on_done(result)`` or
``on_error(exc)`` is then called on the GUI thread (a queued signal). Workers never see widgets:
``fn`` gets no arguments, so copy what it needs into it. A caller whose result may have gone stale
(the selection moved on) checks that in its callback and drops the result.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)


class _Signals(QObject):
    # object-typed: results are arbitrary Python values and never cross into C++
    done = Signal(object)
    failed = Signal(object)


class _Runnable(QRunnable):
    def __init__(self, fn: Callable[[], Any], signals: _Signals) -> None:
        super().__init__()
        self._fn = fn
        self._signals = signals

    def run(self) -> None:
        try:
            result = self._fn()
        except Exception as exc:
            self._signals.failed.emit(exc)
        else:
            self._signals.done.emit(result)


class BackgroundRunner(QObject):
    """Owns a small pool for GUI-side background work (planning folder walks, previews, opening
    files); separate from the engine's pool so it never waits behind queued tasks."""

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(max_threads)
        # Signal objects live on the GUI thread until their result is delivered.
        self._pending: set[_Signals] = set()

    def run(self, fn: Callable[[], Any], on_done: Callable[[Any], None] | None = None,
            on_error: Callable[[Exception], None] | None = None) -> None:
        signals = _Signals(self)
        self._pending.add(signals)

        def finish(value: Any, callback: Callable[[Any], None] | None, failed: bool) -> None:
            self._pending.discard(signals)
            signals.deleteLater()
            if callback is not None:
                callback(value)
            elif failed:
                log.error("background work failed: %r", value, exc_info=value)

        signals.done.connect(lambda value: finish(value, on_done, False))
        signals.failed.connect(lambda exc: finish(exc, on_error, True))
        self.pool.start(_Runnable(fn, signals))

    @property
    def busy(self) -> bool:
        return bool(self._pending)

    def shutdown(self) -> None:
        self.pool.clear()
        self.pool.waitForDone()
