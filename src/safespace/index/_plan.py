"""How a segment is cut into chunks, how far each chunk is probed, and what a probe costs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

BITS = 256
MIN_CHUNKS = 8  # widths <= 32 bits, so a chunk key fits in an integer and a table stays sane
MAX_CHUNKS = 32
BUCKET_BITS = 3  # aim for buckets of about 2**3 entries: one cache line, one memory access
LOW_BITS_MAX = 8  # at most this many low key bits live beside the row number in an entry
MAX_ROWS = 1 << 28  # rows per segment: row number and low bits share one uint32 entry

# Rough costs in nanoseconds, measured with bench/bench_index.py, used only to choose between
# probing and scanning a segment for one search.
COST_BUCKET = 12.0
COST_SCANNED = 1.0
COST_CANDIDATE = 15.0
COST_ROW = 0.7


@dataclass(frozen=True)
class ChunkPlan:
    """Chunk ``i`` covers bits ``starts[i]`` to ``starts[i] + widths[i]``.

    Its top ``tbits[i]`` bits pick a bucket; the other (low) bits are stored in the top of
    each uint32 table entry, above a ``row_bits``-bit row number.
    """

    widths: tuple[int, ...]
    tbits: tuple[int, ...]

    @property
    def row_bits(self) -> int:
        return 32 - max(w - t for w, t in zip(self.widths, self.tbits, strict=True))

    @property
    def m(self) -> int:
        return len(self.widths)

    @cached_property
    def widths_arr(self) -> npt.NDArray[np.int64]:
        return np.array(self.widths, dtype=np.int64)

    @cached_property
    def tbits_arr(self) -> npt.NDArray[np.int64]:
        return np.array(self.tbits, dtype=np.int64)

    @cached_property
    def starts(self) -> npt.NDArray[np.int64]:
        return np.concatenate([[0], np.cumsum(self.widths)[:-1]]).astype(np.int64)

    @cached_property
    def off_base(self) -> npt.NDArray[np.int64]:
        sizes = [(1 << t) + 1 for t in self.tbits]
        return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    @property
    def offsets_len(self) -> int:
        return sum((1 << t) + 1 for t in self.tbits)

    @cached_property
    def masks(self) -> npt.NDArray[np.uint64]:
        """Per chunk, its bits as a mask over the four words (for per-chunk distances)."""
        out = np.zeros((self.m, 4), dtype=np.uint64)
        for i, (s, w) in enumerate(zip(self.starts.tolist(), self.widths, strict=True)):
            for g in range(s, s + w):
                out[i, g >> 6] |= np.uint64(1) << np.uint64(g & 63)
        return out


PLAN_RADIUS = 31  # PDQ's usual match threshold: large segments' plans are tuned for it
WIDE_FROM = 1 << 26  # rows from which chunks probed at the larger radius may be wider


def plan_for(n: int, m: int | None = None) -> ChunkPlan:
    """Chunks of about log2(n) bits: then each probe finds about one random row.

    From ``WIDE_FROM`` rows (unless ``m`` is pinned), the chunks probed at the larger radius
    for ``PLAN_RADIUS`` may be a few bits wider (the others narrower) where the cost model
    says so: at 100M rows (28, 28, 25 x 8) rather than (26 x 6, 25 x 4) answered in 1.55
    rather than 2.10 ms a query, the same hits.
    """
    pinned = m is not None
    if m is None:
        m = round(BITS / math.log2(max(n, 2)))
    m = min(MAX_CHUNKS, max(MIN_CHUNKS, m))
    q, s = divmod(BITS, m)
    widths = tuple(q + 1 if i < s else q for i in range(m))
    low_max = min(LOW_BITS_MAX, 32 - max(1, (n - 1).bit_length()))
    want = max(0, max(1, n - 1).bit_length() - BUCKET_BITS)
    plan = _with_tops(widths, low_max, want)
    if pinned or n < WIDE_FROM:
        return plan
    wide = PLAN_RADIUS % m + 1  # chunks 0..wide-1 are probed at the larger radius
    options = [plan]
    for ww in range(q + 1, 33):
        rest, left = divmod(BITS - wide * ww, m - wide) if m > wide else (0, 0)
        if m <= wide or rest < 1:
            break
        ws = (ww,) * wide + tuple(rest + 1 if i < left else rest for i in range(m - wide))
        if max(ws) <= 32:
            cand = _with_tops(ws, low_max, want)
            if max(cand.tbits) <= 26:
                options.append(cand)
    return min(options, key=lambda p: probe_cost(p, n, PLAN_RADIUS))


def _with_tops(widths: tuple[int, ...], low_max: int, want: int) -> ChunkPlan:
    return ChunkPlan(widths, tuple(min(w, max(w - low_max, want)) for w in widths))


def plan_from(widths: list[int], tbits: list[int]) -> ChunkPlan | None:
    """Rebuild a stored plan; None when it is not one this code could have made."""
    m = len(widths)
    if not (MIN_CHUNKS <= m <= MAX_CHUNKS) or len(tbits) != m or sum(widths) != BITS:
        return None
    for w, t in zip(widths, tbits, strict=True):
        if not (1 <= w <= 32 and 0 <= t <= w and w - t <= LOW_BITS_MAX and t <= 26):
            return None
    return ChunkPlan(tuple(widths), tuple(tbits))


def probe_radii(radius: int, m: int) -> npt.NDArray[np.int64]:
    """Per-chunk probe radius from the generalised pigeonhole bound.

    With ``radius = q*m + s`` (0 <= s < m), a row within ``radius`` has a chunk among the
    first s+1 within q, or a chunk among the other m-s-1 within q-1: otherwise its distance
    would be at least (s+1)(q+1) + (m-s-1)q = radius + 1.
    """
    q, s = divmod(radius, m)
    return np.array([q if i <= s else q - 1 for i in range(m)], dtype=np.int64)


def probe_cost(plan: ChunkPlan, n: int, radius: int) -> float:
    """Expected nanoseconds to probe a segment of ``n`` uniformly random rows for one query."""
    return sum(chunk_costs(plan, n, radius))


def chunk_costs(plan: ChunkPlan, n: int, radius: int) -> list[float]:
    """Expected nanoseconds per chunk to probe ``n`` uniformly random rows for one query."""
    rho = probe_radii(radius, plan.m).tolist()
    out = []
    for w, t, r in zip(plan.widths, plan.tbits, rho, strict=True):
        total = 0.0
        per_bucket = n / (1 << t)
        for k in range(min(r, t) + 1):
            buckets = math.comb(t, k)
            total += COST_BUCKET * buckets
            if r - k > 0:
                total += COST_SCANNED * buckets * per_bucket
        cands = sum(math.comb(w, k) for k in range(min(r, w) + 1)) * n / (1 << w)
        total += COST_CANDIDATE * cands
        out.append(total)
    return out


def split_chunks(plan: ChunkPlan, n: int, radius: int, parts: int) -> npt.NDArray[np.int64]:
    """Part of each chunk when one query's probe is shared by ``parts`` threads: the
    costliest chunk first, each to the part with the least work so far."""
    costs = chunk_costs(plan, n, radius)
    load = [0.0] * parts
    out = np.zeros(plan.m, dtype=np.int64)
    for i in sorted(range(plan.m), key=lambda i: (-costs[i], i)):
        p = min(range(parts), key=lambda p: (load[p], p))
        out[i] = p
        load[p] += costs[i]
    return out


def scan_cost(n: int) -> float:
    return COST_ROW * n
