"""A short-lived, per-process memory of key lookups, so a busy key costs no query per request.

Entries live ``ttl`` seconds, answers "no such key" included, so a revocation made anywhere
(another worker, the CLI) is seen by every process within ``ttl``: the default 0.5 s keeps
the promise "revocation takes effect within a second".
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from safespace.access._keys import KeyInfo, hash_key

__all__ = ["KeyCache"]


class KeyCache:
    """Thread-safe TTL cache in front of a lookup function (``KeyService.lookup``).

    Keyed by the key's SHA-256, so no secret is kept in memory longer than a request.
    """

    def __init__(
        self,
        lookup: Callable[[str], KeyInfo | None],
        *,
        ttl: float = 0.5,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self.ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, KeyInfo | None]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, key: str) -> tuple[bool, KeyInfo | None]:
        """``(True, answer)`` when a fresh answer is in memory, else ``(False, None)``.

        Never queries the database, so an event loop can call it without blocking.
        """
        digest = hash_key(key)
        with self._lock:
            hit = self._entries.get(digest)
            if hit is not None and self._clock() - hit[0] < self.ttl:
                return True, hit[1]
        return False, None

    def get(self, key: str) -> KeyInfo | None:
        found, info = self.cached(key)
        if found:
            return info
        digest = hash_key(key)
        now = self._clock()
        info = self._lookup(key)  # outside the lock: a slow database must not serialise all
        with self._lock:
            self._entries[digest] = (now, info)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return info

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
