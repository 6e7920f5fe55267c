"""Numba kernels: chunk tables, multi-index probes and the brute-force scan.

Hashes are handled as four little-endian uint64 words; bit ``g`` of a hash is bit ``g % 64``
of word ``g // 64``. Kernels are compiled once and cached on disk (``cache=True``) and
release the GIL, so several threads can search one index at the same time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numba.core.cgutils
import numba.extending
import numpy as np
from llvmlite import ir  # type: ignore[import-untyped]

_intrinsic: Any = numba.extending.intrinsic
_cgutils: Any = numba.core.cgutils
_types: Any = numba.types

F = TypeVar("F", bound=Callable[..., Any])


def _jit(parallel: bool = False) -> Callable[[F], F]:
    return cast(
        Callable[[F], F],
        numba.njit(cache=True, nogil=True, parallel=parallel, error_model="numpy"),
    )


def _ctpop_typer(typingctx: Any, x: Any) -> Any:
    """LLVM's popcount, so the scan compiles to POPCNT (or VPOPCNTQ when vectorised)."""
    if not isinstance(x, _types.Integer):
        return None
    sig = _types.uint64(_types.uint64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64)])
        fn = _cgutils.get_or_insert_function(builder.module, fnty, "llvm.ctpop.i64")
        return builder.call(fn, [args[0]])

    return sig, codegen


_ctpop: Any = _intrinsic(_ctpop_typer)


@_jit()
def _popcount(x: Any) -> Any:
    return np.int64(_ctpop(np.uint64(x)))


@_jit()
def _dist(h: Any, row: Any, q0: Any, q1: Any, q2: Any, q3: Any) -> Any:
    return (
        _popcount(h[row, 0] ^ q0)
        + _popcount(h[row, 1] ^ q1)
        + _popcount(h[row, 2] ^ q2)
        + _popcount(h[row, 3] ^ q3)
    )


@_jit()
def _chunk_key(h: Any, row: Any, start: Any, width: Any) -> Any:
    """The ``width`` bits of row ``row`` starting at global bit ``start`` (width <= 32)."""
    word = start >> 6
    off = start & 63
    v = h[row, word] >> np.uint64(off)
    if off + width > 64:
        v |= h[row, word + 1] << np.uint64(64 - off)
    return np.int64(v & np.uint64((1 << width) - 1))


# ---------------------------------------------------------------------------------------------
# Building the per-chunk tables


@_jit(parallel=True)
def build_tables(
    h: Any, starts: Any, widths: Any, tbits: Any, off_base: Any, offsets: Any, low: Any, perm: Any
) -> None:
    """Fill ``offsets``, ``low`` and ``perm`` for every chunk (one chunk per thread).

    Chunk ``i`` of row ``r`` has key ``k``: top ``tbits[i]`` bits select a bucket through the
    dense ``offsets`` array; inside a bucket rows are sorted by the remaining low bits, which
    are kept in ``low[i]`` (at most 8 bits), and ``perm[i]`` gives the row.
    """
    n = h.shape[0]
    m = starts.shape[0]
    for i in numba.prange(m):
        w = widths[i]
        t = tbits[i]
        lbits = w - t
        lmask = (1 << lbits) - 1
        keys = np.empty(n, dtype=np.int64)
        for r in range(n):
            keys[r] = _chunk_key(h, r, starts[i], w)
        # LSD counting sort: by low bits, then (stably) by top bits.
        cnt = np.zeros((1 << lbits) + 1, dtype=np.int64)
        for r in range(n):
            cnt[(keys[r] & lmask) + 1] += 1
        for j in range(1 << lbits):
            cnt[j + 1] += cnt[j]
        tmp = np.empty(n, dtype=np.int64)
        for r in range(n):
            b = keys[r] & lmask
            tmp[cnt[b]] = r
            cnt[b] += 1
        base = off_base[i]
        nb = 1 << t
        for j in range(nb + 1):
            offsets[base + j] = 0
        for r in range(n):
            offsets[base + (keys[r] >> lbits) + 1] += 1
        for j in range(nb):
            offsets[base + j + 1] += offsets[base + j]
        fill = np.empty(nb, dtype=np.int64)
        for j in range(nb):
            fill[j] = offsets[base + j]
        for x in range(n):
            r = tmp[x]
            b = keys[r] >> lbits
            p = fill[b]
            fill[b] = p + 1
            perm[i, p] = r
            low[i, p] = keys[r] & lmask


