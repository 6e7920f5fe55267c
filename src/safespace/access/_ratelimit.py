"""Per-key token buckets, shared by every worker process on a machine.

A bucket holds up to ``burst`` tokens and refills at ``rate`` tokens per second; each request
takes one. The buckets live in a small memory-mapped file in the data folder, updated under a
file lock, so a key gets ``rate`` requests per second from all of a machine's workers
together, not ``rate`` from each. Several machines on one database each keep their own file:
the limit is per machine. Without a file (tests, an unwritable folder) the buckets are in
process memory.

An operator who wants one limit across machines (``SAFESPACE_RATE_LIMIT_SCOPE=cluster``, on
PostgreSQL) gets buckets in the database instead: one upsert per request, which costs a
database round trip on every API call (about 1.7x a ``SELECT 1`` round trip, measured by
bench/bench_rate_limit.py, and load on PostgreSQL that grows with the request rate), so it
is off by default.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import math
import mmap
import os
import struct
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from pathlib import Path

from sqlalchemy import Float, bindparam, case, func, text
from sqlalchemy.dialects.postgresql import insert as pg_insert

from safespace.errors import ConfigError, InvalidInput, RateLimited
from safespace.store import Database, RateLimitBucket

__all__ = ["RateLimiter"]

log = logging.getLogger("safespace.access")

_SLOT = struct.Struct("<Qdd")  # key hash (0: empty), tokens, last refill (CLOCK_MONOTONIC)
_MAGIC = b"SSRL\x01\x00\x00\x00"
_PROBES = 16
# Given a bucket's (tokens, last refill), or (None, None) for a new one: its next state.
_Take = Callable[[float | None, float | None], tuple[float, float]]


class _MemoryBuckets:
    """One process's buckets; the least recently used are forgotten past ``max_keys``."""

    def __init__(self, max_keys: int) -> None:
        self._max = max_keys
        self._buckets: OrderedDict[Hashable, tuple[float, float]] = OrderedDict()

    def update(self, key: Hashable, take: _Take) -> None:
        tokens, then = self._buckets.get(key, (None, None))
        self._buckets[key] = take(tokens, then)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self._max:  # a forgotten bucket is a full one: harmless
            self._buckets.popitem(last=False)


class _SharedBuckets:
    """An open-addressing table of buckets in a memory-mapped file, one writer at a time.

    ``flock`` excludes other processes; the caller's thread lock excludes this process's
    other threads (they share the lock's file description). A key probes up to 16 slots; when
    all are taken, the one refilled longest ago is reused (a forgotten bucket is a full one).
    """

    def __init__(self, path: Path, slots: int) -> None:
        self.path = path
        size = len(_MAGIC) + slots * _SLOT.size
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                current = os.fstat(fd).st_size
                if current != size or os.pread(fd, len(_MAGIC), 0) != _MAGIC:
                    os.ftruncate(fd, 0)  # another layout (or a torn file): start afresh
                    os.ftruncate(fd, size)
                    os.pwrite(fd, _MAGIC, 0)
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
            self._map = mmap.mmap(fd, size)
        except BaseException:
            os.close(fd)
            raise
        self._fd = fd
        self._slots = slots

    @staticmethod
    def _hash(key: Hashable) -> int:
        digest = hashlib.blake2b(repr(key).encode(), digest_size=8).digest()
        return int.from_bytes(digest, "little") or 1

    def update(self, key: Hashable, take: _Take) -> None:
        wanted = self._hash(key)
        start = wanted % self._slots
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            oldest, oldest_at = -1, math.inf
            for i in range(_PROBES):
                offset = len(_MAGIC) + ((start + i) % self._slots) * _SLOT.size
                found, tokens, then = _SLOT.unpack_from(self._map, offset)
                if found == wanted:
                    _SLOT.pack_into(self._map, offset, wanted, *take(tokens, then))
                    return
                if found == 0:
                    oldest, oldest_at = offset, -math.inf
                    break
                if then < oldest_at:
                    oldest, oldest_at = offset, then
            _SLOT.pack_into(self._map, oldest, wanted, *take(None, None))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


