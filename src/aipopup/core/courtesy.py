"""Bulk work that leaves room for the window.

CPython runs one thread's Python at a time. Planning 10,000 tasks, compacting the journal or
writing a finished batch's history is pure Python for a tenth of a second or more, and while
it runs the window's thread gets the interpreter only in turns with it and the workers: 20 ms
of the window's own work took 60-100 ms. Such loops call ``breathe(step)``: every BREATH_EVERY
steps they sleep for a millisecond, which hands the GIL to a thread waiting for it. The cost is
about 4 ms per 1,000 steps, in loops that take ten times that anyway.
"""

from __future__ import annotations

import time

BREATH_EVERY = 256
BREATH_S = 0.001


def breathe(step: int) -> None:
    """Call once per step of a long loop; every BREATH_EVERY steps it pauses."""
    if step % BREATH_EVERY == BREATH_EVERY - 1:
        pause()


def pause() -> None:
    """One breath, for loops whose steps are already BREATH_EVERY items of work each."""
    time.sleep(BREATH_S)