@_jit(parallel=True)
def check_tables(n: Any, tbits: Any, off_base: Any, offsets: Any, perm: Any) -> Any:
    """True when the tables cannot send a probe out of bounds (a damaged snapshot)."""
    m = tbits.shape[0]
    ok = np.ones(m, dtype=np.bool_)
    for i in numba.prange(m):
        base = off_base[i]
        nb = 1 << tbits[i]
        if offsets[base] != 0 or offsets[base + nb] != n:
            ok[i] = False
            continue
        for j in range(nb):
            if offsets[base + j] > offsets[base + j + 1]:
                ok[i] = False
                break
        for p in range(n):
            if perm[i, p] >= n:
                ok[i] = False
                break
    return ok.all()


# ---------------------------------------------------------------------------------------------
# Multi-index probing


@_jit()
def _emit(
    h: Any, dead: Any, row: Any, qs: Any, qi: Any, radius: Any, i: Any, masks: Any, rho: Any,
    out_row: Any, out_dist: Any, pos: Any, cap: Any, cnt: Any,
) -> Any:  # fmt: skip
    """Verify one candidate found through chunk ``i``; return the new hit count.

    A row is reported only through the first chunk whose probe can reach it, so rows found
    through several chunks are counted once without any per-query visited set.
    """
    q0 = qs[qi, 0]
    q1 = qs[qi, 1]
    q2 = qs[qi, 2]
    q3 = qs[qi, 3]
    d = _dist(h, row, q0, q1, q2, q3)
    if d > radius or dead[row]:
        return cnt
    x0 = h[row, 0] ^ q0
    x1 = h[row, 1] ^ q1
    x2 = h[row, 2] ^ q2
    x3 = h[row, 3] ^ q3
    for j in range(i):
        if rho[j] < 0:
            continue
        dj = (
            _popcount(x0 & masks[j, 0])
            + _popcount(x1 & masks[j, 1])
            + _popcount(x2 & masks[j, 2])
            + _popcount(x3 & masks[j, 3])
        )
        if dj <= rho[j]:
            return cnt
    if cnt < cap:
        out_row[pos + cnt] = row
        out_dist[pos + cnt] = d
    return cnt + 1


