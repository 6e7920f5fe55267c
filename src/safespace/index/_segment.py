"""Immutable indexed segments and the small unindexed buffer of recent adds.

A segment's rows are sorted by id, so an id is found by binary search (no id map in memory)
and removals only flip a row's tombstone. Rows never change once a segment is built; merging
segments builds a new one.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

import numba
import numpy as np
import numpy.typing as npt

from safespace.index import _kernels as kern
from safespace.index import _scan
from safespace.index._plan import (
    ChunkPlan,
    plan_for,
    probe_cost,
    probe_radii,
    scan_cost,
    split_chunks,
)

Mode = Literal["auto", "probe", "scan"]
Hits = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]]
U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

CANDIDATE_ROOM = 1 << 14  # candidates a probe gathers before verifying them
SCAN_CAP = 64  # room per scan block (at least; more with many queries) before a re-run
QUERY_CAP = 16  # room per query in a parallel probe before it is re-run with exact room
BLOCK_ROWS = 4096  # rows per scan block: 128 KiB of hashes, stays in L2 while queries pass
PARALLEL_SCAN = 1 << 22  # rows x queries from which a scan is worth spreading over threads
PARALLEL_PROBE = 8  # queries from which probing is spread over threads
SPLIT_ROWS = 1 << 22  # rows from which one query's chunks are shared by the search threads
SPLIT_QUERIES = 2  # batches smaller than this are split by chunks rather than by query
# Parts a split query's chunks are cut into: 0 is auto (as many as the search threads the
# machine's idle cores can run now: split_parts), 1 is off, more is that many whatever the load.
# At 100M rows two threads answered in 0.64 ms against 1.15 ms for one on an idle 2-core
# machine, but 8-11 ms against 2.1 ms on one whose cores were busy (the second part waits).
SPLIT_PARTS = 0
LOAD_TTL = 1.0  # seconds a reading of the load average is reused
_load_seen: list[float] = [-LOAD_TTL, 0.0]  # when it was read (monotonic), and the reading


def split_parts(threads: int, chunks: int, cpus: int, load: float) -> int:
    """How many parts to cut one query's chunks into, for ``threads`` search threads on
    ``cpus`` cores whose one-minute load average is ``load``.

    A part runs only once a core is free, and the query waits for its slowest part: so one
    part per thread, but beside the calling thread's own (counted in the load: it is the one
    sending queries) only as many as there are idle cores. A busy machine, or one search
    thread, gets one part: no split."""
    if threads < 2:
        return 1
    idle = max(0, int(cpus - load + 0.5))  # cores nothing is running on, rounded
    return max(1, min(threads, chunks, 1 + idle))


def _machine_load() -> float:
    """The one-minute load average, read at most once per ``LOAD_TTL`` seconds (a query
    takes about a millisecond; reading /proc each time would cost a few microseconds)."""
    now = time.monotonic()
    if now - _load_seen[0] >= LOAD_TTL:
        try:
            reading = os.getloadavg()[0]
        except OSError:  # not known here: take the machine as busy, never split
            reading = float(os.cpu_count() or 1)
        _load_seen[0], _load_seen[1] = now, reading
    return _load_seen[1]


def empty_hits() -> Hits:
    z = np.zeros(0, dtype=np.int64)
    return z, z, z


def words(hashes: U8) -> npt.NDArray[np.uint64]:
    return hashes.view(np.uint64)


def _packed(run: Callable[[I64, I64, I64], int], room: int) -> Hits:
    """Call a kernel that packs hits from 0 and returns their count; retry once if short."""
    for _ in range(2):
        out_q = np.empty(room, dtype=np.int64)
        out_row = np.empty(room, dtype=np.int64)
        out_dist = np.empty(room, dtype=np.int64)
        count = int(run(out_q, out_row, out_dist))
        if count <= room:
            return out_q[:count], out_row[:count], out_dist[:count]
        room = count
    raise AssertionError("kernel gave different counts for the same input")


def scan(qs: npt.NDArray[np.uint64], h: npt.NDArray[np.uint64], dead: npt.NDArray[np.bool_],
         radius: int) -> Hits:  # fmt: skip
    """Brute force: every live row within ``radius`` of each query, as (query, row, distance)."""
    n = h.shape[0]
    nq = qs.shape[0]
    if n == 0 or nq == 0:
        return empty_hits()
    if n * nq < PARALLEL_SCAN or numba.get_num_threads() == 1:
        return _packed(
            lambda oq, orow, od: _scan.scan_serial(qs, h, dead, radius, BLOCK_ROWS, oq, orow, od),
            SCAN_CAP + 4 * nq,
        )
    nb = -(-n // BLOCK_ROWS)
    blocks = np.arange(nb, dtype=np.int64)
    cap = max(SCAN_CAP, 4 * nq)
    pos = blocks * cap
    caps = np.full(nb, cap, dtype=np.int64)
    out_q = np.empty(nb * cap, dtype=np.int64)
    out_row = np.empty(nb * cap, dtype=np.int64)
    out_dist = np.empty(nb * cap, dtype=np.int64)
    counts = np.empty(nb, dtype=np.int64)
    _scan.scan_parallel(
        qs, h, dead, radius, blocks, BLOCK_ROWS, pos, caps, out_q, out_row, out_dist, counts
    )
    over = counts > caps
    keep = np.repeat(~over, cap) & (np.arange(cap)[None, :] < counts[:, None]).ravel()
    parts = [(out_q[keep], out_row[keep], out_dist[keep])]
    if over.any():
        blocks2 = blocks[over]
        caps2 = counts[over]
        pos2 = np.concatenate([[0], np.cumsum(caps2)[:-1]]).astype(np.int64)
        total = int(caps2.sum())
        q2 = np.empty(total, dtype=np.int64)
        r2 = np.empty(total, dtype=np.int64)
        d2 = np.empty(total, dtype=np.int64)
        c2 = np.empty(len(blocks2), dtype=np.int64)
        _scan.scan_parallel(qs, h, dead, radius, blocks2, BLOCK_ROWS, pos2, caps2, q2, r2, d2, c2)
        parts.append((q2, r2, d2))
    return (
        np.concatenate([p[0] for p in parts]),
        np.concatenate([p[1] for p in parts]),
        np.concatenate([p[2] for p in parts]),
    )


@lru_cache(maxsize=4096)
def _rho(radius: int, m: int) -> I64:
    return probe_radii(radius, m)


@lru_cache(maxsize=256)
def _flips(t: int, r: int) -> tuple[I64, I64]:
    """Bucket flip masks for a probe of radius ``r`` over ``t`` top bits (see the kernel)."""
    flips, upto = kern.flip_masks(t, max(r, 0))
    return flips, upto


@lru_cache(maxsize=4096)
def _prefers_scan(plan: ChunkPlan, n: int, radius: int) -> bool:
    return scan_cost(n) < probe_cost(plan, n, radius)


@lru_cache(maxsize=4096)
def _parts(plan: ChunkPlan, n: int, radius: int, parts: int) -> I64:
    return split_chunks(plan, n, radius, parts)


@dataclass
class Tables:
    """The multi-index tables of one segment (see ``kern.build_tables``)."""

    plan: ChunkPlan
    offsets: npt.NDArray[np.uint32]
    entries: npt.NDArray[np.uint32]

    @classmethod
    def build(cls, h: npt.NDArray[np.uint64], plan: ChunkPlan) -> Tables:
        n = h.shape[0]
        offsets = np.zeros(plan.offsets_len, dtype=np.uint32)
        entries = np.empty((plan.m, n), dtype=np.uint32)
        kern.build_tables(
            h, plan.starts, plan.widths_arr, plan.tbits_arr, plan.off_base, plan.row_bits,
            offsets, entries,
        )  # fmt: skip
        return cls(plan, offsets, entries)

    def rho(self, radius: int) -> I64:
        return _rho(radius, self.plan.m)

    def prefers_scan(self, n: int, radius: int) -> bool:
        return _prefers_scan(self.plan, n, radius)

    def probe(self, qs: npt.NDArray[np.uint64], h: npt.NDArray[np.uint64],
              dead: npt.NDArray[np.bool_], radius: int) -> Hits:  # fmt: skip
        plan = self.plan
        rho = self.rho(radius)
        flips, upto = _flips(max(plan.tbits), int(rho.max()))
        nq = qs.shape[0]
        n = h.shape[0]
        threads = numba.get_num_threads()
        parts = 1
        if nq < SPLIT_QUERIES and n >= SPLIT_ROWS:
            if SPLIT_PARTS:
                parts = min(SPLIT_PARTS, plan.m)
            else:
                parts = split_parts(threads, plan.m, os.cpu_count() or 1, _machine_load())
        if parts > 1:
            # Few queries on a big segment: each thread probes a share of every query's
            # chunks (the tables' memory latency, not the CPU, bounds one thread).
            part_of = _parts(plan, n, radius, parts)
            item_q = np.repeat(np.arange(nq, dtype=np.int64), parts)
            item_part = np.tile(np.arange(parts, dtype=np.int64), nq)
            return self._items(qs, item_q, item_part, part_of, rho, flips, upto, h, dead, radius)
        if nq < PARALLEL_PROBE or threads == 1:
            return _packed(
                lambda oq, orow, od: kern.mih_serial(
                    qs, radius, rho, h, dead, plan.starts, plan.widths_arr, plan.tbits_arr,
                    plan.off_base, plan.row_bits, self.offsets, self.entries, plan.masks, flips,
                    upto, CANDIDATE_ROOM, oq, orow, od,
                ),
                QUERY_CAP + 4 * nq,
            )  # fmt: skip
        item_q = np.arange(nq, dtype=np.int64)
        whole = np.zeros(plan.m, dtype=np.int64)
        return self._items(qs, item_q, np.zeros(nq, dtype=np.int64), whole, rho, flips, upto, h,
                           dead, radius)  # fmt: skip

    def _items(self, qs: npt.NDArray[np.uint64], item_q: I64, item_part: I64, part_of: I64,
               rho: I64, flips: I64, upto: I64, h: npt.NDArray[np.uint64],
               dead: npt.NDArray[np.bool_], radius: int) -> Hits:  # fmt: skip
        """Probe items (a query through one part of its chunks) in parallel."""
        caps = np.full(len(item_q), QUERY_CAP, dtype=np.int64)
        rows, dist, counts = self._run(qs, item_q, item_part, part_of, caps, rho, flips, upto,
                                       h, dead, radius)  # fmt: skip
        got = np.minimum(counts, caps)
        qidx = np.repeat(item_q, got)
        over = counts > caps
        if over.any():
            # Items that ran out of room are re-run alone with exactly the room they need.
            sel = np.nonzero(over)[0]
            rows2, dist2, counts2 = self._run(
                qs, item_q[sel], item_part[sel], part_of, counts[sel], rho, flips, upto, h, dead,
                radius,
            )  # fmt: skip
            keep = np.repeat(~over, got)
            qidx = np.concatenate([qidx[keep], np.repeat(item_q[sel], counts2)])
            return qidx, np.concatenate([rows[keep], rows2]), np.concatenate([dist[keep], dist2])
        return qidx, rows, dist

    def _run(self, qs: npt.NDArray[np.uint64], item_q: I64, item_part: I64, part_of: I64,
             caps: I64, rho: I64, flips: I64, upto: I64, h: npt.NDArray[np.uint64],
             dead: npt.NDArray[np.bool_], radius: int) -> tuple[I64, I64, I64]:  # fmt: skip
        plan = self.plan
        pos = np.concatenate([[0], np.cumsum(caps)[:-1]]).astype(np.int64)
        total = int(caps.sum())
        out_row = np.empty(total, dtype=np.int64)
        out_dist = np.empty(total, dtype=np.int64)
        counts = np.empty(len(caps), dtype=np.int64)
        kern.mih_search(
            qs, item_q, item_part, part_of, pos, caps, radius, rho, h, dead, plan.starts,
            plan.widths_arr, plan.tbits_arr, plan.off_base, plan.row_bits, self.offsets,
            self.entries, plan.masks, flips, upto, CANDIDATE_ROOM, out_row, out_dist, counts,
        )  # fmt: skip
        n_out = int(np.minimum(counts, caps).sum())
        rows = np.empty(n_out, dtype=np.int64)
        dist = np.empty(n_out, dtype=np.int64)
        kern.gather(counts, pos, caps, out_row, out_dist, rows, dist)
        return rows, dist, counts


@dataclass
class Segment:
    """Rows sorted by id, their tombstones and (when built) their multi-index tables."""

    ids: I64
    hashes: U8
    dead: npt.NDArray[np.bool_]
    tables: Tables | None
    live: int = field(init=False)

    def __post_init__(self) -> None:
        self.live = len(self.ids) - int(np.count_nonzero(self.dead))

    @classmethod
    def build(cls, ids: I64, hashes: U8, plan: ChunkPlan | None = None) -> Segment:
        """Index rows whose ids are unique (in any order)."""
        if len(ids) > 1 and not bool(np.all(ids[1:] > ids[:-1])):
            order = np.argsort(ids, kind="stable")
            ids = ids[order]
            hashes = hashes[order]
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        hashes = np.ascontiguousarray(hashes, dtype=np.uint8)
        dead = np.zeros(len(ids), dtype=np.bool_)
        tables = Tables.build(words(hashes), plan or plan_for(len(ids)))
        return cls(ids, hashes, dead, tables)

    def __len__(self) -> int:
        return len(self.ids)

    def search(self, qs: npt.NDArray[np.uint64], radius: int, mode: Mode) -> Hits:
        """(query, id, distance) for each live row within ``radius``."""
        if self.live == 0:
            return empty_hits()
        h = words(self.hashes)
        use_scan = self.tables is None or mode == "scan"
        if mode == "auto" and self.tables is not None:
            use_scan = self.tables.prefers_scan(len(self.ids), radius)
        if use_scan or self.tables is None:
            qidx, rows, dist = scan(qs, h, self.dead, radius)
        else:
            qidx, rows, dist = self.tables.probe(qs, h, self.dead, radius)
        return qidx, self.ids[rows], dist

    def locate(self, ids: I64) -> I64:
        """Rows of the live entries among ``ids`` (unique ids)."""
        if len(self.ids) == 0 or len(ids) == 0:
            return np.zeros(0, dtype=np.int64)
        pos: I64 = np.minimum(np.searchsorted(self.ids, ids), len(self.ids) - 1)
        hit = (self.ids[pos] == ids) & ~self.dead[pos]
        return np.asarray(pos[hit], dtype=np.int64)

    def kill(self, ids: I64) -> int:
        """Tombstone the live rows with these (unique) ids; return how many."""
        rows = self.locate(ids)
        if len(rows):
            if not self.dead.flags.writeable:
                self.dead = self.dead.copy()
            self.dead[rows] = True
            self.live -= len(rows)
        return len(rows)

    def live_rows(self) -> tuple[I64, U8]:
        keep = ~self.dead
        return np.asarray(self.ids[keep]), np.asarray(self.hashes[keep])


class Buffer:
    """Recent adds, scanned by brute force until there are enough to index."""

    def __init__(self) -> None:
        self.ids = np.zeros(0, dtype=np.int64)
        self.hashes = np.zeros((0, 32), dtype=np.uint8)
        self.count = 0

    def __len__(self) -> int:
        return self.count

    def append(self, ids: I64, hashes: U8) -> None:
        need = self.count + len(ids)
        if need > len(self.ids):
            cap = max(need, 2 * len(self.ids), 64)
            new_ids = np.empty(cap, dtype=np.int64)
            new_h = np.empty((cap, 32), dtype=np.uint8)
            new_ids[: self.count] = self.ids[: self.count]
            new_h[: self.count] = self.hashes[: self.count]
            # Readers hold the old arrays and their old count, so replacing is safe.
            self.ids, self.hashes = new_ids, new_h
        self.ids[self.count : need] = ids
        self.hashes[self.count : need] = hashes
        self.count = need

    def take(self) -> tuple[I64, U8]:
        return self.ids[: self.count].copy(), self.hashes[: self.count].copy()

    def replace(self, ids: I64, hashes: U8) -> None:
        self.ids = np.ascontiguousarray(ids, dtype=np.int64)
        self.hashes = np.ascontiguousarray(hashes, dtype=np.uint8).reshape(-1, 32)
        self.count = len(self.ids)

    def kill(self, ids: I64) -> int:
        cur = self.ids[: self.count]
        gone = np.isin(cur, ids)
        k = int(np.count_nonzero(gone))
        if k:
            self.replace(cur[~gone], self.hashes[: self.count][~gone])
        return k

    def search(self, qs: npt.NDArray[np.uint64], radius: int) -> Hits:
        n = self.count
        ids, hashes = self.ids, self.hashes
        if n == 0:
            return empty_hits()
        dead = np.zeros(n, dtype=np.bool_)
        qidx, rows, dist = scan(qs, words(hashes[:n]), dead, radius)
        return qidx, ids[rows], dist
