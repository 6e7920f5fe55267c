"""Exact PDQ search by Hamming distance. Public API: :class:`PDQIndex`, and
:class:`FrameIndex` for the frames of banked videos (vPDQ) built on it.

Multi-index hashing: the 256 bits are cut into m chunks of about log2(N) bits; by the
pigeonhole principle a hash within distance r of a query has some chunk within a small radius
of the query's chunk, so probing every chunk's table within that radius and verifying the
candidates with popcount finds every match, exactly. See docs/index.md.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from safespace.errors import InvalidInput
from safespace.index import _storage
from safespace.index._frames import FrameIndex, VideoMatch, VideoThresholds
from safespace.index._inputs import HashesLike, as_hashes, as_ids, as_radius
from safespace.index._plan import MAX_ROWS, plan_for
from safespace.index._segment import Buffer, Hits, Mode, Segment, scan, words

__all__ = ["FrameIndex", "PDQIndex", "VideoMatch", "VideoThresholds"]

BUFFER_ROWS = 16384  # recent adds scanned by brute force before they become a segment
MERGE_RATIO = 2  # merge the two newest segments when the older is at most this times larger


@dataclass(frozen=True)
class _State:
    """What a search reads: replaced whole by writers, so searches never take the lock."""

    segments: tuple[Segment, ...]
    buf_ids: npt.NDArray[np.int64]
    buf_hashes: npt.NDArray[np.uint8]
    buf_count: int


class PDQIndex:
    """An exact, mutable, persistent index of PDQ hashes keyed by int64 ids.

    Adding an id that is already present replaces its hash; within one ``add`` call the last
    occurrence of an id wins. Searches may run from several threads at once; writes
    (``add``, ``remove``, ``compact``) are serialised by an internal lock.
    """

    def __init__(self) -> None:
        self._segments: list[Segment] = []
        self._buffer = Buffer()
        self._lock = threading.RLock()
        self._buffer_rows = BUFFER_ROWS
        self._merge_ratio = MERGE_RATIO
        self._max_rows = MAX_ROWS
        self._mode: Mode = "auto"
        self._chunks: int | None = None  # tests pin the chunk count; normally it follows N
        self._prefault: threading.Thread | None = None  # set by load(mmap=True)
        self._publish()

    def __len__(self) -> int:
        s = self._state
        return sum(seg.live for seg in s.segments) + s.buf_count

    def __repr__(self) -> str:
        return f"PDQIndex({len(self)} entries, {len(self._state.segments)} segments)"

    def add(self, ids: Iterable[int] | npt.NDArray[np.integer], hashes: HashesLike) -> None:
        """Add (or replace) entries: ``ids`` int64, ``hashes`` (N, 32) uint8 or hex strings."""
        id_arr = as_ids(ids)
        h = as_hashes(hashes)
        if len(id_arr) != len(h):
            raise InvalidInput(f"got {len(id_arr)} ids but {len(h)} hashes")
        if len(id_arr) == 0:
            return
        id_arr, h = _last_wins(id_arr, h)
        with self._lock:
            self._kill(id_arr)
            if len(self._buffer) + len(id_arr) >= self._buffer_rows:
                b_ids, b_h = self._buffer.take()
                new = self._build(np.concatenate([b_ids, id_arr]), np.concatenate([b_h, h]))
                self._segments.extend(new)
                self._buffer = Buffer()
                self._merge()
            else:
                self._buffer.append(id_arr, h)
            self._publish()

    def remove(self, ids: Iterable[int] | npt.NDArray[np.integer]) -> int:
        """Remove entries by id; ids not present are ignored. Returns how many were removed."""
        id_arr = np.unique(as_ids(ids))
        with self._lock:
            gone = self._kill(id_arr)
            self._merge()
            self._publish()
        return gone

    def search(self, hashes: HashesLike, radius: int = 31) -> list[list[tuple[int, int]]]:
        """Per query, every ``(id, distance)`` within ``radius``, by distance then id."""
        h = as_hashes(hashes)
        qidx, ids, dist = self.search_arrays(h, radius)
        nq = len(h)
        if nq == 0:
            return []
        bounds = np.searchsorted(qidx, np.arange(nq + 1)).tolist()
        pairs = list(zip(ids.tolist(), dist.tolist(), strict=True))
        return [pairs[bounds[k] : bounds[k + 1]] for k in range(nq)]

    def search_arrays(
        self, hashes: HashesLike, radius: int = 31
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """:meth:`search` for a batch, as three int64 arrays (query number, id, distance),
        one element per hit, sorted by query, then distance, then id.

        Every query of the batch is answered by one pass over each segment, and no Python
        object is made per hit, so a large batch (a video's frames) costs little more than
        its kernels. ``search`` is this, cut per query.
        """
        r = as_radius(radius)
        qs = words(as_hashes(hashes))
        nq = qs.shape[0]
        none = np.zeros(0, dtype=np.int64)
        if nq == 0:
            return none, none, none
        s = self._state
        parts: list[Hits] = [seg.search(qs, r, self._mode) for seg in s.segments if seg.live]
        if s.buf_count:
            dead = np.zeros(s.buf_count, dtype=np.bool_)
            qi, rows, dist = scan(qs, words(s.buf_hashes[: s.buf_count]), dead, r)
            parts.append((qi, s.buf_ids[rows], dist))
        parts = [p for p in parts if len(p[0])]
        if not parts:
            return none, none, none
        if len(parts) == 1:
            qidx, ids, dist = parts[0]
        else:
            qidx = np.concatenate([p[0] for p in parts])
            ids = np.concatenate([p[1] for p in parts])
            dist = np.concatenate([p[2] for p in parts])
        order = np.lexsort((ids, dist, qidx))
        return (
            np.asarray(qidx[order], dtype=np.int64),
            np.asarray(ids[order], dtype=np.int64),
            np.asarray(dist[order], dtype=np.int64),
        )

    def compact(self) -> None:
        """Merge every segment and the buffer into one segment, dropping removed rows."""
        with self._lock:
            parts = [seg.live_rows() for seg in self._segments]
            parts.append(self._buffer.take())
            ids = np.concatenate([p[0] for p in parts])
            hashes = np.concatenate([p[1] for p in parts])
            self._segments = self._build(ids, hashes)
            self._buffer = Buffer()
            self._publish()

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write a snapshot directory (manifest.json and .npy arrays), replacing any old one."""
        with self._lock:
            b_ids, b_h = self._buffer.take()
            _storage.save(Path(path), list(self._segments), b_ids, b_h)

    @classmethod
    def load(
        cls, path: str | os.PathLike[str], mmap: bool = True, prefault: bool = True
    ) -> PDQIndex:
        """Open a snapshot; with ``mmap`` the big arrays are mapped, not read, so it is quick.

        With ``prefault`` (and ``mmap``), a background thread then brings the mapped arrays
        into memory, so the first searches do not each wait on page faults from the disk;
        searches are answered meanwhile.
        """
        segments, b_ids, b_h = _storage.load(Path(path), mmap)
        index = cls()
        index._segments = segments
        index._buffer.append(b_ids, b_h)
        index._publish()
        if mmap and prefault and segments:
            arrays: list[npt.NDArray[Any]] = []
            for seg in segments:
                # Every probe reads the offsets, every candidate a hash; the entries were
                # just read through by the load's table check.
                t = seg.tables
                arrays += [t.offsets, seg.hashes, t.entries] if t else [seg.hashes]
                arrays.append(seg.ids)
            index._prefault = threading.Thread(
                target=_storage.prefault, args=(arrays,), name="pdq-prefault", daemon=True
            )
            index._prefault.start()
        return index

    # -- internals ---------------------------------------------------------------------------

    def _publish(self) -> None:
        b = self._buffer
        self._state = _State(tuple(self._segments), b.ids, b.hashes, b.count)

    def _build(self, ids: npt.NDArray[np.int64], hashes: npt.NDArray[np.uint8]) -> list[Segment]:
        """Segments for these rows: one, unless there are more than a segment can number."""
        out = []
        for k in range(0, len(ids), self._max_rows):
            part = slice(k, k + self._max_rows)
            plan = plan_for(len(ids[part]), self._chunks)
            out.append(Segment.build(ids[part], hashes[part], plan))
        return out

    def _kill(self, ids: npt.NDArray[np.int64]) -> int:
        return sum(seg.kill(ids) for seg in self._segments) + self._buffer.kill(ids)

    def _merge(self) -> None:
        """Keep segment sizes roughly geometric, and drop or rebuild mostly-dead segments."""
        segs = [s for s in self._segments if s.live]
        segs = [self._build(*s.live_rows())[0] if 2 * s.live < len(s) else s for s in segs]
        while (
            len(segs) >= 2
            and segs[-2].live <= self._merge_ratio * segs[-1].live
            and segs[-2].live + segs[-1].live <= self._max_rows
        ):
            b = segs.pop()
            a = segs.pop()
            ia, ha = a.live_rows()
            ib, hb = b.live_rows()
            segs.extend(self._build(np.concatenate([ia, ib]), np.concatenate([ha, hb])))
        self._segments = segs


def _last_wins(
    ids: npt.NDArray[np.int64], hashes: npt.NDArray[np.uint8]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8]]:
    """Drop all but the last occurrence of each repeated id."""
    if len(ids) < 2 or bool(np.all(ids[1:] > ids[:-1])):
        return ids, hashes
    rev = ids[::-1]
    _, first = np.unique(rev, return_index=True)
    if len(first) == len(ids):
        return ids, hashes
    keep = np.sort(len(ids) - 1 - first)
    return ids[keep], hashes[keep]
