"""Numba kernels for the brute-force path: every row against every query, by blocks."""

from __future__ import annotations

from typing import Any

import numba

from safespace.index._kernels import _dist, _jit


@_jit()
def _scan_rows(
    qs: Any, h: Any, dead: Any, radius: Any, lo: Any, hi: Any, out_q: Any, out_row: Any,
    out_dist: Any, pos: Any, cap: Any, cnt: Any,
) -> Any:  # fmt: skip
    """Rows ``lo:hi`` against every query.

    The caller keeps ``hi - lo`` small enough (``BLOCK_ROWS``) for the rows to stay in cache
    from one query to the next, so memory is streamed once per block of rows whatever the
    number of queries; the scan is then bound by popcount throughput.
    """
    for qi in range(qs.shape[0]):
        q0, q1, q2, q3 = qs[qi, 0], qs[qi, 1], qs[qi, 2], qs[qi, 3]
        for r in range(lo, hi):
            d = _dist(h, r, q0, q1, q2, q3)
            if d <= radius and not dead[r]:
                if cnt < cap:
                    out_q[pos + cnt] = qi
                    out_row[pos + cnt] = r
                    out_dist[pos + cnt] = d
                cnt += 1
    return cnt


@_jit()
def scan_serial(qs: Any, h: Any, dead: Any, radius: Any, block: Any, out_q: Any, out_row: Any,
                out_dist: Any) -> Any:  # fmt: skip
    """Brute force on one thread, hits packed from 0; returns the count (may exceed the room)."""
    n = h.shape[0]
    cap = out_row.shape[0]
    cnt = 0
    for lo in range(0, n, block):
        cnt = _scan_rows(
            qs, h, dead, radius, lo, min(n, lo + block), out_q, out_row, out_dist, 0, cap, cnt
        )
    return cnt


@_jit(parallel=True)
def scan_parallel(
    qs: Any, h: Any, dead: Any, radius: Any, blocks: Any, block: Any, blk_pos: Any,
    blk_cap: Any, out_q: Any, out_row: Any, out_dist: Any, counts: Any,
) -> None:  # fmt: skip
    """Scan row blocks ``blocks`` in parallel; block ``k`` writes from ``blk_pos[k]``."""
    n = h.shape[0]
    for k in numba.prange(blocks.shape[0]):
        lo = blocks[k] * block
        counts[k] = _scan_rows(
            qs, h, dead, radius, lo, min(n, lo + block), out_q, out_row, out_dist, blk_pos[k],
            blk_cap[k], 0,
        )  # fmt: skip