class _DatabaseBuckets:
    """Buckets in PostgreSQL's ``rate_limit_buckets``, one row per key hash, for a limit that
    holds across machines. The refill and the take are one ``INSERT .. ON CONFLICT DO UPDATE``
    (the row lock orders concurrent takes), so a request costs one round trip; ``clock`` is
    wall time, the one clock machines share."""

    def __init__(self, db: Database, rate: float, burst: int) -> None:
        if db.dialect != "postgresql":
            raise ConfigError("rate limits per cluster need PostgreSQL (SAFESPACE_DATABASE_URL)")
        self._db, self._rate = db, rate
        bucket, now = RateLimitBucket, bindparam("now", type_=Float)
        refilled = func.least(
            float(burst), bucket.tokens + func.greatest(0.0, now - bucket.updated_at) * rate
        )
        self._take = (  # built once: a request only binds its key and time
            pg_insert(bucket)
            .values(
                key_hash=bindparam("key_hash"),
                tokens=float(burst) - 1.0,
                updated_at=now,
                allowed=True,
            )
            .on_conflict_do_update(
                index_elements=[bucket.key_hash],
                set_={
                    "tokens": case((refilled >= 1.0, refilled - 1.0), else_=refilled),
                    "updated_at": now,
                    "allowed": refilled >= 1.0,
                },
            )
            .returning(bucket.tokens, bucket.allowed)
        )

    def take(self, key: Hashable, now: float) -> float:
        """Take a token for ``key`` at ``now``: 0.0 if allowed, else seconds to wait."""
        key_hash = _SharedBuckets._hash(key) & 0x7FFF_FFFF_FFFF_FFFF  # a signed BIGINT
        with self._db.engine.begin() as conn:
            # A bucket lost in a crash only starts full again: not worth waiting for a flush.
            conn.execute(text("SET LOCAL synchronous_commit = off"))
            tokens, allowed = conn.execute(self._take, {"key_hash": key_hash, "now": now}).one()
        return 0.0 if allowed else (1.0 - float(tokens)) / self._rate


class RateLimiter:
    """``rate`` 0 turns limiting off. Thread-safe; with ``shared_path``, process-safe too;
    with ``cluster_db`` (PostgreSQL), one limit for every machine on that database."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        max_keys: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
        shared_path: Path | None = None,
        cluster_db: Database | None = None,
    ) -> None:
        if rate < 0 or burst < 1:
            raise InvalidInput(f"rate limit needs rate >= 0 and burst >= 1, got {rate}, {burst}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: _MemoryBuckets | _SharedBuckets = _MemoryBuckets(max_keys)
        self._cluster: _DatabaseBuckets | None = None
        if cluster_db is not None and self.rate > 0:
            self._cluster = _DatabaseBuckets(cluster_db, self.rate, self.burst)
        elif shared_path is not None and self.rate > 0:
            try:
                self._buckets = _SharedBuckets(shared_path, slots=max(1024, max_keys // 4))
            except OSError as exc:
                log.warning("rate limits kept per worker: cannot share %s (%s)", shared_path, exc)

    @property
    def shared(self) -> bool:
        return isinstance(self._buckets, _SharedBuckets)

    @property
    def scope(self) -> str:
        """Where one key's limit holds: ``cluster``, ``machine`` or ``worker``."""
        if self._cluster is not None:
            return "cluster"
        return "machine" if self.shared else "worker"

    def wait_time(self, key: Hashable) -> float:
        """Take a token for ``key``: 0.0 if allowed, else seconds until one is available."""
        if self.rate == 0:
            return 0.0
        now = self._clock()
        if self._cluster is not None:
            return self._cluster.take(key, now)
        wait = 0.0

        def take(tokens: float | None, then: float | None) -> tuple[float, float]:
            nonlocal wait
            if tokens is None or then is None or then > now:  # new, or from before a reboot
                tokens = float(self.burst)
            else:
                tokens = min(float(self.burst), tokens + (now - then) * self.rate)
            if tokens >= 1.0:
                return tokens - 1.0, now
            wait = (1.0 - tokens) / self.rate
            return tokens, now

        with self._lock:
            self._buckets.update(key, take)
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

    def close(self) -> None:
        if isinstance(self._buckets, _SharedBuckets):
            self._buckets.close()
