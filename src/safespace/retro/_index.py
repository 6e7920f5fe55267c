"""The exact PDQ index the other way round: stored content's hashes, searched by new entries.

:class:`ContentIndex` holds one :class:`~safespace.index.PDQIndex` over the stored hashes of
the signal type the registry gives the PDQ multi-index hashing index (keys: ``content_signals``
row ids). It follows the table by id: :meth:`ContentIndex.sync` adds rows past the highest id
it has read, and looks again for a while at ids it skipped (on PostgreSQL an insert can
commit after a higher id did). Rows deleted by another process (a ``forget``) may linger in
the index: every hit is read back from the table, so they never make a hit, and the task's
own purges remove theirs at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from sqlalchemy import select

from safespace.index import PDQIndex
from safespace.signals import IndexKind, signal_types_with_index
from safespace.store import Database
from safespace.store._models_retro import ContentSignal

__all__ = ["MIH_TYPE", "ContentIndex"]

_MIH = next(iter(signal_types_with_index(IndexKind.PDQ_MIH)), None)
MIH_TYPE: str | None = _MIH.name if _MIH is not None else None
_CHUNK = 200_000
GAP_SECONDS = 600.0  # how long a skipped id is looked for again


class ContentIndex:
    """Stored content PDQ hashes in memory; safe to search while another thread syncs."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.index = PDQIndex()
        self.top = 0  # the highest row id read
        self.gaps: dict[int, float] = {}  # skipped id -> when it was first missed
        self.clock = clock
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.index)

    def sync(self, db: Database) -> int:
        """Add the rows stored since the last sync; returns how many were added."""
        if MIH_TYPE is None:
            return 0
        with self._lock:
            added = 0
            now = self.clock()
            self.gaps = {i: t for i, t in self.gaps.items() if now - t < GAP_SECONDS}
            c = ContentSignal
            with db.session() as s:
                if self.gaps:
                    late = list(self.gaps)
                    for k in range(0, len(late), 1000):
                        rows = s.execute(
                            select(c.id, c.value).where(
                                c.id.in_(late[k : k + 1000]), c.signal_type == MIH_TYPE
                            )
                        ).all()
                        for row_id, _ in rows:
                            self.gaps.pop(int(row_id), None)
                        added += self._add(rows)
                query = (
                    select(c.id, c.value)
                    .where(c.id > self.top, c.signal_type == MIH_TYPE)
                    .order_by(c.id)
                    .execution_options(yield_per=_CHUNK)
                )
                seen: list[npt.NDArray[np.int64]] = []
                for part in s.execute(query).partitions():
                    added += self._add(part)
                    seen.append(np.fromiter((int(r[0]) for r in part), np.int64, len(part)))
                # ids below the new top that were not read: other types, or not yet committed
                if seen:
                    ids = np.concatenate(seen)
                    new_top = int(ids.max())
                    if self.top and new_top - self.top <= 4 * len(ids) + 1000:
                        every = np.arange(self.top + 1, new_top, dtype=np.int64)
                        missing = np.setdiff1d(every, ids, assume_unique=True)
                        recent = missing[-5000:].tolist()  # an uncommitted id is near the top
                        if recent:
                            other = s.scalars(select(c.id).where(c.id.in_(recent))).all()
                            for i in set(recent) - {int(x) for x in other}:
                                self.gaps.setdefault(i, now)
                    self.top = max(self.top, new_top)
            return added

    @staticmethod
    def _hashes(values: Sequence[str]) -> npt.NDArray[np.uint8]:
        raw = bytes.fromhex("".join(values))
        return np.frombuffer(raw, dtype=np.uint8).reshape(-1, 32)

    def _add(self, rows: Sequence[tuple[int, str]]) -> int:
        if not rows:
            return 0
        ids = np.fromiter((int(r[0]) for r in rows), np.int64, len(rows))
        self.index.add(ids, self._hashes([r[1] for r in rows]))
        return len(rows)

    def remove(self, ids: Sequence[int]) -> int:
        """Drop rows (purged by this process) from the index."""
        return self.index.remove(ids) if ids else 0

    def search(self, hashes: Sequence[str], radius: int) -> list[list[tuple[int, int]]]:
        """Per hash, every (row id, distance) within ``radius``."""
        if not hashes or not len(self.index):
            return [[] for _ in hashes]
        return self.index.search(self._hashes(hashes), radius=radius)
