"""Bulk allocation without the cyclic garbage collector rescanning the heap.

Planning or replaying a batch of 10,000 tasks allocates hundreds of thousands of containers and
frees almost none. Left alone, the collector runs full collections over the whole growing heap
during that time (45-60 ms each, holding the GIL, so the window stalls), and again every so often
afterwards for as long as the tasks live. Inside ``bulk_allocation`` the collector is off; at the
end the survivors are frozen (moved to the permanent generation), so later full collections only
scan what is new. Frozen objects are still freed by reference counting; only cyclic garbage that
existed at the freeze would outlive its time, which in the engine's plain data is next to none.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0
_was_enabled = True


@contextmanager
def bulk_allocation() -> Iterator[None]:
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                gc.freeze()
                if _was_enabled:
                    gc.enable()
