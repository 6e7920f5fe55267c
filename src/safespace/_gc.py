"""Pausing the cyclic garbage collector around bulk work, safely from several threads."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_depth = 0  # pauses open now, in any thread
_resume = False  # whether the collector was on when the first of them began


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building or applying many acyclic records.

    A million-line import, or a fetch holding a group of 100,000 entries, allocates millions
    of tracked objects and no cycles; without a pause the collector's repeated passes over
    them cost more than the work itself. Pauses may overlap across threads (a fetch's
    read-ahead thread builds pages while its applying thread writes the last group): the
    collector stays off until the last one ends, and is then turned on again only if it was
    on when the first one began. Keep each pause to one bounded piece of work.
    """
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()
