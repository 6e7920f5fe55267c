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

AHEAD = 20  # how many loads ahead the probe prefetches
LONG_BUCKET = 64  # entries from which a bucket is binary-searched rather than filtered


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


def _prefetch_typer(typingctx: Any, arr: Any, idx: Any) -> Any:
    """Hint that element ``idx`` (flat index) of ``arr`` will be read soon."""
    if not isinstance(arr, _types.Array) or not isinstance(idx, _types.Integer):
        return None
    sig = _types.void(arr, idx)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        i = context.cast(builder, args[1], signature.args[1], _types.intp)
        ptr = builder.bitcast(builder.gep(ary.data, [i]), ir.IntType(8).as_pointer())
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [ptr.type, i32, i32, i32])
        fn = _cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read, keep in all cache levels, data cache
        builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


_prefetch: Any = _intrinsic(_prefetch_typer)


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
    h: Any, starts: Any, widths: Any, tbits: Any, off_base: Any, row_bits: Any, offsets: Any,
    entries: Any,
) -> None:  # fmt: skip
    """Fill ``offsets`` and ``entries`` for every chunk (one chunk per thread).

    Chunk ``i`` of row ``r`` has key ``k``: its top ``tbits[i]`` bits select a bucket through
    the dense ``offsets`` array; the bucket's entries are ``(low bits << row_bits) | r``,
    sorted, so the low bits filter rows without touching their hashes.
    """
    n = h.shape[0]
    m = starts.shape[0]
    for i in numba.prange(m):
        w = widths[i]
        t = tbits[i]
        lbits = w - t
        lmask = (1 << lbits) - 1
        # 32-bit scratch (a key has at most 32 bits, a row fewer than MAX_ROWS): at 100M rows
        # each thread's two scratch arrays take 800 MB rather than 1.6 GB.
        keys = np.empty(n, dtype=np.uint32)
        for r in range(n):
            keys[r] = _chunk_key(h, r, starts[i], w)
        # LSD counting sort: by low bits, then (stably) by top bits.
        cnt = np.zeros((1 << lbits) + 1, dtype=np.int64)
        for r in range(n):
            cnt[(keys[r] & lmask) + 1] += 1
        for j in range(1 << lbits):
            cnt[j + 1] += cnt[j]
        tmp = np.empty(n, dtype=np.int32)
        for r in range(n):
            b = keys[r] & lmask
            tmp[cnt[b]] = r
            cnt[b] += 1
        base = off_base[i]
        nb = 1 << t
        fill = np.zeros(nb + 1, dtype=np.int64)
        for r in range(n):
            fill[(keys[r] >> lbits) + 1] += 1
        for j in range(nb):
            fill[j + 1] += fill[j]
        for j in range(nb + 1):
            offsets[base + j] = fill[j]
        for x in range(n):
            row = np.int64(tmp[x])
            b = keys[row] >> lbits
            p = fill[b]
            fill[b] = p + 1
            entries[i, p] = ((keys[row] & lmask) << row_bits) | row


@_jit(parallel=True)
def check_tables(n: Any, tbits: Any, off_base: Any, row_bits: Any, offsets: Any,
                 entries: Any) -> Any:  # fmt: skip
    """True when the tables cannot send a probe out of bounds (a damaged snapshot)."""
    m = tbits.shape[0]
    rmask = (1 << row_bits) - 1
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
            if (np.int64(entries[i, p]) & rmask) >= n:
                ok[i] = False
                break
    return ok.all()


# ---------------------------------------------------------------------------------------------
# Multi-index probing


@_jit()
def _verify(
    qs: Any, qi: Any, radius: Any, rho: Any, h: Any, dead: Any, masks: Any, rows: Any,
    chunks: Any, nc: Any, out_row: Any, out_dist: Any, pos: Any, cap: Any, cnt: Any,
) -> Any:  # fmt: skip
    """Check ``nc`` candidate rows by full distance; return the new hit count.

    The loads of the candidates' hashes do not depend on each other, so the CPU overlaps
    their cache misses. A row is reported only through the first chunk whose probe can reach
    it, so rows found through several chunks count once without a per-query visited set.
    """
    q0 = qs[qi, 0]
    q1 = qs[qi, 1]
    q2 = qs[qi, 2]
    q3 = qs[qi, 3]
    for c in range(min(nc, AHEAD)):
        _prefetch(h, rows[c] * 4)
    for c in range(nc):
        if c + AHEAD < nc:
            _prefetch(h, rows[c + AHEAD] * 4)
        row = rows[c]
        x0 = h[row, 0] ^ q0
        x1 = h[row, 1] ^ q1
        x2 = h[row, 2] ^ q2
        x3 = h[row, 3] ^ q3
        d = _popcount(x0) + _popcount(x1) + _popcount(x2) + _popcount(x3)
        if d > radius or dead[row]:
            continue
        first = True
        for j in range(chunks[c]):
            if rho[j] < 0:
                continue
            dj = (
                _popcount(x0 & masks[j, 0])
                + _popcount(x1 & masks[j, 1])
                + _popcount(x2 & masks[j, 2])
                + _popcount(x3 & masks[j, 3])
            )
            if dj <= rho[j]:
                first = False
                break
        if first:
            if cnt < cap:
                out_row[pos + cnt] = row
                out_dist[pos + cnt] = d
            cnt += 1
    return cnt