@_jit()
def _probe_chunk(
    qs: Any, qi: Any, i: Any, radius: Any, rho: Any, h: Any, dead: Any, starts: Any, widths: Any,
    tbits: Any, off_base: Any, offsets: Any, low: Any, perm: Any, masks: Any,
    out_row: Any, out_dist: Any, pos: Any, cap: Any,
) -> Any:  # fmt: skip
    """Every row whose chunk ``i`` is within ``rho[i]`` of the query's, verified; the count."""
    cnt = 0
    r_i = rho[i]
    if r_i < 0:
        return cnt
    w = widths[i]
    t = tbits[i]
    lbits = w - t
    key = _chunk_key(qs, qi, starts[i], w)
    top = key >> lbits
    lk = key & ((1 << lbits) - 1)
    base = off_base[i]
    limit = 1 << t
    kmax = min(r_i, t)
    for k in range(kmax + 1):
        rem = r_i - k
        v = (1 << k) - 1
        while v < limit:
            b = top ^ v
            lo = np.int64(offsets[base + b])
            hi = np.int64(offsets[base + b + 1])
            if rem >= lbits:
                for e in range(lo, hi):
                    cnt = _emit(
                        h, dead, np.int64(perm[i, e]), qs, qi, radius, i, masks, rho,
                        out_row, out_dist, pos, cap, cnt,
                    )  # fmt: skip
            elif rem == 0:
                # Entries are sorted by their low bits: find the run equal to ``lk``.
                a: Any = lo
                z: Any = hi
                while a < z:
                    mid = (a + z) >> 1
                    if low[i, mid] < lk:
                        a = mid + 1
                    else:
                        z = mid
                e = a
                while e < hi and low[i, e] == lk:
                    cnt = _emit(
                        h, dead, np.int64(perm[i, e]), qs, qi, radius, i, masks, rho,
                        out_row, out_dist, pos, cap, cnt,
                    )  # fmt: skip
                    e += 1
            else:
                for e in range(lo, hi):
                    if _popcount(np.int64(low[i, e]) ^ lk) <= rem:
                        cnt = _emit(
                            h, dead, np.int64(perm[i, e]), qs, qi, radius, i, masks, rho,
                            out_row, out_dist, pos, cap, cnt,
                        )  # fmt: skip
            if k == 0:
                break
            # Next integer with the same number of set bits (Gosper's hack).
            c = v & -v
            r = v + c
            v = (((r ^ v) >> 2) // c) | r
    return cnt


@_jit(parallel=True)
def mih_search(
    qs: Any, items: Any, item_pos: Any, item_cap: Any, radius: Any, rho: Any, h: Any, dead: Any,
    starts: Any, widths: Any, tbits: Any, off_base: Any, offsets: Any, low: Any, perm: Any,
    masks: Any, out_row: Any, out_dist: Any, counts: Any,
) -> None:  # fmt: skip
    """Probe work items ``items[k] = query * m + chunk`` in parallel.

    Item ``k`` writes up to ``item_cap[k]`` hits from ``item_pos[k]`` and stores its exact
    hit count in ``counts[k]``; the caller re-runs items whose count exceeded their room.
    """
    m = starts.shape[0]
    for k in numba.prange(items.shape[0]):
        qi = items[k] // m
        i = items[k] % m
        counts[k] = _probe_chunk(
            qs, qi, i, radius, rho, h, dead, starts, widths, tbits, off_base, offsets, low,
            perm, masks, out_row, out_dist, item_pos[k], item_cap[k],
        )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Brute force


def _scan_blocks(
    qs: Any, h: Any, dead: Any, radius: Any, blocks: Any, block: Any, blk_pos: Any,
    blk_cap: Any, out_q: Any, out_row: Any, out_dist: Any, counts: Any,
) -> None:  # fmt: skip
    """Scan row blocks ``blocks`` against every query; each block is read once per call."""
    n = h.shape[0]
    nq = qs.shape[0]
    for k in numba.prange(blocks.shape[0]):
        lo = blocks[k] * block
        hi = min(n, lo + block)
        d = np.empty(hi - lo, dtype=np.int64)
        pos = blk_pos[k]
        cap = blk_cap[k]
        cnt = 0
        for qi in range(nq):
            q0 = qs[qi, 0]
            q1 = qs[qi, 1]
            q2 = qs[qi, 2]
            q3 = qs[qi, 3]
            # Branch-free distance pass (vectorises), then a sparse pass for the hits.
            for r in range(lo, hi):
                d[r - lo] = (
                    _popcount(h[r, 0] ^ q0)
                    + _popcount(h[r, 1] ^ q1)
                    + _popcount(h[r, 2] ^ q2)
                    + _popcount(h[r, 3] ^ q3)
                )
            for r in range(lo, hi):
                if d[r - lo] <= radius and not dead[r]:
                    if cnt < cap:
                        out_q[pos + cnt] = qi
                        out_row[pos + cnt] = r
                        out_dist[pos + cnt] = d[r - lo]
                    cnt += 1
        counts[k] = cnt


scan_parallel = _jit(parallel=True)(_scan_blocks)
scan_serial = _jit()(_scan_blocks)


@_jit()
def gather(
    counts: Any, pos: Any, cap: Any, src_row: Any, src_dist: Any, dst_row: Any, dst_dist: Any
) -> Any:
    """Pack the ``min(count, cap)`` hits of each item contiguously; return how many."""
    o = 0
    for k in range(counts.shape[0]):
        c = min(counts[k], cap[k])
        for j in range(c):
            dst_row[o] = src_row[pos[k] + j]
            dst_dist[o] = src_dist[pos[k] + j]
            o += 1
    return o


@_jit(parallel=True)
def chunk_keys_all(h: Any, start: Any, width: Any) -> Any:
    n = h.shape[0]
    out = np.empty(n, dtype=np.int64)
    for r in numba.prange(n):
        out[r] = _chunk_key(h, r, start, width)
    return out
