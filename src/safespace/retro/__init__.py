"""Retro-matching: content seen before is found when its hash is banked later (issue 13).

:class:`ContentStore` keeps, when the operator turns retention on, the hashes (never media)
of content a platform sent with a ``content_id``, with when it was seen, until its retention
period ends (purged by the ``retro-match`` task; forgotten on request). :class:`RetroMatcher`
searches bank entries added since its checkpoint in the change log (or one bank on demand)
against them: PDQ through :class:`ContentIndex` (the exact PDQ index over stored hashes),
exact types by value; hits become ``retro`` review items. :class:`RetroRuntime` is the
``retro-match`` task's state in one process. See docs/retro.md.
"""

from safespace.retro._index import ContentIndex
from safespace.retro._runtime import RetroRuntime
from safespace.retro._store import ContentStore, StoredSignal, content_pairs
from safespace.retro._sweep import RetroMatcher, SweepResult

__all__ = [
    "ContentIndex",
    "ContentStore",
    "RetroMatcher",
    "RetroRuntime",
    "StoredSignal",
    "SweepResult",
    "content_pairs",
]