@_jit()
def _n_buckets(t: Any, r: Any) -> Any:
    """How many buckets a probe of radius ``r`` visits among ``2**t``: sum of C(t, k), k <= r."""
    total = 0
    c = 1
    for k in range(min(r, t) + 1):
        total += c
        c = c * (t - k) // (k + 1)
    return total


@_jit()
def flip_masks(t: Any, r: Any) -> Any:
    """Every t-bit mask with at most r bits set, by number of bits then value.

    Also returns ``upto``: ``upto[k]`` masks have at most k bits set.
    """
    kmax = min(r, t)
    upto = np.empty(r + 1, dtype=np.int64)
    total = _n_buckets(t, r)
    out = np.empty(total, dtype=np.int64)
    x = 0
    limit = 1 << t
    for k in range(kmax + 1):
        v = (1 << k) - 1
        while v < limit:
            out[x] = v
            x += 1
            if k == 0:
                break
            # Next integer with the same number of set bits (Gosper's hack).
            c = v & -v
            s = v + c
            v = (((s ^ v) >> 2) // c) | s
        upto[k] = x
    for k in range(kmax + 1, r + 1):
        upto[k] = x
    return out, upto


@_jit()
def _probe_query(
    qs: Any, qi: Any, radius: Any, rho: Any, h: Any, dead: Any, starts: Any, widths: Any,
    tbits: Any, off_base: Any, row_bits: Any, offsets: Any, entries: Any, masks: Any,
    flips: Any, upto: Any, room0: Any, out_row: Any, out_dist: Any, pos: Any, cap: Any,
    part_of: Any, part: Any,
) -> Any:  # fmt: skip
    """All hits of query ``qi`` through the chunks ``i`` with ``part_of[i] == part``: probe
    each such chunk's table within ``rho[i]``, then verify.

    Several threads may each take one part of one query: a row is still reported once,
    through the first chunk (of any part) whose probe can reach it.

    The work runs in passes over every bucket of every chunk (prefetch the bucket bounds;
    read them and prefetch the entries; filter the entries and prefetch the candidates'
    hashes; verify), so that the memory accesses of a pass do not wait on each other.
    """
    m = starts.shape[0]
    n = entries.shape[1]
    flat = entries.reshape(entries.size)
    rmask = (1 << row_bits) - 1
    total = 0
    for i in range(m):
        if rho[i] >= 0 and part_of[i] == part:
            total += upto[rho[i]]
    b_at = np.empty(total, dtype=np.int64)  # bucket bound position in ``offsets``
    b_chunk = np.empty(total, dtype=np.int64)
    b_rem = np.empty(total, dtype=np.int64)  # low-bit budget left
    lks = np.empty(m, dtype=np.int64)
    nb = 0
    for i in range(m):
        r_i = rho[i]
        if r_i < 0 or part_of[i] != part:
            continue
        lbits = widths[i] - tbits[i]
        key = _chunk_key(qs, qi, starts[i], widths[i])
        top = key >> lbits
        lks[i] = key & ((1 << lbits) - 1)
        base = off_base[i]
        limit = 1 << tbits[i]
        for f in range(upto[r_i]):
            v = flips[f]
            if v < limit:
                b_at[nb] = base + (top ^ v)
                b_chunk[nb] = i
                b_rem[nb] = r_i - _popcount(v)
                nb += 1
    b_lo = np.empty(nb, dtype=np.int64)
    b_hi = np.empty(nb, dtype=np.int64)
    span: Any = 0
    widest: Any = 0
    for x in range(min(nb, AHEAD)):
        _prefetch(offsets, b_at[x])
    for x in range(nb):
        if x + AHEAD < nb:
            _prefetch(offsets, b_at[x + AHEAD])
        lo = np.int64(offsets[b_at[x]])
        hi = np.int64(offsets[b_at[x] + 1])
        b_lo[x] = lo
        b_hi[x] = hi
        span += hi - lo
        widest = max(widest, hi - lo)
    # Every candidate is an entry of a visited bucket, so ``span`` bounds their number; when
    # similar hashes crowd the buckets, candidates are verified in batches to bound memory.
    # (The arrays are never reallocated in the loop: that would cost reference counting.)
    room = max(min(span, room0), widest, 1)
    rows = np.empty(room, dtype=np.int64)
    chunks = np.empty(room, dtype=np.int64)
    nc = 0
    cnt = 0
    for x in range(min(nb, AHEAD)):
        _prefetch(entries, b_chunk[x] * n + b_lo[x])
        _prefetch(entries, b_chunk[x] * n + max(b_hi[x] - 1, b_lo[x]))
    for x in range(nb):
        if x + AHEAD < nb:
            # Both ends: a bucket of a few entries often straddles two cache lines.
            _prefetch(entries, b_chunk[x + AHEAD] * n + b_lo[x + AHEAD])
            _prefetch(entries, b_chunk[x + AHEAD] * n + max(b_hi[x + AHEAD] - 1, b_lo[x + AHEAD]))
        i = b_chunk[x]
        lo = b_lo[x]
        hi = b_hi[x]
        rem = b_rem[x]
        lk = lks[i]
        lbits = widths[i] - tbits[i]
        if nc + (hi - lo) > room:
            cnt = _verify(
                qs, qi, radius, rho, h, dead, masks, rows, chunks, nc, out_row, out_dist, pos,
                cap, cnt,
            )  # fmt: skip
            nc = 0
        base = i * n
        if rem >= lbits:
            for e in range(base + lo, base + hi):
                rows[nc] = np.int64(flat[e]) & rmask
                chunks[nc] = i
                nc += 1
        elif rem == 0 and hi - lo > LONG_BUCKET:
            # A crowded bucket: its entries are sorted, find the run whose low bits are ``lk``.
            want = lk << row_bits
            a: Any = base + lo
            z: Any = base + hi
            while a < z:
                mid = (a + z) >> 1
                if np.int64(flat[mid]) < want:
                    a = mid + 1
                else:
                    z = mid
            while a < base + hi:
                ent = np.int64(flat[a])
                if (ent >> row_bits) != lk:
                    break
                rows[nc] = ent & rmask
                chunks[nc] = i
                nc += 1
                a += 1
        else:
            # Branch-free filter: always write, advance only on a match.
            for e in range(base + lo, base + hi):
                ent = np.int64(flat[e])
                rows[nc] = ent & rmask
                chunks[nc] = i
                nc += _popcount((ent >> row_bits) ^ lk) <= rem
    return _verify(
        qs, qi, radius, rho, h, dead, masks, rows, chunks, nc, out_row, out_dist, pos, cap, cnt,
    )  # fmt: skip


@_jit(parallel=True)
def mih_search(
    qs: Any, item_q: Any, item_part: Any, part_of: Any, q_pos: Any, q_cap: Any, radius: Any,
    rho: Any, h: Any, dead: Any, starts: Any, widths: Any, tbits: Any, off_base: Any,
    row_bits: Any, offsets: Any, entries: Any, masks: Any, flips: Any, upto: Any, room0: Any,
    out_row: Any, out_dist: Any, counts: Any,
) -> None:  # fmt: skip
    """Probe many items in parallel: item ``k`` is query ``item_q[k]`` through the chunks of
    part ``item_part[k]`` (see ``part_of``; one part of all chunks for whole queries).

    Item ``k`` writes up to ``q_cap[k]`` hits from ``q_pos[k]`` and stores its exact hit
    count in ``counts[k]``; the caller re-runs items whose count exceeded their room.
    """
    for k in numba.prange(item_q.shape[0]):
        counts[k] = _probe_query(
            qs, item_q[k], radius, rho, h, dead, starts, widths, tbits, off_base, row_bits,
            offsets, entries, masks, flips, upto, room0, out_row, out_dist, q_pos[k], q_cap[k],
            part_of, item_part[k],
        )  # fmt: skip


@_jit()
def mih_serial(
    qs: Any, radius: Any, rho: Any, h: Any, dead: Any, starts: Any, widths: Any, tbits: Any,
    off_base: Any, row_bits: Any, offsets: Any, entries: Any, masks: Any, flips: Any,
    upto: Any, room0: Any, out_q: Any, out_row: Any, out_dist: Any,
) -> Any:  # fmt: skip
    """All queries, one thread: hits packed from 0; returns the count (may exceed the room)."""
    cap = out_row.shape[0]
    total = 0
    part_of = np.zeros(starts.shape[0], dtype=np.int64)
    for qi in range(qs.shape[0]):
        room = max(cap - total, 0)
        c = _probe_query(
            qs, qi, radius, rho, h, dead, starts, widths, tbits, off_base, row_bits, offsets,
            entries, masks, flips, upto, room0, out_row, out_dist, total, room, part_of, 0,
        )  # fmt: skip
        for j in range(min(c, room)):
            out_q[total + j] = qi
        total += c
    return total


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
