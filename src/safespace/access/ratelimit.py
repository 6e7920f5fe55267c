"""Per-key token buckets, in process memory (one set per worker).

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; each request
takes one. With N workers a key can reach N times the rate: the limit guards each worker's
CPU and the database, it is not a billing meter.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable

from safespace.errors import InvalidInput, RateLimited

__all__ = ["RateLimiter"]


class RateLimiter:
    """``rate`` 0 turns limiting off. Thread-safe."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 0 or burst < 1:
            raise InvalidInput(f"rate limit needs rate >= 0 and burst >= 1, got {rate}, {burst}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._max = max_keys
        self._clock = clock
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()  # tokens, t
        self._lock = threading.Lock()

    def wait_time(self, key: Hashable) -> float:
        """Take a token for ``key``: 0.0 if allowed, else seconds until one is available."""
        if self.rate == 0:
            return 0.0
        now = self._clock()
        with self._lock:
            tokens, then = self._buckets.get(key, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                wait = 0.0
            else:
                self._buckets[key] = (tokens, now)
                wait = (1.0 - tokens) / self.rate
            self._buckets.move_to_end(key)
            while len(self._buckets) > self._max:  # a forgotten bucket is a full one: harmless
                self._buckets.popitem(last=False)
        return wait

    def check(self, key: Hashable) -> None:
        """Raise :class:`RateLimited` (with ``retry_after`` in whole seconds) when over."""
        wait = self.wait_time(key)
        if wait > 0:
            retry = max(1, math.ceil(wait))
            raise RateLimited(
                f"rate limit of {self.rate:g} requests/s (burst {self.burst}) exceeded; "
                f"retry in {retry} s",
                retry_after=retry,
            )
