"""PDQ of one RGB video frame, computed as Meta's vPDQ reference computes it, without the GIL.

The reference (``vpdq`` 0.2.5) turns each sampled frame into single-precision luma
(``0.299f*R + 0.587f*G + 0.114f*B``), blurs it with two passes of a running-sum box filter
along rows and then columns (the Jarosz filter, window ``ceil(side / 128)``), keeps a 64x64
nearest sample, takes its 16x16 low-frequency DCT and thresholds it at its median (Torben's
selection). This module does the same float32 operations in the same order, so the bits equal
the reference's (``pdqhash``, which SafeSpace uses for images, computes the luma in float64 and
so differs from vPDQ by a bit or two on some frames).

Written for numba: the kernel releases the GIL, so frames are hashed on several threads while
the decoder runs, and the column pass runs across a whole row at a time (the same sum per
column, in the same order, but contiguous in memory instead of one column at a time).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba
import numpy as np
import numpy.typing as npt

__all__ = ["MIN_HASHABLE_SIDE", "frame_pdq"]

MIN_HASHABLE_SIDE = 5
"""Frames narrower or lower than this have no PDQ (the reference refuses them too)."""

F = TypeVar("F", bound=Callable[..., Any])


def _jit(func: F) -> F:
    return cast(F, numba.njit(cache=True, nogil=True, error_model="numpy")(func))


def _dct_matrix() -> npt.NDArray[np.float32]:
    """The 16x64 DCT-II rows, rounded to float32 exactly as the reference builds them."""
    scale = float(np.float32(math.sqrt(2.0 / 64.0)))
    step = math.pi / 2.0 / 64.0
    out = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            out[i, j] = np.float32(scale * math.cos(step * float(i + 1) * float(2 * j + 1)))
    return out


_DCT = _dct_matrix()
_ROW_BLOCK = 8


@_jit
def _box_rows(src: Any, dst: Any, window: int) -> None:
    """One running-sum box pass along each row (the reference's ``box1DFloat``, stride 1).

    Eight rows at a time: each row keeps its own sum in the reference's order, and the eight
    independent sums hide the latency of one long chain of additions.
    """
    rows, cols = src.shape
    half = (window + 2) // 2
    sums = np.empty(_ROW_BLOCK, dtype=np.float32)
    for r0 in range(0, rows, _ROW_BLOCK):
        nb = min(_ROW_BLOCK, rows - r0)
        for b in range(nb):
            sums[b] = np.float32(0.0)
        count = 0
        ri = 0
        li = 0
        oi = 0
        for _ in range(half - 1):
            for b in range(nb):
                sums[b] += src[r0 + b, ri]
            count += 1
            ri += 1
        for _ in range(window - half + 1):
            count += 1
            divisor = np.float32(count)
            for b in range(nb):
                sums[b] += src[r0 + b, ri]
                dst[r0 + b, oi] = sums[b] / divisor
            ri += 1
            oi += 1
        divisor = np.float32(count)
        for _ in range(cols - window):
            for b in range(nb):
                sums[b] += src[r0 + b, ri]
                sums[b] -= src[r0 + b, li]
                dst[r0 + b, oi] = sums[b] / divisor
            li += 1
            ri += 1
            oi += 1
        for _ in range(half - 1):
            count -= 1
            divisor = np.float32(count)
            for b in range(nb):
                sums[b] -= src[r0 + b, li]
                dst[r0 + b, oi] = sums[b] / divisor
            li += 1
            oi += 1


@_jit
def _box_cols(src: Any, dst: Any, window: int, sums: Any) -> None:
    """The same pass down every column, all columns side by side (one running sum each)."""
    rows, cols = src.shape
    half = (window + 2) // 2
    for c in range(cols):
        sums[c] = np.float32(0.0)
    count = 0
    ri = 0
    li = 0
    oi = 0
    for _ in range(half - 1):
        for c in range(cols):
            sums[c] += src[ri, c]
        count += 1
        ri += 1
    for _ in range(window - half + 1):
        count += 1
        divisor = np.float32(count)
        for c in range(cols):
            sums[c] += src[ri, c]
            dst[oi, c] = sums[c] / divisor
        ri += 1
        oi += 1
    divisor = np.float32(count)
    for _ in range(rows - window):
        for c in range(cols):
            sums[c] += src[ri, c]
            sums[c] -= src[li, c]
            dst[oi, c] = sums[c] / divisor
        li += 1
        ri += 1
        oi += 1
    for _ in range(half - 1):
        count -= 1
        divisor = np.float32(count)
        for c in range(cols):
            sums[c] -= src[li, c]
            dst[oi, c] = sums[c] / divisor
        li += 1
        oi += 1


@_jit
def _torben(values: Any) -> Any:
    """The median as the reference's Torben selection returns it (an exact float32 value)."""
    n = values.shape[0]
    lo = values[0]
    hi = values[0]
    for i in range(1, n):
        lo = min(lo, values[i])
        hi = max(hi, values[i])
    half = (n + 1) // 2
    while True:
        guess = (lo + hi) / np.float32(2.0)
        less = 0
        greater = 0
        equal = 0
        below = lo
        above = hi
        for i in range(n):
            v = values[i]
            if v < guess:
                less += 1
                if v > below:
                    below = v
            elif v > guess:
                greater += 1
                if v < above:
                    above = v
            else:
                equal += 1
        if less <= half and greater <= half:
            break
        if less > greater:
            hi = below
        else:
            lo = above
    if less >= half:
        return below
    if less + equal >= half:
        return guess
    return above


@_jit
def _frame_pdq_kernel(rgb: Any, dct: Any, bits: Any) -> int:
    """Fill ``bits`` (256 booleans, bit ``16*i + j`` = coefficient (i, j)); return quality."""
    rows, cols = rgb.shape[0], rgb.shape[1]
    r_coeff = np.float32(0.299)
    g_coeff = np.float32(0.587)
    b_coeff = np.float32(0.114)
    luma = np.empty((rows, cols), dtype=np.float32)
    for i in range(rows):
        for j in range(cols):
            luma[i, j] = (
                r_coeff * np.float32(rgb[i, j, 0])
                + g_coeff * np.float32(rgb[i, j, 1])
                + b_coeff * np.float32(rgb[i, j, 2])
            )
    grid = np.empty((64, 64), dtype=np.float32)
    if rows == 64 and cols == 64:
        grid[:, :] = luma
    else:
        along_rows = (cols + 2 * 64 - 1) // (2 * 64)
        along_cols = (rows + 2 * 64 - 1) // (2 * 64)
        other = np.empty((rows, cols), dtype=np.float32)
        sums = np.empty(cols, dtype=np.float32)
        for _ in range(2):
            _box_rows(luma, other, along_rows)
            _box_cols(other, luma, along_cols, sums)
        for oi in range(64):
            ii = int(((oi + 0.5) * rows) / 64)
            for oj in range(64):
                jj = int(((oj + 0.5) * cols) / 64)
                grid[oi, oj] = luma[ii, jj]
    # Quality: the summed, truncated gradients of the 64x64 grid.
    gradient = 0
    hundred = np.float32(100.0)
    scale = np.float32(255.0)
    for i in range(63):
        for j in range(64):
            gradient += abs(int(((grid[i, j] - grid[i + 1, j]) * hundred) / scale))
    for i in range(64):
        for j in range(63):
            gradient += abs(int(((grid[i, j] - grid[i, j + 1]) * hundred) / scale))
    quality = min(gradient // 90, 100)
    # 16x16 DCT: T = D A, then B = T D^T, each sum in index order.
    partial = np.empty((16, 64), dtype=np.float32)
    for i in range(16):
        for j in range(64):
            acc = np.float32(0.0)
            for k in range(64):
                acc += dct[i, k] * grid[k, j]
            partial[i, j] = acc
    block = np.empty(256, dtype=np.float32)
    for i in range(16):
        for j in range(16):
            acc = np.float32(0.0)
            for k in range(64):
                acc += partial[i, k] * dct[j, k]
            block[16 * i + j] = acc
    median = _torben(block)
    for k in range(256):
        bits[k] = block[k] > median
    return quality


def frame_pdq(rgb: npt.NDArray[np.uint8]) -> tuple[str, int]:
    """PDQ hex and quality of an HxWx3 uint8 frame, bit-identical to vPDQ's frame hash.

    Raises ``ValueError`` for frames under :data:`MIN_HASHABLE_SIDE` pixels on a side.
    """
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError("a frame is an HxWx3 uint8 array")
    if min(rgb.shape[0], rgb.shape[1]) < MIN_HASHABLE_SIDE:
        raise ValueError(f"a frame needs at least {MIN_HASHABLE_SIDE} pixels on each side")
    bits = np.empty(256, dtype=np.bool_)
    quality = int(_frame_pdq_kernel(rgb, _DCT, bits))
    # Word i (coefficient row i) holds bit j at 1 << j; the hex lists words 15 down to 0.
    packed = np.packbits(bits.reshape(16, 16)[::-1, ::-1], axis=1)
    return bytes(packed).hex(), quality
